#include "proxy/tunnel.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "metrics/registry.hpp"
#include "proxy/connection.hpp"
#include "proxy/proxy_context.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Per direction, for the tunnel's lifetime: WebSocket frames are small, and
// an idle console tab should not pin 128 KiB of relay buffers.
constexpr std::size_t direction_buffer = 16 * 1024;

// What both directions of one tunnel share (one thread: no locks).
struct tunnel_state {
  connection& c;
  std::chrono::milliseconds idle;
  bool failed = false;

  // Bytes moved: the tunnel is not idle.
  void touch() noexcept {
    if (!failed) c.deadline.arm(io_phase::tunnel, idle);
  }
  // One direction failed (or was cancelled): the other cannot go on alone.
  // Closing both sockets ends its pending operation.
  void fail() noexcept {
    if (failed) return;
    failed = true;
    boost::system::error_code ec;
    c.client.socket().close(ec);
    c.upstream->tcp().socket().close(ec);
  }
};

// Counts the tunnel open for exactly as long as this lives.
struct open_tunnel_gauge {
  open_tunnel_gauge() noexcept { metrics::registry::global().on_tunnel_opened(); }
  ~open_tunnel_gauge() { metrics::registry::global().on_tunnel_closed(); }
  open_tunnel_gauge(const open_tunnel_gauge&) = delete;
  open_tunnel_gauge& operator=(const open_tunnel_gauge&) = delete;
};

bool is_end_of_stream(const boost::system::error_code& ec) noexcept {
  // A TLS peer that closes without close_notify ends its stream all the same.
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

// Passes a FIN on. TLS has no half-close (close_notify ends both directions
// for most peers), so nothing is sent to a TLS upstream.
void shutdown_write(net::client_stream& s) {
  if (s.is_tls()) return;
  boost::system::error_code ec;
  s.socket().shutdown(tcp::socket::shutdown_send, ec);
}
void shutdown_write(net::upstream_stream& s) {
  if (s.is_tls()) return;
  boost::system::error_code ec;
  s.tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
}

// One direction: what `in` sent early (`pending`), then every byte it sends,
// to `out`, until `in` sends FIN or something fails.
template <class In, class Out>
asio::awaitable<void> pump(In* in, Out* out, beast::flat_buffer* pending, tunnel_state* st,
                           std::uint64_t* moved, const char* side) {
  if (pending->size() > 0) {
    auto [ec, n] = co_await asio::async_write(*out, pending->data(), use_tuple);
    if (ec) {
      st->fail();
      co_return;
    }
    pending->consume(n);
    *moved += n;
    st->touch();
  }
  const auto buf = std::make_unique<char[]>(direction_buffer);
  for (;;) {
    auto [rec, n] =
        co_await in->async_read_some(asio::buffer(buf.get(), direction_buffer), use_tuple);
    if (rec) {
      spdlog::debug("client {}: tunnel: {} side ended: {}", st->c.client_ip, side, rec.message());
      if (is_end_of_stream(rec) && !st->failed) {
        shutdown_write(*out);
      } else {
        st->fail();
      }
      co_return;
    }
    st->touch();
    auto [wec, wn] = co_await asio::async_write(*out, asio::buffer(buf.get(), n), use_tuple);
    if (wec) {
      spdlog::debug("client {}: tunnel: writing from the {} side failed: {}", st->c.client_ip, side,
                    wec.message());
      st->fail();
      co_return;
    }
    *moved += wn;
    st->touch();
  }
}

}  // namespace

asio::awaitable<tunnel_totals> run_tunnel(connection& c) {
  using namespace asio::experimental::awaitable_operators;
  open_tunnel_gauge gauge;
  tunnel_state st{c, c.cfg().tunnel_idle_timeout};
  tunnel_totals t;
  st.touch();
  // Both directions at once; `&&` waits for both (neither throws).
  co_await (pump(&c.client, c.upstream.get(), &c.in_buf, &st, &t.from_client, "client") &&
            pump(c.upstream.get(), &c.client, &c.up_buf, &st, &t.from_upstream, "upstream"));
  t.timed_out = c.deadline.timed_out();
  c.deadline.disarm();
  co_return t;
}

}  // namespace tpp::proxy
