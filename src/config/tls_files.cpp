#include "config/tls_files.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tpp::config {
namespace {

// Mozilla's "intermediate" configuration (TLS 1.2 part) without the DHE
// suites, which would need a DH parameter file. TLS 1.3 keeps OpenSSL's
// default suites, which are the same list.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Why OpenSSL refused the last call, emptying its error queue.
std::string openssl_reason() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* r = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += r ? r : "error " + std::to_string(e);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// A missing or unreadable file says so in the system's words, not OpenSSL's.
void require_readable(std::string_view what, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    throw std::runtime_error(std::string(what) + " '" + path + "': " + std::strerror(errno));
  }
  std::fclose(f);
}

[[noreturn]] void refuse(std::string_view what, const std::string& path) {
  throw std::runtime_error(std::string(what) + " '" + path + "': " + openssl_reason());
}

// ALPN: http/1.1 when the client offers it (h2 is not spoken here), and no
// ALPN at all otherwise, so that a client offering only h2 still connects
// and finds HTTP/1.1 (or gives up, its choice).
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static const unsigned char ours[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, ours, sizeof ours, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

void require_client_certificates(SSL_CTX* ctx, const std::string& ca_file) {
  require_readable("client_ca_file", ca_file);
  if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
    refuse("client_ca_file", ca_file);
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca_file.c_str());
  if (!names) refuse("client_ca_file has no certificate:", ca_file);
  SSL_CTX_set_client_CA_list(ctx, names);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
}

void set_policy(SSL_CTX* ctx, const listener_tls_config& cfg) {
  const int min = cfg.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, min);
  SSL_CTX_set_cipher_list(ctx, tls12_ciphers);
  // No renegotiation (a client-driven CPU cost); buffers given back while a
  // connection idles, as plain connections do (session.cpp).
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  static const unsigned char sid[] = "tpp";
  SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
}

}  // namespace

ssl_ctx_ptr make_server_ssl_ctx(const listener_tls_config& cfg) {
  ERR_clear_error();
  ssl_ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) throw std::runtime_error("cannot create a TLS context: " + openssl_reason());
  set_policy(ctx.get(), cfg);
  require_readable("cert_file", cfg.cert_file);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cfg.cert_file.c_str()) != 1) {
    refuse("cert_file", cfg.cert_file);
  }
  require_readable("key_file", cfg.key_file);
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), cfg.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL compares the key with the certificate as it loads it.
    const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    refuse(mismatch ? "key_file does not match cert_file:" : "key_file", cfg.key_file);
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    refuse("key_file does not match cert_file:", cfg.key_file);
  }
  if (!cfg.client_ca_file.empty()) require_client_certificates(ctx.get(), cfg.client_ca_file);
  return ctx;
}

}  // namespace tpp::config
