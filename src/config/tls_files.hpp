#pragma once

#include <openssl/ssl.h>

#include <memory>

#include "config/config.hpp"

namespace tpp::config {

struct ssl_ctx_free {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_free>;

// The OpenSSL server context of one listener's TLS settings: certificate
// chain and key (which must match), TLS min_version and later, Mozilla's
// "intermediate" TLS 1.2 ciphers, ALPN http/1.1 only, client certificates
// required and verified against client_ca_file when it is set. The load-time
// check (load.cpp) and the running listener (net/server_tls) both build it
// here, so --check-config refuses exactly what the listener would.
// Throws std::runtime_error saying which file is wrong and why.
ssl_ctx_ptr make_server_ssl_ctx(const listener_tls_config& cfg);

}  // namespace tpp::config
