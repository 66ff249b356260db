#include "beast_alone.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

namespace tpp::proxy::test {

namespace http = boost::beast::http;

namespace {

unsigned status_of(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  return 400;
}

}  // namespace

beast_result beast_alone(std::string_view raw, std::size_t step) {
  beast_result r;
  std::string pending;
  std::size_t fed = 0;
  auto feed = [&]() -> bool {
    if (fed == raw.size()) return false;
    const auto n = step == 0 ? raw.size() - fed : std::min(step, raw.size() - fed);
    pending.append(raw.substr(fed, n));
    fed += n;
    return true;
  };
  auto reject = [&](unsigned status, std::string reason, bool in_body) {
    r.status = status;
    r.reason = std::move(reason);
    r.in_body = in_body;
    return r;
  };
  feed();
  for (;;) {
    http::request_parser<http::buffer_body> p;
    p.header_limit(static_cast<std::uint32_t>(max_header));
    p.body_limit(max_body);
    p.eager(false);
    std::array<char, 16> buf;
    for (;;) {
      if (p.is_header_done()) {
        p.get().body().data = buf.data();
        p.get().body().size = buf.size();
      }
      if (p.is_done()) break;
      if (pending.empty() && !feed()) return reject(400, "truncated", p.is_header_done());
      boost::system::error_code ec;
      const auto used = p.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == http::error::need_buffer) continue;
      if (ec == http::error::need_more) {
        if (!feed()) return reject(400, "truncated", p.is_header_done());
        continue;
      }
      if (ec) return reject(status_of(ec), ec.message(), p.is_header_done());
    }
    ++r.messages;
    if (pending.empty() && !feed()) return r;
  }
}

}  // namespace tpp::proxy::test
