// Table-driven tests of the framing rules (Seastar / h2o style): each case is
// raw request bytes and the expected outcome, sent through the real session
// (tests/proxy/harness), once with all bytes at hand and once trickled a byte
// at a time: the answer the client gets, and how many requests reached the
// DolphinDB stand-in. Each case also says WHO rejects it: Beast 1.81 by
// itself (`beast`, `beast_body`) or tpp's own checks (`tpp`); the test proves
// the attribution by running Beast's parser alone (beast_alone.hpp).

#include "proxy/framing.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "beast_alone.hpp"
#include "session_harness.hpp"

namespace tpp::proxy {
namespace {

using namespace std::string_literals;
using test::beast_alone;

// What the session made of `raw`: the first answer that was not DolphinDB's
// 200 (0 if none), and how many requests reached the stand-in.
struct outcome {
  unsigned status = 0;
  std::string reason;
  int messages = 0;
};

outcome through_session(std::string_view raw, std::size_t step) {
  static test::session_harness h(1, [](config::config& c) {
    c.max_header_bytes = test::max_header;
    c.max_body_bytes = test::max_body;
  });
  const auto r = h.run(raw, step);
  outcome o;
  o.messages = static_cast<int>(r.upstream_received.size());
  std::vector<bool> heads;
  for (const auto& req : r.upstream_received) heads.push_back(req.method() == http::verb::head);
  for (const auto& resp : test::parse_responses(r.client_received, heads).responses) {
    if (resp.status == 200 || resp.status == 100) continue;
    o.status = resp.status;
    o.reason = resp.message.body();
    break;
  }
  return o;
}

enum class by {
  none,        // accepted
  beast,       // Beast rejects the head by itself
  beast_body,  // Beast accepts the head, rejects the body
  tpp,         // only tpp's checks reject it
};

struct request_case {
  const char* name;
  std::string raw;
  unsigned status;  // 0 = every message accepted
  by who;
  int messages = 1;  // complete messages before the end (or the rejection)
};

std::string big_header(std::size_t value_size) {
  return "GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + std::string(value_size, 'v') + "\r\n\r\n";
}

const std::vector<request_case>& cases() {
  static const std::vector<request_case> table = {
      // ---- accepted ----
      {"get_minimal", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, by::none},
      {"get_query", "GET /api/x?a=1&b=%20c HTTP/1.1\r\nHost: ddb:8848\r\n\r\n", 0, by::none},
      {"post_content_length", "POST /execute HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
       0, by::none},
      {"post_content_length_zero", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 0,
       by::none},
      {"content_length_leading_zeros",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello", 0, by::none},
      {"chunked",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 0,
       by::none},
      {"chunked_extensions_and_trailers",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5;name=value\r\nhello\r\n3;flag\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n",
       0, by::none},
      {"chunked_mixed_case",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n0\r\n\r\n", 0, by::none},
      {"chunked_with_ows",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \t chunked \t\r\n\r\n0\r\n\r\n", 0,
       by::none},
      {"http10_without_host", "GET / HTTP/1.0\r\n\r\n", 0, by::none},
      {"http10_content_length", "POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nok", 0, by::none},
      {"absolute_form", "GET http://ddb:8848/api?x=1 HTTP/1.1\r\nHost: other\r\n\r\n", 0, by::none},
      {"absolute_form_https_no_path", "GET HTTPS://ddb HTTP/1.1\r\nHost: ddb\r\n\r\n", 0, by::none},
      {"absolute_form_query_only", "GET http://ddb?x HTTP/1.1\r\nHost: ddb\r\n\r\n", 0, by::none},
      {"options_asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0, by::none},
      {"origin_form_double_slash", "GET //x/y HTTP/1.1\r\nHost: a\r\n\r\n", 0, by::none},
      {"unknown_method", "PURGE /cache HTTP/1.1\r\nHost: a\r\n\r\n", 0, by::none},
      {"empty_host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 0, by::none},
      {"ipv6_host", "GET / HTTP/1.1\r\nHost: [::1]:8848\r\n\r\n", 0, by::none},
      {"obs_text_value", "GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n", 0, by::none},
      {"tab_inside_value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\tb\r\n\r\n", 0, by::none},
      {"repeated_ordinary_header", "GET / HTTP/1.1\r\nHost: a\r\nAccept: a\r\nAccept: b\r\n\r\n", 0,
       by::none},
      {"long_but_allowed_headers", big_header(test::max_header - 64), 0, by::none},
      {"body_at_limit",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 64\r\n\r\n" + std::string(64, 'b'), 0,
       by::none},
      {"pipelined_three",
       "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
       "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
       "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
       0, by::none, 3},

      // ---- Content-Length / Transfer-Encoding ----
      {"cl_then_te",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
       by::beast, 0},
      {"te_then_cl",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
       by::beast, 0},
      {"te_gzip_then_cl",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello",
       400, by::tpp, 0},
      {"two_content_lengths_same",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400,
       by::tpp, 0},
      {"two_content_lengths_differ",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400,
       by::beast, 0},
      {"content_length_list_same", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\nx",
       400, by::tpp, 0},
      {"content_length_list_differ", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,2\r\n\r\nx",
       400, by::beast, 0},
      {"content_length_plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 400,
       by::beast, 0},
      {"content_length_minus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", 400,
       by::beast, 0},
      {"content_length_two_numbers", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  5 5\r\n\r\n",
       400, by::beast, 0},
      {"content_length_hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400,
       by::beast, 0},
      {"content_length_empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400,
       by::beast, 0},
      {"content_length_overflow",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400,
       by::beast, 0},
      {"te_gzip_chunked",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
       by::tpp, 0},
      {"te_chunked_chunked",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400,
       by::tpp, 0},
      {"te_chunked_gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
       400, by::tpp, 0},
      {"te_identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501,
       by::tpp, 0},
      {"te_xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 501,
       by::tpp, 0},
      {"te_chunked_with_param",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n0\r\n\r\n", 400,
       by::tpp, 0},
      {"te_leading_comma",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n0\r\n\r\n", 400, by::tpp,
       0},
      {"te_empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400, by::tpp, 0},
      {"te_two_fields",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       400, by::tpp, 0},
      {"te_two_chunked_fields",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
       "chunked\r\n\r\n",
       400, by::beast, 0},
      {"te_vertical_tab",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0b"
       "chunked\r\n\r\n",
       400, by::beast, 0},
      {"te_in_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
       by::tpp, 0},
      {"te_smuggled_second_request",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"
       "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n",
       501, by::tpp, 0},

      // ---- header names and values ----
      {"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, by::beast, 0},
      {"tab_before_colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, by::beast, 0},
      {"name_with_at", "GET / HTTP/1.1\r\nHost: a\r\nX@Y: 1\r\n\r\n", 400, by::beast, 0},
      {"name_with_paren", "GET / HTTP/1.1\r\nHost: a\r\nX(Y): 1\r\n\r\n", 400, by::beast, 0},
      {"name_with_nul", "GET / HTTP/1.1\r\nHost: a\r\nX\0Y: 1\r\n\r\n"s, 400, by::beast, 0},
      {"name_non_ascii", "GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: 1\r\n\r\n", 400, by::beast, 0},
      {"empty_name", "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400, by::beast, 0},
      {"value_with_nul", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n"s, 400, by::beast, 0},
      {"value_with_bare_cr", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n", 400, by::beast, 0},
      {"value_with_bare_lf", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\nX-B: b\r\n\r\n", 400, by::beast,
       0},
      {"value_with_del", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x7f\r\n\r\n", 400, by::beast, 0},
      {"value_with_escape", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x1b[0m\r\n\r\n", 400, by::beast,
       0},
      {"bare_lf_line_endings", "GET / HTTP/1.1\nHost: a\n\n", 400, by::beast, 0},
      {"bare_cr_line_endings", "GET / HTTP/1.1\rHost: a\r\r\n\r\n", 400, by::beast, 0},
      {"lf_cr_terminator", "GET / HTTP/1.1\r\nHost: a\r\n\n\r", 400, by::beast, 0},
      {"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n\r\n", 400, by::tpp, 0},
      {"obs_fold_tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n\tb\r\n\r\n", 400, by::tpp, 0},
      {"obs_fold_transfer_encoding",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400,
       by::tpp, 0},
      {"space_first_header_line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, by::beast, 0},

      // ---- request line ----
      {"garbage_line", "HELLO\r\n\r\n", 400, by::beast, 0},
      {"http09_line", "GET /\r\n\r\n", 400, by::beast, 0},
      {"double_space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::beast, 0},
      {"trailing_space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, by::beast, 0},
      {"leading_crlf", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::beast, 0},
      {"tab_separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::beast, 0},
      {"method_with_paren", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::beast, 0},
      {"method_empty", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::beast, 0},
      {"connect", "CONNECT ddb:443 HTTP/1.1\r\nHost: ddb:443\r\n\r\n", 501, by::tpp, 0},
      {"authority_form_target", "GET ddb:8848 HTTP/1.1\r\nHost: ddb\r\n\r\n", 400, by::tpp, 0},
      {"asterisk_with_get", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::tpp, 0},
      {"relative_target", "GET api/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::tpp, 0},
      {"ftp_absolute_form", "GET ftp://ddb/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::tpp, 0},
      {"absolute_form_userinfo", "GET http://u:p@ddb/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::tpp,
       0},
      {"absolute_form_empty_authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::tpp,
       0},
      {"target_non_ascii", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::tpp, 0},
      {"target_control_char", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::beast, 0},
      {"target_del", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400, by::beast, 0},
      {"version_20", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400, by::beast, 0},
      {"version_12", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400, by::beast, 0},
      {"version_09", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 400, by::beast, 0},
      {"version_lowercase", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, by::beast, 0},
      {"version_two_digits", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, by::beast, 0},

      // ---- Host ----
      {"host_missing_http11", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, by::tpp, 0},
      {"host_repeated", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, by::tpp, 0},
      {"host_repeated_same", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, by::tpp, 0},
      {"host_repeated_http10", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, by::tpp, 0},
      {"host_with_space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, by::tpp, 0},
      {"host_with_slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, by::tpp, 0},
      {"host_with_userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, by::tpp, 0},
      {"host_list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400, by::tpp, 0},

      // ---- limits ----
      {"header_over_limit", big_header(test::max_header), 431, by::beast, 0},
      {"content_length_over_body_limit",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65\r\n\r\n" + std::string(65, 'b'), 413,
       by::beast, 0},
      {"chunked_over_body_limit",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" +
           std::string(64, 'b') + "\r\n1\r\nb\r\n0\r\n\r\n",
       413, by::beast_body, 0},

      // ---- chunked body syntax (Beast, while the body streams) ----
      {"chunk_size_not_hex",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
       400, by::beast_body, 0},
      {"chunk_size_overflow",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
       "chunked\r\n\r\nfffffffffffffffff1\r\nx\r\n0\r\n\r\n",
       400, by::beast_body, 0},
      {"chunk_extension_control",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;\x01\r\nx\r\n0\r\n\r\n",
       400, by::beast_body, 0},
      {"chunk_missing_crlf",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy0\r\n\r\n", 400,
       by::beast_body, 0},

      // ---- pipelining: the first message passes, the second is refused ----
      {"pipelined_then_garbage",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGARBAGE\r\n\r\n", 400, by::beast,
       1},
      {"pipelined_then_smuggled_cl",
       "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
       400, by::tpp, 1},
  };
  return table;
}

class request_table : public ::testing::TestWithParam<request_case> {};

TEST_P(request_table, whole_input) {
  const auto& c = GetParam();
  const auto r = through_session(c.raw, 0);
  EXPECT_EQ(r.status, c.status) << r.reason;
  EXPECT_EQ(r.messages, c.messages);
}

// Trickled, a head with bare LF line ends never shows Beast a line to judge:
// the session waits for more until the client leaves, and answers nothing.
// Either way no more than the expected messages reach DolphinDB.
TEST_P(request_table, byte_at_a_time) {
  const auto& c = GetParam();
  const auto r = through_session(c.raw, 1);
  if (c.status != 0 && r.status == 0) {
    EXPECT_TRUE(c.raw.find("\r\n\r\n") == std::string::npos) << "unanswered, yet complete";
  } else {
    EXPECT_EQ(r.status, c.status) << r.reason;
  }
  EXPECT_EQ(r.messages, c.messages);
}

// Proves who rejects: Beast alone (no tpp checks, Beast's own limits).
TEST_P(request_table, attribution) {
  const auto& c = GetParam();
  const auto alone = beast_alone(c.raw, 0);
  switch (c.who) {
    case by::none:
      EXPECT_EQ(alone.status, 0u) << alone.reason;
      break;
    case by::beast:
      EXPECT_EQ(alone.status, c.status) << "Beast alone should reject this head";
      EXPECT_FALSE(alone.in_body);
      break;
    case by::beast_body:
      EXPECT_EQ(alone.status, c.status) << "Beast alone should reject this body";
      EXPECT_TRUE(alone.in_body);
      break;
    case by::tpp:
      // Beast lets the offending head through (it may trip over what follows).
      EXPECT_TRUE(alone.status == 0 || alone.messages > c.messages)
          << "Beast alone already rejects this: status " << alone.status;
      break;
  }
}

INSTANTIATE_TEST_SUITE_P(cases, request_table, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// ---- limits in detail ----

std::string head_of_size(std::size_t n) {
  const std::string prefix = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
  const std::string suffix = "\r\n\r\n";
  return prefix + std::string(n - prefix.size() - suffix.size(), 'p') + suffix;
}

TEST(header_limit, exactly_the_limit_is_allowed_one_more_is_431) {
  for (std::size_t step : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    EXPECT_EQ(through_session(head_of_size(test::max_header), step).status, 0u) << step;
    EXPECT_EQ(through_session(head_of_size(test::max_header + 1), step).status, 431u) << step;
  }
}

// Beast 1.81 consumes complete fields of a head on the first read and then
// checks header_limit only against the unconsumed rest, so a head that
// arrives in two reads may reach about twice the limit. head_guard counts the
// whole head.
TEST(header_limit, beast_alone_is_inexact_head_guard_is_exact) {
  std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n";
  while (raw.size() < test::max_header * 17 / 10) raw += "X-Field: some value here\r\n";
  raw += "\r\n";
  const auto read = test::max_header - 24;
  EXPECT_EQ(beast_alone(raw, 0).status, 431u);   // all at once: Beast sees it
  EXPECT_EQ(beast_alone(raw, read).status, 0u);  // two reads: Beast does not
  EXPECT_EQ(through_session(raw, read).status, 431u);
  EXPECT_EQ(through_session(raw, 0).status, 431u);
  EXPECT_EQ(through_session(raw, 1).status, 431u);
}

TEST(body_limit, zero_means_unlimited_beyond_beasts_default) {
  request_parser p;
  configure_request_parser(p, 8192, 0);
  head_guard g(8192);
  const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n";
  const auto step = g.put(p, head);
  EXPECT_TRUE(step.verdict.ok) << step.verdict.reason;
  EXPECT_TRUE(step.done);
  EXPECT_EQ(step.used, head.size());
  EXPECT_EQ(p.content_length().value_or(0), 10000000u);
}

TEST(body_limit, default_parser_would_refuse_a_large_body) {
  request_parser p;  // not configured: Beast's 1 MB default
  p.eager(false);
  boost::system::error_code ec;
  const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n";
  p.put(boost::asio::buffer(head), ec);
  EXPECT_EQ(ec, boost::beast::http::error::body_limit);
}

TEST(head_guard, stops_at_the_end_of_the_head) {
  request_parser p;
  configure_request_parser(p, 8192, 0);
  head_guard g(8192);
  const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
  const auto step = g.put(p, head + "hello");
  EXPECT_TRUE(step.done);
  EXPECT_EQ(step.used, head.size());
  EXPECT_EQ(g.seen(), head.size());
  EXPECT_FALSE(p.is_done());
}

TEST(head_guard, empty_input_needs_more) {
  request_parser p;
  head_guard g(8192);
  const auto step = g.put(p, {});
  EXPECT_TRUE(step.verdict.ok);
  EXPECT_FALSE(step.done);
  EXPECT_EQ(step.used, 0u);
}

// ---- classify_parse_error ----

TEST(classify_parse_error, maps_beast_errors) {
  namespace he = boost::beast::http;
  EXPECT_TRUE(classify_parse_error({}).ok);
  EXPECT_EQ(classify_parse_error(he::error::header_limit).status, 431u);
  EXPECT_EQ(classify_parse_error(he::error::body_limit).status, 413u);
  for (auto e : {he::error::bad_method, he::error::bad_target, he::error::bad_version,
                 he::error::bad_field, he::error::bad_value, he::error::bad_content_length,
                 he::error::bad_transfer_encoding, he::error::bad_chunk, he::error::bad_line_ending,
                 he::error::multiple_content_length, he::error::partial_message}) {
    const auto v = classify_parse_error(e);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.status, 400u) << he::make_error_code(e).message();
    EXPECT_FALSE(v.reason.empty());
  }
}

// ---- responses ----

struct response_case {
  const char* name;
  std::string raw;
  unsigned status;  // 0 = accepted, 502 = bad upstream answer
};

class response_table : public ::testing::TestWithParam<response_case> {};

TEST_P(response_table, head) {
  const auto& c = GetParam();
  for (std::size_t step : {std::size_t{0}, std::size_t{1}}) {
    response_parser p;
    configure_response_parser(p);
    head_guard g(default_response_header_limit);
    std::string pending;
    std::size_t fed = 0;
    framing_verdict v;
    bool done = false;
    while (!done && v.ok) {
      const auto n = step == 0 ? c.raw.size() - fed : std::min(step, c.raw.size() - fed);
      pending.append(c.raw, fed, n);
      fed += n;
      const auto s = g.put(p, pending);
      pending.erase(0, s.used);
      v = s.verdict;
      done = s.done;
      if (!done && fed == c.raw.size()) {
        // Upstream stopped mid-head: the session answers 502 as well. (Beast
        // waits for CRLFCRLF, so a trickled bare-LF head never completes.)
        if (v.ok) v = framing_verdict::reject(502, "incomplete head");
        break;
      }
    }
    if (c.status == 0) {
      EXPECT_TRUE(v.ok && done) << v.reason << " step " << step;
    } else {
      EXPECT_EQ(v.status, c.status) << "step " << step;
    }
  }
}

const std::vector<response_case>& response_cases() {
  static const std::vector<response_case> table = {
      {"ok_content_length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0},
      {"ok_chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0},
      {"ok_close_delimited", "HTTP/1.1 200 OK\r\n\r\n", 0},
      {"ok_http10", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0},
      {"ok_equal_content_lengths",
       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", 0},
      {"ok_no_content", "HTTP/1.1 204 No Content\r\n\r\n", 0},
      {"cl_and_te", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
       502},
      {"te_gzip_and_cl", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n",
       502},
      {"different_content_lengths",
       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", 502},
      {"content_length_list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n", 502},
      {"te_gzip_only", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 502},
      {"te_gzip_chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 502},
      {"switching_protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
       502},
      {"garbage", "HTTP/1.1 2OO OK\r\n\r\n", 502},
      {"version_2", "HTTP/2.0 200 OK\r\n\r\n", 502},
      {"obs_fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n", 502},
      {"bare_lf", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", 502},
      {"over_limit",
       "HTTP/1.1 200 OK\r\nX-Big: " + std::string(default_response_header_limit, 'x') + "\r\n\r\n",
       502},
  };
  return table;
}

INSTANTIATE_TEST_SUITE_P(cases, response_table, ::testing::ValuesIn(response_cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace tpp::proxy
