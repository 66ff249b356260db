#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"

namespace tpp::test {

// A ddb-emulator process for one test: started on a free 127.0.0.1 port with
// the given extra flags (never --listen/--port-file: the fixture owns those),
// ready (listening) when the constructor returns, killed by the destructor.
// The control helpers throw http_error when the emulator does not answer 200.
class emulator {
 public:
  // `ca_file`: when the flags include --tls-cert/--tls-key, the CA that signed
  // the certificate, so the fixture's own control requests can use HTTPS.
  explicit emulator(std::vector<std::string> extra_flags = {}, std::string ca_file = {});
  ~emulator();
  emulator(const emulator&) = delete;
  emulator& operator=(const emulator&) = delete;

  std::uint16_t port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  std::string address() const { return host() + ":" + std::to_string(port_); }
  // A new client to this emulator (HTTPS when a CA was given).
  http_client client() const;

  nlohmann::json stats();
  nlohmann::json requests();
  // The last request recorded that is not one of tpp's own logins (the pool
  // keeps filling after ready, so a login may be recorded after it); an
  // empty object when there is none.
  nlohmann::json last_forwarded();
  // Clears counters and records; with_config also restores the start-up
  // switches and clears pending login faults.
  void reset(bool with_config = false);
  void configure(const nlohmann::json& switches);
  void revoke_all();
  bool revoke(const std::string& token);
  std::vector<std::string> tokens();
  // Logs in and returns the token exactly as sent (wrapped, with "\n"s);
  // throws http_error when the login is refused.
  std::string login(const std::string& user = "admin", const std::string& password = "123456");

  bool running();
  // SIGTERM, then waits for the exit (SIGKILL after 5 s); returns the exit code.
  int stop();
  // SIGKILL, like a crash.
  void kill();
  // A node restart: stop, then start again on the same port. Every token is
  // gone, and run-time config changes are lost (the flags stay).
  void restart();
  child_process& process() { return *proc_; }

 private:
  void start();
  nlohmann::json control(const std::string& method, const std::string& name,
                         const nlohmann::json& body = nlohmann::json::object());

  std::vector<std::string> flags_;
  std::string ca_file_;
  temp_dir dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<child_process> proc_;
};

}  // namespace tpp::test
