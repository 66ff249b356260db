#include "token_codec.hpp"

#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace tpp::emulator {

std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    auto v = (static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16) |
             (static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
             static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 2]));
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    unsigned v = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string make_wrapped_token() {
  std::array<unsigned char, 128> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  std::string flat =
      base64_encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
  std::string wrapped;
  for (std::size_t pos = 0; pos < flat.size(); pos += 64) {
    wrapped += flat.substr(pos, 64);
    wrapped += '\n';
  }
  return wrapped;
}

std::string strip_whitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') out += c;
  }
  return out;
}

}  // namespace tpp::emulator
