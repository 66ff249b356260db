#include "support/test_ca.hpp"

#include <fstream>
#include <random>
#include <stdexcept>

#include "support/child_process.hpp"

namespace tpp::test {

namespace {

void openssl(std::vector<std::string> args) {
  child_process p("/usr/bin/openssl", std::move(args));
  auto code = p.wait_exit(std::chrono::seconds(30));
  if (code != 0) throw std::runtime_error("openssl failed: " + p.stderr_text());
}

// Our own config, so the result does not depend on the system's openssl.cnf.
constexpr const char* config = R"(
[req]
distinguished_name = dn
prompt = no
[dn]
CN = tpp-test
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,IP:::1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

// A key and certificate named `name` in `dir`, signed by the CA `ca`
// (ca.crt/ca.key there), valid for `days` (-1: expired yesterday).
cert_pair issue(const std::string& dir, const std::string& ca, const std::string& name,
                const std::string& subject, const std::string& extensions, int days) {
  const std::string cnf = dir + "/openssl.cnf";
  cert_pair p{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
  openssl({"req", "-new", "-config", cnf, "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", p.key, "-out",
           dir + "/" + name + ".csr", "-subj", subject});
  std::random_device rd;
  openssl({"x509", "-req", "-in", dir + "/" + name + ".csr", "-CA", dir + "/" + ca + ".crt",
           "-CAkey", dir + "/" + ca + ".key", "-set_serial", std::to_string(rd() | 1u), "-out",
           p.cert, "-days", std::to_string(days), "-extfile", cnf, "-extensions", extensions});
  return p;
}

void make_ca(const std::string& cnf, const std::string& key, const std::string& cert,
             const std::string& cn) {
  openssl({"req", "-x509", "-config", cnf, "-extensions", "v3_ca", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
           "-subj", "/CN=" + cn});
}

}  // namespace

test_ca make_test_ca(const std::string& dir) {
  const std::string cnf = dir + "/openssl.cnf";
  std::ofstream(cnf) << config;
  test_ca ca{dir + "/ca.crt", dir + "/server.crt", dir + "/server.key", dir + "/other-ca.crt"};
  make_ca(cnf, dir + "/ca.key", ca.ca_cert, "tpp test CA");
  make_ca(cnf, dir + "/other-ca.key", ca.other_ca_cert, "tpp unrelated test CA");
  openssl({"req", "-new", "-config", cnf, "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca.server_key, "-out",
           dir + "/server.csr", "-subj", "/CN=localhost"});
  std::random_device rd;
  openssl({"x509", "-req", "-in", dir + "/server.csr", "-CA", ca.ca_cert, "-CAkey", dir + "/ca.key",
           "-set_serial", std::to_string(rd() | 1u), "-out", ca.server_cert, "-days", "2",
           "-extfile", cnf, "-extensions", "v3_server"});
  return ca;
}

listener_certs make_listener_certs(const std::string& dir) {
  listener_certs out;
  out.client = issue(dir, "ca", "client", "/O=tpp tests/CN=alice", "v3_client", 2);
  out.other_client = issue(dir, "other-ca", "other-client", "/CN=mallory", "v3_client", 2);
  out.expired = issue(dir, "ca", "expired", "/CN=localhost", "v3_server", -1);
  out.rotated = issue(dir, "ca", "rotated", "/CN=rotated", "v3_server", 2);
  return out;
}

}  // namespace tpp::test
