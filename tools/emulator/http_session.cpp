#include "http_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <charconv>
#include <functional>
#include <iostream>
#include <map>
#include <optional>

#include "body_spool.hpp"
#include "control_api.hpp"
#include "envelope.hpp"
#include "ws_echo.hpp"

namespace tpp::emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t chunk_size = 64 * 1024;
constexpr std::size_t keep_limit = 1 << 20;  // bodies parsed as JSON
constexpr std::size_t record_prefix = 1024;  // body bytes kept in a record

asio::awaitable<void> sleep_ms(std::uint64_t ms) {
  if (ms == 0) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(use_tuple);
}

std::map<std::string, std::string, std::less<>> parse_query(std::string_view q) {
  std::map<std::string, std::string, std::less<>> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    auto eq = part.find('=');
    out[std::string(part.substr(0, eq))] =
        eq == std::string_view::npos ? "" : std::string(part.substr(eq + 1));
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
  }
  return out;
}

std::uint64_t query_u64(const std::map<std::string, std::string, std::less<>>& q,
                        std::string_view key) {
  std::uint64_t v = 0;
  if (auto it = q.find(key); it != q.end()) {
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  }
  return v;
}

// True for "sleep(N)" exactly; N in ms.
bool parse_sleep(std::string_view script, std::uint64_t& ms) {
  if (!script.starts_with("sleep(") || !script.ends_with(")")) return false;
  auto digits = script.substr(6, script.size() - 7);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ms);
  return ec == std::errc{} && p == digits.data() + digits.size();
}

// Collects a request body: counts it, keeps a prefix, and spools it whole
// when an echo needs it back.
struct body_sink {
  body_sink(std::size_t keep_bytes, body_spool* to = nullptr) : keep(keep_bytes), spool(to) {}

  std::size_t keep;
  body_spool* spool;
  std::string kept;
  std::uint64_t bytes = 0;

  void add(const char* p, std::size_t n) {
    bytes += n;
    if (kept.size() < keep) kept.append(p, std::min(n, keep - kept.size()));
    if (spool) spool->append(p, n);
  }
};

void pattern_fill(char* out, std::size_t n, std::uint64_t offset) {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + (offset + i) % 26);
}

using header_list = std::vector<std::pair<std::string, std::string>>;
using query_map = std::map<std::string, std::string, std::less<>>;

// What a request's head says, copied out of its parser.
struct request_info {
  std::string method;
  std::string target;
  std::string path;
  query_map query;
  header_list headers;
  std::vector<std::string> authorization;  // every Authorization value
  std::string content_type;
  std::string session_header;
  bool expect_continue = false;
  bool chunked = false;
  bool keep_alive = false;
  // DolphinDB's WebSocket is an Upgrade on `/`; the request is kept whole
  // for the handshake.
  std::optional<http::request<http::empty_body>> upgrade;
};

request_info describe(const http::request<http::empty_body>& req) {
  request_info in;
  in.method = std::string(req.method_string());
  in.target = std::string(req.target());
  const auto qpos = in.target.find('?');
  in.path = in.target.substr(0, qpos);
  in.query = parse_query(qpos == std::string::npos ? std::string_view{}
                                                   : std::string_view(in.target).substr(qpos + 1));
  for (const auto& f : req) {
    in.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    if (f.name() == http::field::authorization) in.authorization.emplace_back(f.value());
    if (f.name() == http::field::content_type) in.content_type = std::string(f.value());
    if (beast::iequals(f.name_string(), "sessionID")) in.session_header = std::string(f.value());
    if (f.name() == http::field::expect && beast::iequals(f.value(), "100-continue")) {
      in.expect_continue = true;
    }
  }
  in.chunked = req.chunked();
  in.keep_alive = req.keep_alive();
  if (in.path == "/" && beast::websocket::is_upgrade(req)) in.upgrade.emplace(req);
  return in;
}

// A request once its body is read: its head, its token and its body's
// kept prefix.
struct request {
  request_info in;
  auth_result auth;
  std::string body;
  // False when the token is invalid and the invalid_token switch says to
  // refuse it (guest mode carries on as guest).
  bool auth_allows(const switches& sw) const {
    return !auth.present() || auth.valid || sw.invalid_token == invalid_token_mode::guest;
  }
};

template <class Stream>
class connection {
 public:
  connection(Stream& s, server_context& ctx) : s_(s), ctx_(ctx), chunk_(chunk_size) {}

  asio::awaitable<void> run() {
    for (;;) {
      const bool more = co_await handle_one();
      if (!more) break;
    }
    close();
    // Counted once the FIN is out, so a test that sees the count can rely on
    // the peer having been told.
    if (idle_closed_) ctx_.state.note_idle_close();
  }

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(s_); }

  void close() {
    beast::error_code ec;
    tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp().close();
  }

  // One request and its answer. false: the connection must end. Split in
  // small coroutines: GCC 12 spends minutes on one with dozens of
  // suspension points.
  asio::awaitable<bool> handle_one() {
    http::request_parser<http::empty_body> hp;
    hp.header_limit(64 * 1024);
    hp.body_limit(boost::none);  // echo takes any size; nothing is held whole in memory
    const bool head_read = co_await read_head(hp);
    if (!head_read) co_return false;
    // `hp.get()` belongs to the parser, which read_body consumes: everything
    // needed later is copied out here.
    request_info in = describe(hp.get());
    head_request_ = in.method == "HEAD";
    if (in.expect_continue) {
      static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
      auto [wec, wn] = co_await asio::async_write(s_, asio::buffer(continue_line), use_tuple);
      if (wec) co_return false;
    }
    if (in.path.starts_with(control_prefix)) {
      const bool more = co_await serve_control(hp, in);
      co_return more;
    }
    const std::vector<std::string_view> authorization(in.authorization.begin(),
                                                      in.authorization.end());
    auto auth = ctx_.state.check(authorization);
    request r{std::move(in), std::move(auth), {}};
    const bool is_echo = r.in.path == "/__emulator/echo";
    body_spool spool;
    body_sink sink{is_echo ? record_prefix : keep_limit, is_echo ? &spool : nullptr};
    const bool body_read = co_await read_body(hp, sink);
    if (!body_read) co_return false;
    record(r, sink);
    r.body = std::move(sink.kept);
    const switches sw = ctx_.state.current();
    r.in.keep_alive = r.in.keep_alive && sw.keep_alive;
    if (is_echo && r.auth_allows(sw)) {
      co_await sleep_ms(sw.response_delay_ms);
      const bool more = co_await serve_echo(r, spool);
      co_return more;
    }
    const bool more = co_await route(r, sw);
    co_return more;
  }

  // The request head, with the idle timeout; a malformed one gets a 400.
  asio::awaitable<bool> read_head(http::request_parser<http::empty_body>& hp) {
    auto idle = ctx_.state.current().idle_timeout_ms;
    if (idle > 0) {
      tcp().expires_after(std::chrono::milliseconds(idle));
    } else {
      tcp().expires_never();
    }
    auto [ec, n] = co_await http::async_read_header(s_, buf_, hp, use_tuple);
    tcp().expires_never();
    idle_closed_ = ec == beast::error::timeout && idle > 0;
    if (!ec) co_return true;
    if (ec.category() == make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      co_await send_text(http::status::bad_request, std::string("bad request\n"), "text/plain",
                         false, {});
    }
    co_return false;
  }

  // Hands the request's headers over to the record: nothing reads them after.
  void record(request& r, const body_sink& sink) {
    if (ctx_.verbose) {
      std::cerr << "ddb-emulator: " << r.in.method << ' ' << r.in.target
                << " token=" << (r.auth.present() ? (r.auth.valid ? "valid" : "invalid") : "none")
                << '\n';
    }
    ctx_.state.note_request(request_record{r.in.method, r.in.target, r.auth.token, r.auth.valid,
                                           r.auth.authorization_count, std::move(r.in.headers),
                                           sink.bytes, sink.kept.substr(0, record_prefix)});
  }

  asio::awaitable<bool> serve_control(http::request_parser<http::empty_body>& hp,
                                      const request_info& in) {
    body_sink sink{keep_limit};
    const bool body_read = co_await read_body(hp, sink);
    if (!body_read) co_return false;
    auto reply = handle_control(ctx_.state, in.method,
                                std::string_view(in.path).substr(control_prefix.size()), sink.kept);
    const auto answered = co_await send_text(
        static_cast<http::status>(reply.status),
        reply.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
        "application/json", in.keep_alive, {});
    co_return answered;
  }

  // Everything but control and echo, after the body was read.
  asio::awaitable<bool> route(request& r, const switches& sw) {
    if (r.in.upgrade) {
      const bool more = co_await serve_upgrade(r);
      co_return more;
    }
    if (r.in.path == "/api/login") {
      const auto answered = co_await do_login(sw, r.body, r.in.keep_alive);
      co_return answered;
    }
    co_await sleep_ms(sw.response_delay_ms);
    if (!r.auth_allows(sw)) {
      const bool more = co_await refuse_token(r, sw);
      co_return more;
    }
    if (r.in.path == "/api/execute") {
      const bool more = co_await serve_execute(r, sw);
      co_return more;
    }
    if (r.in.path.starts_with("/__emulator/")) {
      const bool more = co_await serve_fault(r, sw);
      co_return more;
    }
    const bool more = co_await not_found(r, sw);
    co_return more;
  }

  asio::awaitable<bool> serve_upgrade(request& r) {
    // Like every other endpoint, it wants a valid token.
    if (!r.auth.valid) {
      co_await send_text(http::status::unauthorized,
                         "ddb-emulator: WebSocket needs a valid token\n", "text/plain", false, {});
      co_return false;
    }
    co_await serve_websocket(s_, *r.in.upgrade);
    co_return false;
  }

  // An invalid token, answered as the invalid_token switch says.
  asio::awaitable<bool> refuse_token(const request& r, const switches& sw) {
    const bool as_401 = sw.invalid_token == invalid_token_mode::http_401;
    std::string answer =
        envelope(sw, "0", "", false, as_401 ? "invalid token" : "The ticket is invalid or expired",
                 nlohmann::json::array());
    const auto answered =
        co_await send_text(as_401 ? http::status::unauthorized : http::status::ok,
                           std::move(answer), "application/json", r.in.keep_alive, {});
    co_return answered;
  }

  asio::awaitable<bool> serve_execute(const request& r, const switches& sw) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    std::string script;
    if (j.is_object() && j.contains("script") && j["script"].is_string()) {
      script = j["script"].get<std::string>();
    }
    std::uint64_t ms = 0;
    if (parse_sleep(script, ms)) co_await sleep_ms(ms);
    // DolphinDB runs the script in the session named by a sessionID header,
    // else in the token's own session.
    std::string session = r.in.session_header;
    if (session.empty()) session = r.auth.session.empty() ? "0" : r.auth.session;
    // Built before the co_await: GCC 12 destroys the temporaries of a ?:
    // inside a co_await expression twice (docs/proxy.md, "Coroutines").
    auto ran = ctx_.vars.run(session, script);
    std::string answer =
        ran.ok ? envelope(sw, session, r.auth.user, true, "", ran.text)
               : envelope(sw, session, r.auth.user, false, ran.text, nlohmann::json::array());
    const auto answered = co_await send_text(http::status::ok, std::move(answer),
                                             "application/json", r.in.keep_alive, {});
    co_return answered;
  }

  asio::awaitable<bool> serve_echo(const request& r, body_spool& spool) {
    header_list extra{
        {"X-Emulator-Token", r.auth.token},
        {"X-Emulator-Token-Valid", r.auth.valid ? "1" : "0"},
        {"X-Emulator-Authorization-Count", std::to_string(r.auth.authorization_count)},
        {"Content-Type",
         r.in.content_type.empty() ? "application/octet-stream" : r.in.content_type}};
    const auto answered = co_await send_streamed(
        std::move(extra), r.in.chunked, spool.size(), r.in.keep_alive,
        [&spool](char* out, std::size_t cap) { return spool.read(out, cap); });
    co_return answered;
  }

  // The /__emulator/ paths that play a fault or a shape of answer
  // (docs/emulator.md).
  asio::awaitable<bool> serve_fault(const request& r, const switches& sw) {
    const auto& path = r.in.path;
    const auto& query = r.in.query;
    if (path == "/__emulator/bytes") {
      const bool more = co_await serve_bytes(r);
      co_return more;
    }
    if (path == "/__emulator/slow") {
      const auto ms = query_u64(query, "ms");
      co_await sleep_ms(ms);
      const auto answered =
          co_await send_text(http::status::ok, "slept " + std::to_string(ms) + " ms\n",
                             "text/plain", r.in.keep_alive, {});
      co_return answered;
    }
    if (path == "/__emulator/drop") {
      co_await serve_drop(query_u64(query, "after"));
      co_return false;
    }
    if (path == "/__emulator/close") co_return false;
    if (path == "/__emulator/unauthorized") {
      // A path that refuses every token, fresh or not.
      const bool more = co_await send_text(
          http::status::unauthorized,
          envelope(sw, "0", r.auth.user, false, "invalid token", nlohmann::json::array()),
          "application/json", r.in.keep_alive, {});
      co_return more;
    }
    if (path == "/__emulator/extra") {
      // A broken server: "ok", then in the same write a second answer nobody
      // asked for; the connection stays open.
      static constexpr std::string_view raw =
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
          "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Emulator-Injected: 1\r\n\r\ninjected";
      auto [wec, wn] = co_await asio::async_write(s_, asio::buffer(raw), use_tuple);
      co_return !wec && r.in.keep_alive;
    }
    const bool more = co_await not_found(r, sw);
    co_return more;
  }

  asio::awaitable<bool> serve_bytes(const request& r) {
    const std::uint64_t total = query_u64(r.in.query, "n");
    std::uint64_t offset = 0;
    auto chunked = r.in.query.find("chunked");
    header_list extra;
    extra.emplace_back("Content-Type", "application/octet-stream");
    const auto answered = co_await send_streamed(
        std::move(extra), chunked != r.in.query.end() && chunked->second == "1", total,
        r.in.keep_alive, [&offset, total](char* out, std::size_t cap) {
          std::size_t piece = std::min<std::uint64_t>(cap, total - offset);
          pattern_fill(out, piece, offset);
          offset += piece;
          return piece;
        });
    co_return answered;
  }

  // A head promising 2N bytes, N bytes, then the connection ends.
  asio::awaitable<void> serve_drop(std::uint64_t after) {
    std::string raw =
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
        std::to_string(after * 2) + "\r\n\r\n";
    const auto head = raw.size();
    raw.resize(head + after);
    pattern_fill(raw.data() + head, after, 0);
    co_await asio::async_write(s_, asio::buffer(raw), use_tuple);
  }

  asio::awaitable<bool> not_found(const request& r, const switches& sw) {
    std::string answer =
        envelope(sw, "0", r.auth.user, false, "ddb-emulator: no such path " + r.in.path,
                 nlohmann::json::array());
    const auto answered = co_await send_text(http::status::not_found, std::move(answer),
                                             "application/json", r.in.keep_alive, {});
    co_return answered;
  }

  asio::awaitable<bool> do_login(const switches& sw, const std::string& body, bool keep_alive) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    std::string user, password;
    if (j.is_object()) {
      if (j.contains("username") && j["username"].is_string())
        user = j["username"].get<std::string>();
      if (j.contains("password") && j["password"].is_string()) {
        password = j["password"].get<std::string>();
      }
    }
    login_result r = ctx_.state.login(user, password);
    co_await sleep_ms(sw.login_delay_ms);
    if (r.what == login_result::kind::drop) co_return false;
    auto status = http::status::ok;
    std::string content_type = "application/json";
    std::string answer;
    switch (r.what) {
      case login_result::kind::ok:
        answer = envelope(sw, r.session, user, true, "", nlohmann::json::array({r.token}));
        break;
      case login_result::kind::rejected:
        answer = envelope(sw, "0", "guest", false,
                          "login(\"" + user + "\", \"" + password +
                              "\") => The user name or password is incorrect.",
                          nlohmann::json::array());
        break;
      case login_result::kind::max_sessions:
        answer = envelope(sw, "0", "guest", false,
                          "login(\"" + user +
                              "\") => Maximum connections reached. Increase maxConnections in "
                              "the configuration. RefId: S00006",
                          nlohmann::json::array());
        break;
      case login_result::kind::drop:
      case login_result::kind::http_error:
        status = static_cast<http::status>(r.status);
        content_type = "text/plain";
        answer = "ddb-emulator: injected login failure\n";
        break;
    }
    const auto answered =
        co_await send_text(status, std::move(answer), content_type, keep_alive, {});
    co_return answered;
  }

  // Reads the rest of the request into `sink` through a fixed buffer.
  asio::awaitable<bool> read_body(http::request_parser<http::empty_body>& hp, body_sink& sink) {
    http::request_parser<http::buffer_body> bp{std::move(hp)};
    bp.body_limit(boost::none);
    while (!bp.is_done()) {
      bp.get().body().data = chunk_.data();
      bp.get().body().size = chunk_.size();
      auto [ec, n] = co_await http::async_read(s_, buf_, bp, use_tuple);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) co_return false;
      sink.add(chunk_.data(), chunk_.size() - bp.get().body().size);
    }
    co_return true;
  }

  asio::awaitable<bool> send_text(http::status status, std::string body,
                                  std::string_view content_type, bool keep_alive,
                                  const header_list& extra) {
    http::response<http::string_body> res{status, 11};
    res.set(http::field::server, "ddb-emulator");
    res.set(http::field::content_type, content_type);
    for (const auto& [k, v] : extra) res.set(k, v);
    res.body() = std::move(body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(s_, res, use_tuple);
    co_return !ec && keep_alive;
  }

  // Streams a body produced piecewise by `source` (0 = end) with
  // Content-Length `length` or chunked framing.
  asio::awaitable<bool> send_streamed(header_list extra, bool chunked, std::uint64_t length,
                                      bool keep_alive,
                                      std::function<std::size_t(char*, std::size_t)> source) {
    http::response<http::buffer_body> res{http::status::ok, 11};
    res.set(http::field::server, "ddb-emulator");
    for (const auto& [k, v] : extra) res.set(k, v);
    if (chunked) {
      res.chunked(true);
    } else {
      res.content_length(length);
    }
    res.keep_alive(keep_alive);
    http::response_serializer<http::buffer_body> sr{res};
    auto [ec, n] = co_await http::async_write_header(s_, sr, use_tuple);
    if (ec) co_return false;
    if (head_request_) co_return keep_alive;  // HEAD: the head only (RFC 9110 9.3.2)
    for (;;) {
      const std::size_t got = source(chunk_.data(), chunk_.size());
      res.body().data = got ? chunk_.data() : nullptr;
      res.body().size = got;
      res.body().more = got != 0;
      auto [wec, wn] = co_await http::async_write(s_, sr, use_tuple);
      if (wec == http::error::need_buffer) wec = {};
      if (wec) co_return false;
      if (got == 0 || sr.is_done()) break;
    }
    co_return keep_alive;
  }

  Stream& s_;
  server_context& ctx_;
  beast::flat_buffer buf_;
  std::vector<char> chunk_;
  bool head_request_ = false;
  bool idle_closed_ = false;  // the last read ended on idle_timeout_ms
};

}  // namespace

asio::awaitable<void> serve_plain(tcp::socket socket, std::shared_ptr<server_context> ctx) {
  beast::tcp_stream stream(std::move(socket));
  connection<beast::tcp_stream> c(stream, *ctx);
  co_await c.run();
}

asio::awaitable<void> serve_tls(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
                                std::shared_ptr<server_context> ctx) {
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
  stream.next_layer().expires_after(std::chrono::seconds(10));
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
  if (ec) {
    if (ctx->verbose) std::cerr << "ddb-emulator: TLS handshake failed: " << ec.message() << '\n';
    co_return;
  }
  stream.next_layer().expires_never();
  connection<beast::ssl_stream<beast::tcp_stream>> c(stream, *ctx);
  co_await c.run();
}

}  // namespace tpp::emulator
