#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tpp::test {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_response {
  unsigned status = 0;
  header_list headers;  // in the order received, names as sent
  std::string body;
  bool keep_alive = false;

  // The first header of that name (case-insensitive), "" if absent.
  std::string header(std::string_view name) const;
  std::size_t header_count(std::string_view name) const;
  bool has_header(std::string_view name) const { return header_count(name) > 0; }
};

// A transport failure: connect/TLS failure, timeout, a connection closed
// before a whole response arrived.
class http_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A blocking HTTP/1.1 client for tests: one connection at a time, kept alive
// between requests, re-opened when the server closed it. Every call has a
// deadline (timeout(), default 10 s) so a test never hangs. Not thread-safe:
// one client per thread.
class http_client {
 public:
  http_client(std::string host, std::uint16_t port);
  // HTTPS, verifying the server against the CA in `ca_file` and the host name
  // (or IP address) `host`.
  http_client(std::string host, std::uint16_t port, const std::string& ca_file);
  ~http_client();
  http_client(http_client&&) noexcept;
  http_client& operator=(http_client&&) noexcept;

  void set_timeout(std::chrono::milliseconds t);
  std::chrono::milliseconds timeout() const;

  // Sends one request and reads its response. Adds Host unless given, and
  // Content-Length for a body unless Content-Length or Transfer-Encoding is
  // given (with "Transfer-Encoding: chunked" the body goes as one chunk).
  // Throws http_error on a transport failure (including a short body).
  http_response request(std::string method, std::string target, header_list headers = {},
                        std::string body = "");

  // Connections opened from now on leave from this local address (bound
  // before connecting), e.g. "127.0.0.2"; empty = the system's choice.
  void set_source_address(std::string address);

  // Opens the connection now (a no-op when open). Throws http_error.
  void connect();
  // Writes bytes as they are, connecting first if needed: for malformed input.
  void send_raw(std::string_view bytes);
  // Reads one response (head_request: no body expected). nullopt on timeout,
  // a closed connection or unparsable bytes. The connection closes after a
  // response that is not keep-alive, except a 101 (it carries the new
  // protocol; send_raw and closed_by_peer go on using it).
  std::optional<http_response> read_response(
      std::chrono::milliseconds timeout = std::chrono::seconds(10), bool head_request = false);
  // Waits for the server to close the connection: true when it did (bytes that
  // arrive first are discarded), false after `timeout` with the connection
  // still open and usable.
  bool closed_by_peer(std::chrono::milliseconds timeout);
  void close();
  bool is_open() const;
  // How many connections this client has opened so far (keep-alive checks).
  std::size_t connect_count() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace tpp::test
