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

// A certificate and its key, as PEM files.
struct cert_pair {
  std::string cert;
  std::string key;
};

// More of the same PKI for tpp's own TLS listener (server_tls): client
// certificates for mTLS, an expired server certificate, a second server
// certificate for rotation.
struct listener_certs {
  cert_pair client;        // signed by ca_cert, CN=alice,O=tpp tests, clientAuth
  cert_pair other_client;  // signed by other_ca_cert, CN=mallory
  cert_pair expired;       // server certificate signed by ca_cert, expired yesterday
  cert_pair rotated;       // a second server certificate signed by ca_cert, CN=rotated
};

// Writes the files into `dir` (which must exist). Throws std::runtime_error
// with openssl's stderr when a step fails. Takes well under a second (EC keys).
test_ca make_test_ca(const std::string& dir);
// Needs the files make_test_ca(dir) wrote.
listener_certs make_listener_certs(const std::string& dir);

}  // namespace tpp::test
