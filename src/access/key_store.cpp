#include "access/key_store.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tpp::access {
namespace {

std::optional<file_stamp> stamp_of(const std::string& path, int& error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error = errno;
    return std::nullopt;
  }
  error = 0;
  return file_stamp{st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

// The parsed file, or the problem ("cannot read ...", "line N: ...").
key_file_result read_keys(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    key_file_result r;
    r.error = std::string("cannot read it: ") + std::strerror(errno != 0 ? errno : EIO);
    return r;
  }
  return parse_key_file(text.str());
}

}  // namespace

bool file_stamp::operator==(const file_stamp& o) const {
  return dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
         mtime.tv_nsec == o.mtime.tv_nsec;
}

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  std::array<std::uint8_t, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return out;
}

key_store::key_store(std::string path) : path_(std::move(path)) {
  int error = 0;
  stamp_ = stamp_of(path_, error);
  auto r = read_keys(path_);
  if (!r.error.empty()) throw std::runtime_error("clients.keys_file " + path_ + ": " + r.error);
  keys_ = std::make_shared<const key_list>(std::move(r.keys));
}

std::shared_ptr<const key_store::key_list> key_store::current() const {
  std::lock_guard lock(mu_);
  return keys_;
}

std::size_t key_store::size() const {
  return current()->size();
}

std::optional<std::string> key_store::identify(std::string_view key) const {
  const auto keys = current();
  const auto presented = sha256(key);
  // Every entry is compared, whatever matched before: no early exit.
  std::size_t match = keys->size();
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const int differs = CRYPTO_memcmp(presented.data(), (*keys)[i].sha256.data(), presented.size());
    match = differs == 0 ? i : match;
  }
  if (match == keys->size()) return std::nullopt;
  return (*keys)[match].name;
}

bool key_store::reload_if_changed() {
  int error = 0;
  const auto stamp = stamp_of(path_, error);
  if (stamp == stamp_) return false;
  stamp_ = stamp;
  if (!stamp) {
    spdlog::error("clients.keys_file {}: {}; keeping the {} keys loaded before", path_,
                  std::strerror(error), size());
    return false;
  }
  auto r = read_keys(path_);
  if (!r.error.empty()) {
    spdlog::error("clients.keys_file {}: {}; keeping the {} keys loaded before", path_, r.error,
                  size());
    return false;
  }
  const auto n = r.keys.size();
  {
    std::lock_guard lock(mu_);
    keys_ = std::make_shared<const key_list>(std::move(r.keys));
  }
  spdlog::info("clients.keys_file {}: reloaded, {} keys", path_, n);
  return true;
}

}  // namespace tpp::access
