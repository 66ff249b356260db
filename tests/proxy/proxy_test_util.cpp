#include "proxy_test_util.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "proxy/framing.hpp"

namespace tpp::proxy::test {

namespace http = boost::beast::http;

run_result run_requests(std::string_view raw, std::size_t step, bool tpp_checks) {
  run_result r;
  std::string pending;
  std::size_t fed = 0;
  auto feed = [&]() -> bool {
    if (fed == raw.size()) return false;
    const auto n = step == 0 ? raw.size() - fed : std::min(step, raw.size() - fed);
    pending.append(raw.substr(fed, n));
    fed += n;
    return true;
  };
  auto reject = [&](const framing_verdict& v, bool in_body) {
    r.status = v.status;
    r.reason = std::string(v.reason);
    r.in_body = in_body;
    return r;
  };
  const framing_verdict truncated = framing_verdict::reject(400, "truncated");

  feed();
  for (;;) {
    request_parser p;
    configure_request_parser(p, max_header, max_body);
    head_guard guard(max_header);
    // The head.
    for (;;) {
      if (tpp_checks) {
        const auto s = guard.put(p, pending);
        pending.erase(0, s.used);
        if (!s.verdict.ok) return reject(s.verdict, false);
        if (s.done) break;
      } else if (!pending.empty()) {
        boost::system::error_code ec;
        const auto used = p.put(boost::asio::buffer(pending), ec);
        pending.erase(0, used);
        if (ec && ec != http::error::need_more) return reject(classify_parse_error(ec), false);
        if (p.is_header_done()) break;
      }
      if (!feed()) return reject(truncated, false);
    }
    // The body, through a fixed buffer as buffer_body streams it.
    std::array<char, 16> buf;
    while (!p.is_done()) {
      p.get().body().data = buf.data();
      p.get().body().size = buf.size();
      if (pending.empty() && !feed()) return reject(truncated, true);
      boost::system::error_code ec;
      const auto used = p.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == http::error::need_buffer) continue;
      if (ec == http::error::need_more) {
        if (!feed()) return reject(truncated, true);
        continue;
      }
      if (ec) return reject(classify_parse_error(ec), true);
    }
    ++r.messages;
    if (pending.empty() && !feed()) return r;
  }
}

}  // namespace tpp::proxy::test
