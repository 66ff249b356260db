#pragma once

// Drives the real proxy session in-process: a worker, a token pool and one
// client connection over a socketpair, with an in-process DolphinDB stand-in
// on the upstream side (proxy_context::connect_upstream hands the session
// the other end of another socketpair). No listener, no port, no thread:
// run() spins the worker's io_context until the connection has ended.
//
// Used by the proxy unit tests and by the fuzz target, so both exercise the
// exact code that serves clients.
//
//   session_harness h;                        // defaults: 1 token, 200 "ok"
//   h.answer = [](const auto& req) { return upstream_reply::send(...); };
//   auto r = h.run("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
//   r.client_received, r.upstream_received, h.pool().counts()

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "pool/token_pool.hpp"
#include "proxy/proxy_context.hpp"
#include "proxy/worker.hpp"

namespace tpp::proxy::test {

namespace http = boost::beast::http;
using upstream_request = http::request<http::string_body>;

// What the stand-in does with one request it has read completely.
struct upstream_reply {
  enum class kind { send, close, hang, tunnel };
  kind what = kind::send;
  std::string bytes;         // the raw answer, for send
  bool close_after = false;  // close the connection after sending

  static upstream_reply send(std::string raw) { return {kind::send, std::move(raw)}; }
  // Closes the connection without answering.
  static upstream_reply close() { return {kind::close, {}}; }
  // Never answers (until the proxy closes the connection).
  static upstream_reply hang() { return {kind::hang, {}}; }
  // Sends `raw` (a 101 head, maybe with bytes of the new protocol after it),
  // then echoes every byte it reads (recorded in result::tunnel_received)
  // until the proxy sends FIN, then sends its own FIN. With close_after: closes
  // right after `raw` instead.
  static upstream_reply tunnel(std::string raw) { return {kind::tunnel, std::move(raw)}; }
};

// "HTTP/1.1 <status> ...", Content-Length framed, with `body` (none for HEAD).
std::string plain_response(unsigned status, std::string_view body, bool head_request = false);

class session_harness {
 public:
  struct result {
    std::string client_received;                      // every byte the client got
    std::vector<upstream_request> upstream_received;  // complete requests, in order
    std::size_t upstream_connections = 0;             // connections the session opened
    bool finished = false;                            // the session ended within the run's bound
    std::string tunnel_received;                      // bytes the stand-in read after it sent a 101
    std::size_t upstreams_kept = 0;                   // idle upstream connections the worker kept
  };

  // `tokens` slots, each holding "token-<slot>". The config is tpp's default
  // with whatever `adjust` changes.
  explicit session_harness(std::size_t tokens = 1,
                           const std::function<void(config::config&)>& adjust = {});
  ~session_harness();
  session_harness(const session_harness&) = delete;
  session_harness& operator=(const session_harness&) = delete;

  // Sends `input` as one client connection, `step` bytes per write (0 = all
  // at once; between pieces the session gets to read), then closes the
  // client's sending side unless `keep_open`, and runs until the session has
  // ended (bounded by `limit`). The upstream connections the worker kept are
  // closed afterwards, so every run starts fresh.
  // `pause`: how long the client waits between pieces (a slow client);
  // zero lets the session read each piece first, without a delay.
  result run(std::string_view input, std::size_t step = 0, bool keep_open = false,
             std::chrono::milliseconds limit = std::chrono::seconds(10),
             std::chrono::milliseconds pause = std::chrono::milliseconds(0));

  // The stand-in's answer to each complete request (default: 200 "ok").
  std::function<upstream_reply(const upstream_request&)> answer;
  // When set, connecting upstream fails with this (errc::upstream_connect_failed
  // or errc::upstream_timeout).
  std::optional<boost::system::error_code> connect_error;
  // Refused tokens the session reported: (slot, generation).
  std::vector<std::pair<std::size_t, std::uint64_t>> auth_failures;
  // Whether a refused token gets a replacement (installed at once).
  bool replace_refused_tokens = true;
  // The client sends FIN once it has read the proxy's (as a WebSocket client
  // closes its socket when the server has closed).
  bool client_closes_on_eof = false;

  pool::token_pool& pool() { return *ctx_.pool; }
  proxy_context& ctx() { return ctx_; }
  worker& w() { return *worker_; }

  // Internal: the stand-in records here while a run is going.
  result* current_ = nullptr;

 private:
  proxy_context ctx_;
  std::unique_ptr<worker> worker_;
};

// The responses in `raw`, parsed in order by Beast (the client's view).
// `head_requests[i]` says the i-th final response answers a HEAD. Interim
// (1xx) responses are listed too. A response that does not parse ends the
// list with `complete` false.
struct client_response {
  unsigned status = 0;
  http::response<http::string_body> message;
};
struct parsed_responses {
  std::vector<client_response> responses;
  bool complete = true;  // every byte parsed into whole responses
  std::string error;     // why not
};
parsed_responses parse_responses(std::string_view raw, const std::vector<bool>& head_requests = {});

}  // namespace tpp::proxy::test
