#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace tpp::net {

// What identifies a file's content cheaply: a rotation writes a new file
// (new inode), or rewrites it (new size or mtime). {} when it cannot be
// stat()ed.
struct file_stamp {
  unsigned long long dev = 0, ino = 0, size = 0;
  long long mtime_ns = 0;
  bool exists = false;
  bool operator==(const file_stamp&) const = default;
};
file_stamp stamp_of(const std::string& path);

// The stamps of a listener's TLS files (certificate, key, client CAs).
std::vector<file_stamp> stamps_of(const config::listener_tls_config& cfg);

// A TLS listener's context, re-read when its files change. Handshakes take
// current() and keep it for the connection's lifetime, so a reload never
// touches connections already open: only new handshakes get the new pair.
// Thread-safe.
class server_tls {
 public:
  enum class reload_result { unchanged, reloaded, failed };

  // Throws std::runtime_error when the files do not load (config::load
  // checked them already; they may have changed since).
  explicit server_tls(config::listener_tls_config cfg);

  std::shared_ptr<boost::asio::ssl::context> current() const;
  const config::listener_tls_config& settings() const noexcept { return cfg_; }

  // Re-reads the files when their stamps changed since the last attempt.
  // A pair that does not load keeps the old context and is logged (error)
  // once: it is tried again only when the files change again.
  reload_result reload_if_changed();
  // Re-reads the files whatever their stamps (the entry point for a reload
  // on request, e.g. SIGHUP). Same failure rule, logged every time.
  reload_result reload();

 private:
  reload_result try_load(std::vector<file_stamp> stamps);

  config::listener_tls_config cfg_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  std::vector<file_stamp> stamps_;  // of the last attempt, good or not
};

}  // namespace tpp::net
