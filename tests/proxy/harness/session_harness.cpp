#include "session_harness.hpp"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <stdexcept>
#include <system_error>

#include "common/log_exception.hpp"
#include "proxy/session_entry.hpp"

namespace tpp::proxy::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Both ends of a connected AF_UNIX stream pair: the proxy side goes into a
// tcp::socket (Asio only needs a stream descriptor), the test side into a
// local socket.
std::pair<int, int> socket_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw std::system_error(errno, std::generic_category(), "socketpair");
  }
  return {fds[0], fds[1]};
}

upstream_reply default_answer(const upstream_request& req) {
  return upstream_reply::send(plain_response(200, "ok", req.method() == http::verb::head));
}

// Waits until the proxy closes the connection, reading and dropping bytes.
asio::awaitable<void> drain(local::socket& s) {
  char sink[4096];
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(sink), use_tuple);
    if (ec) co_return;
  }
}

// After a 101: echoes what arrives (what the parser read past the request
// first) until the proxy's FIN, then sends FIN and waits for the close.
asio::awaitable<void> echo_tunnel(session_harness* h, local::socket& s, beast::flat_buffer& buf) {
  std::string got(static_cast<const char*>(buf.data().data()), buf.size());
  buf.consume(buf.size());
  char chunk[4096];
  for (;;) {
    if (!got.empty()) {
      if (h->current_) h->current_->tunnel_received += got;
      auto [wec, wn] = co_await asio::async_write(s, asio::buffer(got), use_tuple);
      if (wec) co_return;
    }
    auto [ec, n] = co_await s.async_read_some(asio::buffer(chunk), use_tuple);
    if (ec) break;
    got.assign(chunk, n);
  }
  boost::system::error_code ec;
  s.shutdown(local::socket::shutdown_send, ec);
  co_await drain(s);
}

// The DolphinDB stand-in on one upstream connection: reads each request with
// Beast's parser (what the proxy sends must parse), records it and answers
// as the harness says.
asio::awaitable<void> stand_in(session_harness* h, local::socket s) {
  beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::string_body> p;
    p.header_limit(1 << 20);
    p.body_limit(boost::none);
    auto [ec, n] = co_await http::async_read(s, buf, p, use_tuple);
    if (ec) co_return;  // the proxy closed it, or cut a message short
    auto req = p.release();
    const auto reply = h->answer ? h->answer(req) : default_answer(req);
    if (h->current_) h->current_->upstream_received.push_back(std::move(req));
    if (reply.what == upstream_reply::kind::close) co_return;
    if (reply.what == upstream_reply::kind::hang) {
      co_await drain(s);
      co_return;
    }
    auto [wec, wn] = co_await asio::async_write(s, asio::buffer(reply.bytes), use_tuple);
    if (wec || reply.close_after) co_return;
    if (reply.what == upstream_reply::kind::tunnel) {
      co_await echo_tunnel(h, s, buf);
      co_return;
    }
  }
}

asio::awaitable<net::connect_result> connect_stand_in(session_harness* h,
                                                      net::upstream_stream* stream) {
  net::connect_result r;
  if (h->connect_error) {
    r.ec = *h->connect_error;
    r.detail = "connect to the stand-in: refused by the test";
    co_return r;
  }
  auto ex = co_await asio::this_coro::executor;
  const auto [proxy_end, upstream_end] = socket_pair();
  stream->tcp().socket().assign(tcp::v4(), proxy_end);
  local::socket peer(ex);
  peer.assign(local(), upstream_end);
  asio::co_spawn(ex, stand_in(h, std::move(peer)), log_exception{"test upstream"});
  if (h->current_) ++h->current_->upstream_connections;
  co_return r;
}

asio::awaitable<bool> install_replacement(session_harness* h, std::size_t slot) {
  if (!h->replace_refused_tokens) co_return false;
  static int n = 0;
  h->pool().install(slot, "token-" + std::to_string(slot) + "-r" + std::to_string(++n));
  co_return true;
}

asio::awaitable<void> client_writer(local::socket* c, std::string input, std::size_t step,
                                    bool keep_open, std::chrono::milliseconds pause) {
  std::size_t pos = 0;
  while (pos < input.size()) {
    const auto n = step == 0 ? input.size() - pos : std::min(step, input.size() - pos);
    auto [ec, w] = co_await asio::async_write(*c, asio::buffer(input.data() + pos, n), use_tuple);
    if (ec) co_return;
    pos += n;
    if (step != 0 && pos < input.size()) {
      // An expired timer completes after the reactor's socket events of the
      // same turn: the session reads this piece before the next is written.
      asio::steady_timer turn(c->get_executor(), pause);
      co_await turn.async_wait(use_tuple);
    }
  }
  boost::system::error_code ec;
  if (!keep_open) c->shutdown(local::socket::shutdown_send, ec);
}

asio::awaitable<void> client_reader(local::socket* c, std::string* out, bool* done,
                                    bool close_on_eof) {
  char buf[4096];
  for (;;) {
    auto [ec, n] = co_await c->async_read_some(asio::buffer(buf), use_tuple);
    if (ec) break;
    out->append(buf, n);
  }
  boost::system::error_code ec;
  if (close_on_eof) c->shutdown(local::socket::shutdown_send, ec);
  *done = true;
}

config::config harness_config(const std::function<void(config::config&)>& adjust) {
  config::config cfg;
  cfg.upstream.host = "stand-in";
  cfg.workers = 1;
  if (adjust) adjust(cfg);
  return cfg;
}

}  // namespace

std::string plain_response(unsigned status, std::string_view body, bool head_request) {
  std::string r = "HTTP/1.1 " + std::to_string(status) +
                  " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  if (!head_request) r.append(body);
  return r;
}

session_harness::session_harness(std::size_t tokens,
                                 const std::function<void(config::config&)>& adjust) {
  ctx_.cfg = harness_config(adjust);
  ctx_.pool = pool::token_pool::create(tokens, steady_clock::instance());
  for (std::size_t i = 0; i < tokens; ++i) ctx_.pool->install(i, "token-" + std::to_string(i));
  ctx_.upstream.host = ctx_.cfg.upstream.host;
  ctx_.connect_upstream = [this](net::upstream_stream& s) { return connect_stand_in(this, &s); };
  ctx_.hooks.report_auth_failure = [this](std::size_t slot, std::uint64_t generation) {
    auth_failures.emplace_back(slot, generation);
    ctx_.pool->mark_stale(slot, generation);
    return true;
  };
  ctx_.hooks.wait_for_install = [this](std::size_t slot, std::uint64_t, std::chrono::milliseconds) {
    return install_replacement(this, slot);
  };
  worker_ = std::make_unique<worker>(ctx_, 0);
  worker_->start_sweep();
}

session_harness::~session_harness() {
  worker_.reset();
}

session_harness::result session_harness::run(std::string_view input, std::size_t step,
                                             bool keep_open, std::chrono::milliseconds limit,
                                             std::chrono::milliseconds pause) {
  result r;
  current_ = &r;
  auto& io = worker_->io();
  io.restart();
  const auto [proxy_end, client_end] = socket_pair();
  tcp::socket accepted(io);
  accepted.assign(tcp::v4(), proxy_end);
  local::socket client(io);
  client.assign(local(), client_end);
  const tcp::endpoint peer(asio::ip::make_address("192.0.2.1"), 40000);
  bool session_done = false, reader_done = false;
  asio::co_spawn(io, run_session(worker_.get(), std::move(accepted), peer),
                 [&](const std::exception_ptr& e) {
                   session_done = true;
                   if (e) log_exception{"harness session"}(e);
                 });
  asio::co_spawn(io, client_writer(&client, std::string(input), step, keep_open, pause),
                 log_exception{"harness client writer"});
  asio::co_spawn(io, client_reader(&client, &r.client_received, &reader_done, client_closes_on_eof),
                 log_exception{"harness client reader"});
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!(session_done && reader_done) && std::chrono::steady_clock::now() < until) {
    io.run_one_until(until);
  }
  r.finished = session_done;
  // Idle upstream connections end with the run: their stand-ins see EOF.
  r.upstreams_kept = worker_->upstreams().size();
  worker_->upstreams().clear();
  boost::system::error_code ec;
  client.close(ec);
  while (io.poll() > 0) {
  }
  current_ = nullptr;
  return r;
}

parsed_responses parse_responses(std::string_view raw, const std::vector<bool>& head_requests) {
  parsed_responses out;
  std::size_t final_index = 0;
  while (!raw.empty()) {
    http::response_parser<http::string_body> p;
    p.eager(true);
    p.body_limit(boost::none);
    if (final_index < head_requests.size() && head_requests[final_index]) p.skip(true);
    boost::system::error_code ec;
    while (!p.is_done()) {
      const auto used = p.put(asio::buffer(raw.data(), raw.size()), ec);
      raw.remove_prefix(used);
      if (ec || used == 0) break;
    }
    if (ec == http::error::need_more && p.is_header_done() && p.need_eof()) {
      p.put_eof(ec);  // a body delimited by the connection's end
    }
    if (ec || !p.is_done()) {
      out.complete = false;
      out.error = ec ? ec.message() : "truncated";
      return out;
    }
    client_response cr;
    cr.status = p.get().result_int();
    cr.message = p.release();
    if (cr.status >= 200) ++final_index;
    out.responses.push_back(std::move(cr));
  }
  return out;
}

}  // namespace tpp::proxy::test
