#include "proxy/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>

#include "metrics/registry.hpp"
#include "proxy/proxy_context.hpp"
#include "proxy/request_record.hpp"
#include "proxy/worker.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;

connection::connection(worker& wk, asio::ip::tcp::socket c, std::string ip)
    : w(wk), ctx(wk.ctx()), client(std::move(c)), client_ip(std::move(ip)) {}

void connection::drop_upstream() {
  if (!upstream) return;
  boost::system::error_code ec;
  upstream->tcp().socket().close(ec);
  upstream.reset();
  up_buf.clear();
}

void connection::release_lease() {
  if (!lease) return;
  metrics::registry::global().on_lease_released(seconds_since(lease_since));
  lease.reset();
}

asio::awaitable<void> connection::answer(request_record& rec, http::response<http::string_body> res,
                                         bool head_request) {
  rec.status = res.result_int();
  keep_alive = false;
  armed a(deadline, {io_phase::client_write, ctx.cfg.client_idle_timeout});
  if (head_request) {
    // Content-Length stays: it says what a GET would have got.
    http::response<http::empty_body> head_only(std::move(res.base()));
    co_await http::async_write(client, head_only, asio::as_tuple(asio::use_awaitable));
  } else {
    co_await http::async_write(client, res, asio::as_tuple(asio::use_awaitable));
  }
}

void connection::trim_buffers() {
  if (in_buf.size() == 0 && in_buf.capacity() > 16 * 1024) in_buf.shrink_to_fit();
  if (up_buf.size() == 0 && up_buf.capacity() > 16 * 1024) up_buf.shrink_to_fit();
  if (body_buf.capacity() > 64 * 1024) std::string().swap(body_buf);
}

}  // namespace tpp::proxy
