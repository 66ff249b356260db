#pragma once

#include <string>

namespace tpp::test {

// PEM files of a throw-away PKI, made with the openssl CLI.
struct test_ca {
  std::string ca_cert;      // the CA that signed server_cert
  std::string server_cert;  // SAN IP:127.0.0.1, IP:::1, DNS:localhost
  std::string server_key;
  std::string other_ca_cert;  // an unrelated CA, for wrong-CA tests
};

// Writes the files into `dir` (which must exist). Throws std::runtime_error
// with openssl's stderr when a step fails. Takes well under a second (EC keys).
test_ca make_test_ca(const std::string& dir);

}  // namespace tpp::test
