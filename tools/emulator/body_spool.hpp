#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace tpp::emulator {

// Holds a request body for /__emulator/echo: in memory up to a small limit,
// then in an unlinked temporary file, so a 64 MiB body costs no more memory
// than a small one. Echo answers only after the whole request is read (like a
// real server), which keeps half-duplex clients and proxies from deadlocking.
class body_spool {
 public:
  static constexpr std::size_t memory_limit = 1 << 20;

  // Throws std::runtime_error when the temporary file cannot be written.
  void append(const char* data, std::size_t n);
  std::uint64_t size() const { return size_; }
  // Reads the stored bytes back in order; 0 at the end.
  std::size_t read(char* out, std::size_t cap);

 private:
  struct file_closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::string memory_;
  std::unique_ptr<std::FILE, file_closer> file_;
  std::uint64_t size_ = 0;
  std::uint64_t read_pos_ = 0;
  bool reading_ = false;
};

}  // namespace tpp::emulator
