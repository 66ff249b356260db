// W3C Trace Context `traceparent` parsing/formatting and id generation.
#include <algorithm>
#include <cstring>
#include <random>

#include "telemetry/otlp/exporter.hpp"

namespace tpp::telemetry::otlp {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Lower-case hex only: the W3C spec makes upper case invalid.
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <std::size_t N>
bool parse_hex(std::string_view s, std::array<std::uint8_t, N>& out) {
  if (s.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = hex_value(s[2 * i]);
    int lo = hex_value(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& a) {
  for (auto b : a)
    if (b != 0) return false;
  return true;
}

template <std::size_t N>
void append_hex(std::string& out, const std::array<std::uint8_t, N>& a) {
  for (auto b : a) {
    out.push_back(hex_digits[b >> 4]);
    out.push_back(hex_digits[b & 0xf]);
  }
}

// xoshiro256** seeded from std::random_device once per thread.
class id_rng {
 public:
  id_rng() {
    std::random_device rd;
    for (auto& w : s_) w = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 0x9e3779b97f4a7c15ULL;
  }
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

id_rng& rng() {
  thread_local id_rng r;
  return r;
}

template <std::size_t N>
std::array<std::uint8_t, N> random_id() {
  std::array<std::uint8_t, N> id{};
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t v = rng().next();
      std::memcpy(id.data() + i, &v, std::min<std::size_t>(8, N - i));
    }
  } while (all_zero(id));
  return id;
}

}  // namespace

bool trace_context::valid() const {
  return !all_zero(trace_id) && !all_zero(span_id);
}

std::optional<trace_context> parse_traceparent(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  // version(2) - trace-id(32) - parent-id(16) - flags(2) = 55 characters.
  constexpr std::size_t base_len = 55;
  if (v.size() < base_len) return std::nullopt;
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
  std::array<std::uint8_t, 1> version{};
  if (!parse_hex(v.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0 && v.size() != base_len) return std::nullopt;
  // A future version may append fields, always after a '-'.
  if (v.size() > base_len && v[base_len] != '-') return std::nullopt;
  trace_context ctx;
  std::array<std::uint8_t, 1> flags{};
  if (!parse_hex(v.substr(3, 32), ctx.trace_id) || !parse_hex(v.substr(36, 16), ctx.span_id) ||
      !parse_hex(v.substr(53, 2), flags))
    return std::nullopt;
  if (!ctx.valid()) return std::nullopt;
  ctx.sampled = (flags[0] & 0x01) != 0;
  return ctx;
}

std::string format_traceparent(const std::array<std::uint8_t, 16>& trace_id,
                               const std::array<std::uint8_t, 8>& span_id, bool sampled) {
  std::string out;
  out.reserve(55);
  out += "00-";
  append_hex(out, trace_id);
  out.push_back('-');
  append_hex(out, span_id);
  out += sampled ? "-01" : "-00";
  return out;
}

std::array<std::uint8_t, 16> new_trace_id() {
  return random_id<16>();
}
std::array<std::uint8_t, 8> new_span_id() {
  return random_id<8>();
}

}  // namespace tpp::telemetry::otlp
