#include "net/server_tls.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <stdexcept>

#include "config/tls_files.hpp"

namespace tpp::net {

namespace {

std::shared_ptr<boost::asio::ssl::context> build(const config::listener_tls_config& cfg) {
  auto native = config::make_server_ssl_ctx(cfg);
  // Asio's context takes ownership of the handle.
  return std::make_shared<boost::asio::ssl::context>(native.release());
}

}  // namespace

file_stamp stamp_of(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return {};
  file_stamp s;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = static_cast<unsigned long long>(st.st_size);
  s.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.exists = true;
  return s;
}

std::vector<file_stamp> stamps_of(const config::listener_tls_config& cfg) {
  return {stamp_of(cfg.cert_file), stamp_of(cfg.key_file), stamp_of(cfg.client_ca_file)};
}

server_tls::server_tls(config::listener_tls_config cfg) : cfg_(std::move(cfg)) {
  stamps_ = stamps_of(cfg_);
  ctx_ = build(cfg_);
}

std::shared_ptr<boost::asio::ssl::context> server_tls::current() const {
  std::lock_guard lock(mu_);
  return ctx_;
}

server_tls::reload_result server_tls::reload_if_changed() {
  auto now = stamps_of(cfg_);
  {
    std::lock_guard lock(mu_);
    if (now == stamps_) return reload_result::unchanged;
  }
  return try_load(std::move(now));
}

server_tls::reload_result server_tls::reload() {
  return try_load(stamps_of(cfg_));
}

// Building happens outside the lock: handshakes keep taking the old context.
server_tls::reload_result server_tls::try_load(std::vector<file_stamp> stamps) {
  std::shared_ptr<boost::asio::ssl::context> fresh;
  try {
    fresh = build(cfg_);
  } catch (const std::runtime_error& e) {
    spdlog::error("TLS: the new certificate files do not load, still serving the old ones: {}",
                  e.what());
    std::lock_guard lock(mu_);
    stamps_ = std::move(stamps);
    return reload_result::failed;
  }
  {
    std::lock_guard lock(mu_);
    ctx_ = std::move(fresh);
    stamps_ = std::move(stamps);
  }
  spdlog::info("TLS: certificate and key re-read from {} and {}", cfg_.cert_file, cfg_.key_file);
  return reload_result::reloaded;
}

}  // namespace tpp::net
