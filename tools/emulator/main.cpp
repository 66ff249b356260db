// ddb-emulator: plays DolphinDB's REST API for tpp's tests and benchmarks.
// See docs/emulator.md for the flags, paths and control API.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "server.hpp"

namespace {

// "HOST:PORT" or "[V6]:PORT" -> host, port; false when malformed.
bool split_listen(const std::string& s, std::string& host, std::uint16_t& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 == s.size()) return false;
  host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  try {
    std::size_t used = 0;
    unsigned long p = std::stoul(s.substr(colon + 1), &used);
    if (used != s.size() - colon - 1 || p > 65535) return false;
    port = static_cast<std::uint16_t>(p);
  } catch (const std::exception&) {
    return false;
  }
  return !host.empty();
}

// Written via rename so a reader never sees a half-written file.
void write_port_file(const std::string& path, std::uint16_t port) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << '\n';
    if (!out.flush()) throw std::runtime_error("cannot write --port-file " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tpp::emulator;
  CLI::App app{"ddb-emulator: a DolphinDB REST API stand-in for tpp tests and benchmarks"};
  server_options opts;
  switches& sw = opts.initial;
  std::string listen = "127.0.0.1:8848";
  std::string port_file;
  std::string invalid_token = "401";
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any free port)");
  app.add_option("--port-file", port_file, "write the bound port here once listening");
  app.add_option("--user", sw.user, "the accepted user name");
  app.add_option("--password", sw.password, "the accepted password");
  app.add_option("--token-ttl", sw.token_ttl_seconds, "token lifetime in seconds, 0 = forever")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--code-as-number", sw.code_as_number, "send code and session as JSON numbers");
  app.add_option("--invalid-token", invalid_token, "answer to a bad token: 401 | code1 | guest")
      ->check(CLI::IsMember({"401", "code1", "guest"}));
  app.add_option("--login-delay-ms", sw.login_delay_ms, "delay before answering a login");
  app.add_option("--response-delay-ms", sw.response_delay_ms,
                 "delay before answering any other request");
  app.add_option("--max-sessions", sw.max_sessions, "live sessions allowed, 0 = unlimited");
  app.add_option("--idle-timeout-ms", sw.idle_timeout_ms,
                 "close keep-alive connections idle this long, 0 = never");
  app.add_option("--tls-cert", opts.tls_cert, "PEM certificate chain: serve HTTPS only")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", opts.tls_key, "PEM private key for --tls-cert")
      ->check(CLI::ExistingFile);
  app.add_option("--threads", opts.threads, "io threads")->check(CLI::Range(1, 256));
  app.add_flag("--verbose", opts.verbose, "log one line per request to stderr");
  CLI11_PARSE(app, argc, argv);

  sw.invalid_token = *parse_invalid_token_mode(invalid_token);
  if (!split_listen(listen, opts.host, opts.port)) {
    std::cerr << "ddb-emulator: --listen: expected HOST:PORT, got \"" << listen << "\"\n";
    return 2;
  }
  try {
    server srv(opts);
    const bool v6 = opts.host.find(':') != std::string::npos;
    std::cout << "ddb-emulator listening on " << (v6 ? "[" : "") << opts.host << (v6 ? "]" : "")
              << ':' << srv.port() << std::endl;
    // Last: whoever waits for the port file may read our output at once.
    if (!port_file.empty()) write_port_file(port_file, srv.port());
    srv.run();
  } catch (const std::exception& e) {
    std::cerr << "ddb-emulator: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
