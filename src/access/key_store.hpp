#pragma once

#include <sys/types.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/key_file.hpp"

namespace tpp::access {

// What identifies one version of a file without reading it: a rename over
// it changes the inode, an edit in place the size or the modification time.
struct file_stamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  timespec mtime{};
  bool operator==(const file_stamp& o) const;
};

// The client API keys of clients.keys_file, re-read when the file changes
// (reload_if_changed(), called about once a second). Thread-safe: the
// workers call identify() for every request while the control thread
// reloads; a reload swaps in a whole new list, so no request sees half of it.
class key_store {
 public:
  // Reads the file now; throws std::runtime_error naming it when it cannot
  // be read or parsed.
  explicit key_store(std::string path);

  // The name of the key whose SHA-256 equals that of `key`, or nullopt.
  // The presented key's hash is compared with every entry with
  // CRYPTO_memcmp and no early exit, so the time taken does not say which
  // entry (or whether any) matched.
  std::optional<std::string> identify(std::string_view key) const;

  // Re-reads the file if its stamp changed since the last look. A new
  // version that cannot be read or parsed keeps the old keys and logs one
  // error (once per version, not once per poll). True when keys changed.
  bool reload_if_changed();

  std::size_t size() const;
  const std::string& path() const { return path_; }

 private:
  using key_list = std::vector<client_key>;
  std::shared_ptr<const key_list> current() const;

  std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const key_list> keys_;
  std::optional<file_stamp> stamp_;  // of the version last looked at; nullopt: missing
};

// The SHA-256 of `data` (OpenSSL EVP).
std::array<std::uint8_t, 32> sha256(std::string_view data);

}  // namespace tpp::access
