#include "body_spool.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace tpp::emulator {

void body_spool::append(const char* data, std::size_t n) {
  if (n == 0) return;
  if (!file_ && memory_.size() + n > memory_limit) {
    file_.reset(std::tmpfile());
    if (!file_) throw std::runtime_error("echo: cannot create a temporary file");
    if (std::fwrite(memory_.data(), 1, memory_.size(), file_.get()) != memory_.size()) {
      throw std::runtime_error("echo: cannot write the temporary file");
    }
    std::string().swap(memory_);
  }
  if (file_) {
    if (std::fwrite(data, 1, n, file_.get()) != n) {
      throw std::runtime_error("echo: cannot write the temporary file");
    }
  } else {
    memory_.append(data, n);
  }
  size_ += n;
}

std::size_t body_spool::read(char* out, std::size_t cap) {
  if (file_) {
    if (!reading_) {
      std::fflush(file_.get());
      std::rewind(file_.get());
      reading_ = true;
    }
    return std::fread(out, 1, cap, file_.get());
  }
  std::size_t n = std::min<std::uint64_t>(cap, memory_.size() - read_pos_);
  std::memcpy(out, memory_.data() + read_pos_, n);
  read_pos_ += n;
  return n;
}

}  // namespace tpp::emulator
