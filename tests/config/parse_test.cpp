#include "config/parse.hpp"

#include <gtest/gtest.h>

#include "config/error.hpp"
#include "error_of.hpp"

namespace tpp::config {
namespace {

using namespace std::chrono_literals;

using test_support::error_of;

TEST(parse_uint, accepts_decimal_digits) {
  EXPECT_EQ(parse_uint("0", "k"), 0u);
  EXPECT_EQ(parse_uint("200", "k"), 200u);
  EXPECT_EQ(parse_uint("18446744073709551615", "k"), 18446744073709551615u);
}

TEST(parse_uint, rejects_everything_else_naming_the_key) {
  for (const char* bad : {"", "abc", "-1", "+1", "3.5", "1e3", " 1", "1 ", "0x10"}) {
    EXPECT_EQ(error_of([&] { parse_uint(bad, "token.pool_size"); }),
              "token.pool_size: must be a whole number (got \"" + std::string(bad) + "\")")
        << bad;
  }
  EXPECT_EQ(error_of([] { parse_uint("18446744073709551616", "k"); }),
            "k: number is too large (got \"18446744073709551616\")");
}

TEST(parse_port, accepts_1_to_65535) {
  EXPECT_EQ(parse_port("1", "k"), 1);
  EXPECT_EQ(parse_port("8848", "k"), 8848);
  EXPECT_EQ(parse_port("65535", "k"), 65535);
}

TEST(parse_port, rejects_0_65536_and_text) {
  for (const char* bad : {"0", "65536", "99999999999999999999", "abc", "", "-1", "80.5"}) {
    EXPECT_EQ(error_of([&] { parse_port(bad, "upstream.port"); }),
              "upstream.port: must be a port number 1..65535 (got \"" + std::string(bad) + "\")")
        << bad;
  }
}

TEST(parse_bool, accepts_common_spellings_case_insensitively) {
  for (const char* t : {"true", "TRUE", "True", "1", "yes", "YES", "on"})
    EXPECT_TRUE(parse_bool(t, "k")) << t;
  for (const char* f : {"false", "False", "0", "no", "NO", "off"})
    EXPECT_FALSE(parse_bool(f, "k")) << f;
}

TEST(parse_bool, rejects_other_text) {
  EXPECT_EQ(error_of([] { parse_bool("maybe", "TPP_UPSTREAM_TLS"); }),
            "TPP_UPSTREAM_TLS: must be true or false (got \"maybe\")");
  EXPECT_NE(error_of([] { parse_bool("", "k"); }), "");
  EXPECT_NE(error_of([] { parse_bool("2", "k"); }), "");
}

TEST(parse_seconds, stores_decimal_seconds_as_milliseconds) {
  EXPECT_EQ(parse_seconds("0", "k"), 0ms);
  EXPECT_EQ(parse_seconds("5", "k"), 5000ms);
  EXPECT_EQ(parse_seconds("0.25", "k"), 250ms);
  EXPECT_EQ(parse_seconds("1.5", "k"), 1500ms);
  EXPECT_EQ(parse_seconds("0.001", "k"), 1ms);
  EXPECT_EQ(parse_seconds("30.000", "k"), 30000ms);
}

TEST(parse_seconds, rounds_sub_millisecond_fractions_up) {
  EXPECT_EQ(parse_seconds("0.0001", "k"), 1ms);
  EXPECT_EQ(parse_seconds("0.2501", "k"), 251ms);
  EXPECT_EQ(parse_seconds("0.2500000", "k"), 250ms);
}

TEST(parse_seconds, rejects_negative_and_malformed_numbers) {
  for (const char* bad : {"", "-1", "abc", "1.", ".5", "1e3", "1.2.3", "5s", " 5"}) {
    EXPECT_EQ(error_of([&] { parse_seconds(bad, "upstream.connect_timeout_seconds"); }),
              "upstream.connect_timeout_seconds: must be a number of seconds such as 5 or 0.25 "
              "(got \"" +
                  std::string(bad) + "\")")
        << bad;
  }
  EXPECT_NE(error_of([] { parse_seconds("1000000001", "k"); }), "");
}

TEST(parse_address, splits_host_and_port) {
  auto a = parse_address("0.0.0.0:8080", "listen");
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 8080);
  auto b = parse_address("localhost:1", "listen");
  EXPECT_EQ(b.host, "localhost");
  EXPECT_EQ(b.port, 1);
}

TEST(parse_address, removes_ipv6_brackets) {
  auto a = parse_address("[::1]:9090", "listen");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 9090);
  EXPECT_EQ(a.to_string(), "[::1]:9090");
}

TEST(parse_address, rejects_bad_ports_naming_the_key) {
  for (const char* bad : {"0.0.0.0:0", "0.0.0.0:65536", "0.0.0.0:abc", "0.0.0.0:"}) {
    EXPECT_EQ(error_of([&] { parse_address(bad, "listen"); }),
              "listen: port must be 1..65535 (got \"" + std::string(bad) + "\")")
        << bad;
  }
}

TEST(parse_address, rejects_malformed_addresses) {
  for (const char* bad : {"", "0.0.0.0", ":8080", "::1:8080", "[::1]", "[::1]8080", "[::1"}) {
    EXPECT_EQ(error_of([&] { parse_address(bad, "TPP_LISTEN"); }),
              "TPP_LISTEN: must be host:port such as 0.0.0.0:8080 or [::1]:8080 (got \"" +
                  std::string(bad) + "\")")
        << bad;
  }
}

TEST(format_seconds, prints_the_shortest_decimal) {
  EXPECT_EQ(format_seconds(0ms), "0");
  EXPECT_EQ(format_seconds(250ms), "0.25");
  EXPECT_EQ(format_seconds(1500ms), "1.5");
  EXPECT_EQ(format_seconds(60000ms), "60");
  EXPECT_EQ(format_seconds(1ms), "0.001");
}

TEST(quoted, keeps_error_messages_on_one_line) {
  EXPECT_EQ(quote_value("a\nb\"c"), "\"a\\x0ab\\\"c\"");
  std::string longer(200, 'x');
  EXPECT_EQ(quote_value(longer), "\"" + std::string(80, 'x') + "...\"");
}

}  // namespace
}  // namespace tpp::config
