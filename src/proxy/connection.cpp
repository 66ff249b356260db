#include "proxy/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>

#include "metrics/registry.hpp"
#include "pool/async_acquire.hpp"
#include "proxy/proxy_context.hpp"
#include "proxy/request_record.hpp"
#include "proxy/worker.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
namespace http = boost::beast::http;

connection::connection(worker& wk, asio::ip::tcp::socket c, std::string ip)
    : w(wk), ctx(wk.ctx()), client(std::move(c)), client_ip(std::move(ip)) {
  refresh_settings();
}

void connection::refresh_settings() {
  // A relaxed-cost check per request; the lock only after a reload.
  const auto version = ctx.settings_version.load(std::memory_order_acquire);
  if (settings && version == settings_version) return;
  ctx.take_settings(settings, upstream_tls);
  settings_version = version;
}

pool::token_pool::home_id connection::home() {
  return pool::home_of(client.get_executor());
}

void connection::drop_upstream() {
  if (!upstream) return;
  boost::system::error_code ec;
  upstream->tcp().socket().close(ec);
  upstream.reset();
  up_buf.clear();
}

void connection::release_lease() {
  if (parked) {
    if (parked.reset()) {
      metrics::registry::global().on_lease_released(seconds_since(lease_since));
    } else {
      lost_parked_lease();
    }
  }
  if (!lease) return;
  metrics::registry::global().on_lease_released(seconds_since(lease_since));
  lease.reset();
}

void connection::park_lease() {
  if (!lease) return;
  const double held = seconds_since(lease_since);
  parked = ctx.pool->park(std::move(lease));
  if (parked) {
    parked_at = steady_clock::instance().now();
    return;
  }
  auto& m = metrics::registry::global();
  m.on_lease_released(held);
  m.on_token_handover(metrics::handover::after_exchange);
  handed_over = true;
}

void connection::unpark_lease() {
  if (!parked) return;
  lease = parked.take();
  if (!lease) lost_parked_lease();
}

// When the token was taken is not known here: the lease is counted as held
// until the end of the connection's last exchange.
void connection::lost_parked_lease() {
  auto& m = metrics::registry::global();
  m.on_lease_released(std::chrono::duration<double>(parked_at - lease_since).count());
  m.on_token_handover(metrics::handover::idle);
  handed_over = true;
}

asio::awaitable<void> connection::answer(request_record& rec, http::response<http::string_body> res,
                                         bool head_request) {
  rec.status = res.result_int();
  keep_alive = false;
  armed a(deadline, {io_phase::client_write, cfg().client_idle_timeout});
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
