// GCC 12 reports -Wnull-dereference false positives inside Asio's any_executor
#include "common/log_exception.hpp"
// comparisons (io_context/strand executors) at -O2; the code is Asio's, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "access/asio_address.hpp"
#include "admin/connection_table.hpp"
#include "admin/health_server.hpp"
#include "admin/prometheus_text.hpp"
#include "admin/status_page.hpp"
#include "admin/traffic.hpp"
#include "common/clock.hpp"
#include "common/log_throttle.hpp"
#include "metrics/registry.hpp"
#include "net/listener_fd.hpp"

namespace tpp::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using response = http::response<http::string_body>;

response make_response(http::status st, unsigned version, std::string body,
                       std::string_view content_type = "application/json") {
  response res{st, version};
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

std::string error_json(std::string_view msg) {
  return nlohmann::json{{"error", msg}}.dump();
}

// Status for a request the parser refused; the connection closes after it.
http::status status_for_read_error(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return http::status::request_header_fields_too_large;
  }
  if (ec == http::error::body_limit) return http::status::payload_too_large;
  return http::status::bad_request;
}

// True when the client sent something that is not a valid request (as opposed
// to closing, going quiet or cutting a message short).
bool is_parse_error(const boost::system::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// True for `Expect: 100-continue` (case-insensitive, as RFC 9110 says).
bool expects_continue(const http::request_parser<http::string_body>& p) {
  const auto v = p.get()[http::field::expect];
  return beast::iequals(v, "100-continue");
}

bool is_out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors ||
         ec == boost::system::error_code(ENFILE, boost::system::system_category());
}

// The soft RLIMIT_NOFILE, 0 when unlimited or unknown.
std::uint64_t descriptor_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<std::uint64_t>(rl.rlim_cur);
}

}  // namespace

struct health_server::impl {
  impl(asio::io_context& io, const config::address& addr, std::function<health_inputs()> in,
       health_server_options o)
      : ioc(io),
        strand(asio::make_strand(io)),
        acceptor(strand),
        listen(addr),
        inputs(std::move(in)),
        opts(o) {}

  asio::io_context& ioc;
  asio::strand<asio::io_context::executor_type> strand;
  tcp::acceptor acceptor;
  config::address listen;
  std::function<health_inputs()> inputs;
  health_server_options opts;
  tcp::endpoint bound;  // written once by start()
  std::atomic<bool> stop_requested{false};
  // Strand only: the open connections (so that stop() and the cap can close
  // them) and what the cap knows of them.
  std::unordered_map<connection_table::id, beast::tcp_stream*> sessions;
  connection_table table{opts.max_connections};
  std::uint64_t evicted = 0;  // connections closed to make room, for the log

  // Keeps a session in `sessions` and `table` for its coroutine frame's life.
  struct registration {
    impl& owner;
    connection_table::id id;
    registration(impl& o, connection_table::id i, beast::tcp_stream* s) : owner(o), id(i) {
      owner.sessions.emplace(id, s);
    }
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;
    ~registration() {
      owner.sessions.erase(id);
      owner.table.remove(id);
    }
  };

  static void close_stream(beast::tcp_stream& s) {
    boost::system::error_code ec;
    s.socket().shutdown(tcp::socket::shutdown_both, ec);
    s.close();
  }

  // Before the accept loop (start()): the socket a predecessor handed over,
  // when it is bound where this listener should be. False: none to use.
  bool adopt_inherited(const tcp::endpoint& ep) {
    const int fd = std::exchange(opts.inherited_fd, -1);
    if (fd < 0) return false;
    const auto was = net::bound_endpoint(fd);
    if (!was || !net::same_listener(*was, ep)) {
      spdlog::warn("take-over: the inherited health socket is not bound to {}; closing it",
                   listen.to_string());
      ::close(fd);
      return false;
    }
    boost::system::error_code ec;
    if (acceptor.assign(was->protocol(), fd, ec); ec) {
      ::close(fd);
      return false;
    }
    return true;
  }

  void bind(const tcp::endpoint& ep, const std::string& name) {
    boost::system::error_code ec;
    if (acceptor.open(ep.protocol(), ec); ec) {
      throw std::runtime_error(name + ": cannot open socket: " + ec.message());
    }
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    // The message is taken before close(), which resets `ec` ("cannot bind: Success").
    if (acceptor.bind(ep, ec); ec) {
      const std::string why = ec.message();
      acceptor.close(ec);
      throw std::runtime_error(name + ": cannot bind: " + why);
    }
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
      const std::string why = ec.message();
      acceptor.close(ec);
      throw std::runtime_error(name + ": cannot listen: " + why);
    }
  }

  // Strand only. A connection answering a request is left to write its
  // answer (bounded by write_timeout) and ends after it, seeing
  // stop_requested: POST /admin/drain stops this server while its own 202
  // is on the way out.
  void close_all() {
    boost::system::error_code ec;
    acceptor.close(ec);
    for (auto& [id, s] : sessions) {
      if (table.waiting(id)) close_stream(*s);
    }
  }

  // Strand only. Closes the connection waiting longest for a request; false
  // when there is none.
  bool evict_idlest() {
    const auto victim = table.evict_idlest();
    if (!victim) return false;
    if (auto it = sessions.find(*victim); it != sessions.end()) close_stream(*it->second);
    return true;
  }

  // Strand only. Makes room for a connection just accepted (docs/metrics.md,
  // "Health listener limits"); false when it must be closed instead.
  bool admit() {
    const auto adm = table.admit();
    if (adm.evict) {
      // A session not started yet finds itself evicted when it starts.
      if (auto it = sessions.find(*adm.evict); it != sessions.end()) close_stream(*it->second);
    }
    if (adm.evict || !adm.accept) {
      // The first, then every 1000th: a flood of connections costs a few lines.
      if (evicted++ % 1000 == 0) {
        spdlog::warn(
            "health server: at its cap of {} connections (health_max_connections): idle ones "
            "are closed to answer new ones ({} so far)",
            table.cap(), evicted);
      }
    }
    return adm.accept;
  }

  // `refusal`: why /health, /metrics and /status are refused (403); empty:
  // they are not.
  response handle(const http::request<http::string_body>& req, std::string_view refusal) {
    const auto target = req.target();
    const std::string_view path(target.data(), std::min(target.find('?'), target.size()));
    const unsigned version = req.version();

    if (admin_api::owns(path)) return handle_admin(req, refusal);
    const bool is_health = path == "/health" || path == "/healthz";
    const bool is_live = path == "/livez";
    const bool is_ready_path = path == "/readyz";
    const bool is_metrics = path == "/metrics";
    // The status page shows what /health shows: whatever guards /health's
    // detail guards it too.
    const bool is_status = path == "/status";
    if (!is_health && !is_live && !is_ready_path && !is_metrics && !is_status) {
      return make_response(http::status::not_found, version, error_json("not found"));
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      auto res = make_response(http::status::method_not_allowed, version,
                               error_json("method not allowed"));
      res.set(http::field::allow, "GET, HEAD");
      return res;
    }
    if (is_live) {
      return make_response(http::status::ok, version, R"({"status":"alive"})");
    }
    if ((is_health || is_metrics || is_status) && !refusal.empty()) {
      return refused(refusal, version);
    }
    if (is_status) {
      auto res = make_response(http::status::ok, version, std::string(status_page_html()),
                               status_page_content_type);
      res.set("Content-Security-Policy", status_page_csp);
      res.set("X-Content-Type-Options", "nosniff");
      res.set("Referrer-Policy", "no-referrer");
      return res;
    }
    try {
      health_inputs in = inputs();
      if (is_health) {
        in.traffic = traffic_from(metrics::registry::global().collect(to_scrape_inputs(in)));
        return make_response(http::status::ok, version, render_health_json(in));
      }
      if (is_ready_path) {
        return make_response(is_ready(in) ? http::status::ok : http::status::service_unavailable,
                             version, render_ready_json(in));
      }
      return make_response(
          http::status::ok, version,
          render_prometheus(metrics::registry::global().collect(to_scrape_inputs(in))),
          prometheus_content_type);
    } catch (const std::exception& e) {
      spdlog::error("health server: {}: {}", path, e.what());
      return make_response(http::status::internal_server_error, version,
                           error_json("internal error"));
    }
  }

  // 403 for a guarded path (detail or admin), counted.
  static response refused(std::string_view refusal, unsigned version) {
    metrics::registry::global().on_health_refused();
    return make_response(http::status::forbidden, version, error_json(refusal));
  }

  response handle_admin(const http::request<http::string_body>& req, std::string_view refusal) {
    const unsigned version = req.version();
    if (!opts.admin)
      return make_response(http::status::not_found, version, error_json("not found"));
    if (!refusal.empty()) return refused(refusal, version);
    std::optional<std::string_view> authorization;
    if (auto it = req.find(http::field::authorization); it != req.end()) {
      authorization = std::string_view(it->value().data(), it->value().size());
    }
    const auto a = opts.admin->handle(std::string_view(req.method_string()),
                                      std::string_view(req.target()), authorization);
    auto res = make_response(static_cast<http::status>(a.status), version, a.body);
    if (a.challenge) res.set(http::field::www_authenticate, "Bearer");
    if (!a.allow.empty()) res.set(http::field::allow, a.allow);
    return res;
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self) {
    for (;;) {
      auto [ec, sock] = co_await self->acceptor.async_accept(use_tuple);
      if (self->stop_requested.load()) co_return;  // `sock` closes as it goes
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        // Out of descriptors: a probe waiting in the backlog comes before an
        // idle health connection, so give one up and accept again at once.
        if (is_out_of_descriptors(ec) && self->evict_idlest()) continue;
        // Otherwise pause instead of spinning.
        warn_throttled("health server: accept on " + self->listen.to_string() + ": " +
                       ec.message());
        asio::steady_timer pause(self->strand, std::chrono::milliseconds(100));
        co_await pause.async_wait(use_tuple);
        continue;
      }
      if (!self->admit()) continue;  // every connection busy: `sock` closes as it goes
      const auto id = self->table.add(steady_clock::instance().now());
      asio::co_spawn(self->strand, run_session(self, id, std::move(sock)),
                     log_exception{"health server: session"});
    }
  }

  // Why the detail paths (/health, /metrics, /status) answer 403 to this
  // peer; empty when they do not.
  std::string_view source_refusal(beast::tcp_stream& stream) const {
    if (opts.detail_allow.empty()) return {};
    boost::system::error_code ec;
    const auto peer = stream.socket().remote_endpoint(ec);
    if (!ec && access::source_allowed(opts.detail_allow, peer.address())) return {};
    return "forbidden: this source is not in health_allow";
  }

  static asio::awaitable<void> run_session(std::shared_ptr<impl> self, connection_table::id id,
                                           tcp::socket sock) {
    beast::tcp_stream stream(std::move(sock));
    registration reg(*self, id, &stream);
    if (self->stop_requested.load() || self->table.evicted(id)) co_return;
    std::string_view refusal = self->source_refusal(stream);
    if (!self->opts.tls) {
      co_await serve(self, id, stream, stream, refusal);
      co_return;
    }
    // This connection keeps the pair it started with, whatever reloads come.
    const auto ctx = self->opts.tls->current();
    asio::ssl::stream<beast::tcp_stream&> tls(stream, *ctx);
    const bool ok = co_await handshake(*self, tls, stream);
    if (!ok || self->stop_requested.load()) co_return;
    if (refusal.empty() && !self->opts.tls->settings().client_ca_file.empty() &&
        !has_verified_certificate(tls.native_handle())) {
      refusal = "forbidden: a client certificate is required (health_tls.client_ca_file)";
    }
    co_await serve(self, id, tls, stream, refusal);
  }

  // The server side of the TLS handshake, bounded by handshake_timeout. A
  // client certificate is asked for but optional (health_server_options::tls);
  // one that is sent must verify. False: the connection ends (logged).
  template <class Tls>
  static asio::awaitable<bool> handshake(impl& self, Tls& tls, beast::tcp_stream& raw) {
    const auto& t = self.opts.tls->settings();
    if (!t.client_ca_file.empty()) tls.set_verify_mode(asio::ssl::verify_peer);
    raw.expires_after(t.handshake_timeout);
    auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (!ec) co_return true;
    static log_throttle throttle(std::chrono::seconds(10));
    if (auto admitted = throttle.admit("health tls", steady_clock::instance().now())) {
      spdlog::warn("health server: TLS handshake failed: {}{}", ec.message(),
                   suppressed_suffix(*admitted));
    }
    co_return false;
  }

  static bool has_verified_certificate(SSL* ssl) {
    return SSL_get0_peer_certificate(ssl) != nullptr && SSL_get_verify_result(ssl) == X509_V_OK;
  }

  // The requests of one connection, over `s` (the TCP stream or TLS on it);
  // `raw` carries the deadlines. `refusal`: see source_refusal().
  template <class Stream>
  static asio::awaitable<void> serve(std::shared_ptr<impl> self, connection_table::id id, Stream& s,
                                     beast::tcp_stream& raw, std::string_view refusal) {
    const auto& o = self->opts;
    beast::flat_buffer buffer(o.max_header_bytes + o.max_body_bytes + 1024);
    for (;;) {
      // A fresh parser per request: a Beast parser cannot be reused.
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(
          std::min<std::size_t>(o.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
      parser.body_limit(o.max_body_bytes);
      self->table.set_waiting(id, true, steady_clock::instance().now());
      raw.expires_after(o.read_timeout);
      auto [rec, rn] = co_await http::async_read_header(s, buffer, parser, use_tuple);
      // With `Expect: 100-continue` the client may wait for a 100 before it
      // sends the body: answer at once instead of waiting for it.
      const bool skip_body = !rec && !parser.is_done() && expects_continue(parser);
      if (!rec && !parser.is_done() && !skip_body) {
        auto [bec, bn] = co_await http::async_read(s, buffer, parser, use_tuple);
        rec = bec;
      }
      if (self->stop_requested.load()) co_return;
      self->table.set_waiting(id, false, steady_clock::instance().now());

      response res;
      if (rec) {
        // The peer left, went quiet, or cut a message short: nothing to answer.
        if (!is_parse_error(rec)) co_return;
        res = make_response(status_for_read_error(rec), 11, error_json(rec.message()));
        res.keep_alive(false);
        res.prepare_payload();
      } else {
        const auto& req = parser.get();
        res = self->handle(req, refusal);
        res.keep_alive(req.keep_alive() && !skip_body);  // an unread body ends the connection
        res.prepare_payload();
        if (req.method() == http::verb::head) res.body().clear();  // headers as for GET
      }

      raw.expires_after(o.write_timeout);
      auto [wec, wn] = co_await http::async_write(s, res, use_tuple);
      if (wec || self->stop_requested.load()) co_return;
      if (!res.keep_alive()) {
        co_await finish(s, raw);
        co_return;
      }
    }
  }

  // Ends a connection after its last answer: TLS sends close_notify first
  // (waiting a moment for the peer's), then linger_close.
  template <class Stream>
  static asio::awaitable<void> finish(Stream& s, beast::tcp_stream& raw) {
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      raw.expires_after(std::chrono::seconds(1));
      auto [ec] = co_await s.async_shutdown(use_tuple);
    }
    co_await linger_close(raw);
  }

  // Half-closes, then discards what the client still sends for a moment, so
  // that closing with unread bytes does not reset the connection and destroy
  // the answer before the client reads it.
  static asio::awaitable<void> linger_close(beast::tcp_stream& stream) {
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 4096> sink{};
    std::size_t drained = 0;
    stream.expires_after(std::chrono::seconds(1));
    while (!ec && drained < 64 * 1024) {
      std::size_t n = 0;
      std::tie(ec, n) = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
      drained += n;
    }
    stream.close();
  }
};

health_server::health_server(asio::io_context& ioc, const config::address& listen,
                             std::function<health_inputs()> inputs, health_server_options opts)
    : impl_(std::make_shared<impl>(ioc, listen, std::move(inputs), opts)) {}

health_server::~health_server() {
  stop();
}

void health_server::start() {
  auto& self = *impl_;
  if (self.stop_requested.load()) return;  // stopped before it started: stay closed
  const std::string name = "health listener " + self.listen.to_string();
  boost::system::error_code ec;
  tcp::endpoint ep;
  const auto addr = asio::ip::make_address(self.listen.host, ec);
  if (!ec) {
    ep = tcp::endpoint(addr, self.listen.port);
  } else {
    tcp::resolver resolver(self.ioc);
    const auto results = resolver.resolve(self.listen.host, std::to_string(self.listen.port),
                                          tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      throw std::runtime_error(
          name + ": cannot resolve host: " + (ec ? ec.message() : std::string("no address")));
    }
    ep = results.begin()->endpoint();
  }
  if (!self.adopt_inherited(ep)) self.bind(ep, name);
  self.bound = self.acceptor.local_endpoint(ec);
  // Before the accept loop runs, so no strand is needed yet.
  const auto cap = health_connection_cap(self.opts.max_connections, descriptor_limit());
  if (cap < self.opts.max_connections) {
    spdlog::info("health server: at most {} connections (a sixteenth of the descriptor limit)",
                 cap);
  }
  self.table = connection_table(cap);
  spdlog::info("health server listening on {}:{}", self.bound.address().to_string(),
               self.bound.port());
  asio::co_spawn(self.strand, impl::accept_loop(impl_),
                 log_exception{"health server: accept loop"});
}

void health_server::stop() {
  if (impl_->stop_requested.exchange(true)) return;
  // A plain (non-coroutine) handler; it holds the state alive until it runs.
  asio::dispatch(impl_->strand, [self = impl_] { self->close_all(); });
}

tcp::endpoint health_server::local_endpoint() const {
  return impl_->bound;
}

int health_server::listening_fd() const noexcept {
  return impl_->acceptor.is_open() ? impl_->acceptor.native_handle() : -1;
}

}  // namespace tpp::admin
