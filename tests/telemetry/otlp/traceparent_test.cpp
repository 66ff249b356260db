#include <gtest/gtest.h>

#include <set>

#include "telemetry/otlp/exporter.hpp"

namespace otlp = tpp::telemetry::otlp;

namespace {

struct parse_case {
  const char* input;
  bool ok;
  const char* trace_hex;  // expected when ok
  const char* span_hex;
  bool sampled;
};

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& a) {
  static constexpr char d[] = "0123456789abcdef";
  std::string s;
  for (auto b : a) {
    s.push_back(d[b >> 4]);
    s.push_back(d[b & 0xf]);
  }
  return s;
}

constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSpan = "00f067aa0ba902b7";

const parse_case cases[] = {
    {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true, kTrace, kSpan, true},
    {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true, kTrace, kSpan, false},
    {"  00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\t", true, kTrace, kSpan, true},
    // Other flag bits are ignored; only bit 0 means sampled.
    {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", true, kTrace, kSpan, true},
    {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02", true, kTrace, kSpan, false},
    // A future version may append fields after a dash.
    {"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever", true, kTrace, kSpan,
     true},
    {"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true, kTrace, kSpan, true},
    // Invalid.
    {"", false, "", "", false},
    {"00", false, "", "", false},
    {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", false, "", "", false},
    {"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", false, "", "", false},
    {"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, "", "", false},
    {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false, "", "", false},
    {"00-00000000000000000000000000000000-00f067aa0ba902b7-01", false, "", "", false},
    {"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false, "", "", false},
    {"00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01", false, "", "", false},
    {"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, "", "", false},
    {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", false, "", "", false},
    {"0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false, "", "", false},
    {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", false, "", "", false},
};

}  // namespace

TEST(Traceparent, ParseTable) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    auto ctx = otlp::parse_traceparent(c.input);
    ASSERT_EQ(ctx.has_value(), c.ok);
    if (!c.ok) continue;
    EXPECT_TRUE(ctx->valid());
    EXPECT_EQ(hex(ctx->trace_id), c.trace_hex);
    EXPECT_EQ(hex(ctx->span_id), c.span_hex);
    EXPECT_EQ(ctx->sampled, c.sampled);
  }
}

TEST(Traceparent, FormatRoundTrips) {
  auto ctx = otlp::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(ctx);
  EXPECT_EQ(otlp::format_traceparent(ctx->trace_id, ctx->span_id, true),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(otlp::format_traceparent(ctx->trace_id, ctx->span_id, false),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  auto t = otlp::new_trace_id();
  auto s = otlp::new_span_id();
  auto back = otlp::parse_traceparent(otlp::format_traceparent(t, s, false));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->trace_id, t);
  EXPECT_EQ(back->span_id, s);
  EXPECT_FALSE(back->sampled);
}

TEST(Traceparent, DefaultContextIsInvalid) {
  EXPECT_FALSE(otlp::trace_context{}.valid());
}

TEST(Traceparent, NewIdsAreNonZeroAndDistinct) {
  std::set<std::array<std::uint8_t, 16>> traces;
  std::set<std::array<std::uint8_t, 8>> spans;
  for (int i = 0; i < 10000; ++i) {
    auto t = otlp::new_trace_id();
    auto s = otlp::new_span_id();
    EXPECT_NE(t, (std::array<std::uint8_t, 16>{}));
    EXPECT_NE(s, (std::array<std::uint8_t, 8>{}));
    traces.insert(t);
    spans.insert(s);
  }
  EXPECT_EQ(traces.size(), 10000u);
  EXPECT_EQ(spans.size(), 10000u);
}
