#pragma once

// What the TLS listeners' tests (listener_tls_test, health_tls_test) share:
// running curl and openssl as clients, and putting a certificate pair in
// place the way a rotation does.

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "support/child_process.hpp"
#include "support/test_ca.hpp"

namespace tpp::test {

struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};

inline run_result run(const std::string& path, std::vector<std::string> args) {
  child_process p(path, std::move(args));
  auto code = p.wait_exit(std::chrono::seconds(30));
  return {code.value_or(-1), p.stdout_text(), p.stderr_text()};
}

// curl with `args`, then the URL; stdout is the body then the status.
inline run_result curl(std::vector<std::string> args, const std::string& url) {
  std::vector<std::string> all{"-sS", "--max-time", "10", "-w", "\n%{http_code}"};
  all.insert(all.end(), args.begin(), args.end());
  all.push_back(url);
  return run("/usr/bin/curl", std::move(all));
}

// Puts `p` at `live` the way a rotation does: new files renamed over the
// old ones, the certificate last.
inline void install_pair(const cert_pair& p, const cert_pair& live) {
  namespace fs = std::filesystem;
  fs::copy_file(p.cert, live.cert + ".new", fs::copy_options::overwrite_existing);
  fs::copy_file(p.key, live.key + ".new", fs::copy_options::overwrite_existing);
  fs::rename(live.key + ".new", live.key);
  fs::rename(live.cert + ".new", live.cert);
}

}  // namespace tpp::test
