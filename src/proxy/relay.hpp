#pragma once

// The socket steps of an exchange, free of any session state: read a head
// through the framing rules, read a body into memory, send a whole message,
// and relay a message from one stream to another through a fixed buffer
// (Beast's relay() example is the model). Each step arms the connection's
// deadline around every socket operation it makes.
//
// Instantiated for the two directions tpp uses: client socket -> upstream
// stream (requests) and upstream stream -> client socket (responses).

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "proxy/deadline.hpp"
#include "proxy/framing.hpp"
#include "proxy/splice.hpp"

namespace tpp::proxy {

// Spare 64 KiB buffers for streamed bodies, kept per worker so a busy
// connection does not allocate one per message, and the worker's spare
// pipes for spliced ones. Worker thread only.
class relay_buffers {
 public:
  static constexpr std::size_t size = 64 * 1024;

  pipe_pool& pipes() noexcept { return pipes_; }

  std::unique_ptr<char[]> take();
  void give(std::unique_ptr<char[]> b);

  // One buffer for a scope, given back on every way out of it.
  class lent {
   public:
    explicit lent(relay_buffers& from) : from_(from), buf_(from.take()) {}
    ~lent() { from_.give(std::move(buf_)); }
    lent(const lent&) = delete;
    lent& operator=(const lent&) = delete;
    char* data() const noexcept { return buf_.get(); }

   private:
    relay_buffers& from_;
    std::unique_ptr<char[]> buf_;
  };

 private:
  std::vector<std::unique_ptr<char[]>> spare_;
  pipe_pool pipes_;
};

struct head_read {
  boost::system::error_code ec;  // the read failed (timeout, peer gone)
  framing_verdict verdict;       // the head broke a framing rule
};

// Reads one message head from `s` into `p` through `guard`, using what `buf`
// already holds first. Done when ec is clear and verdict.ok.
template <class Stream, bool IsRequest>
boost::asio::awaitable<head_read> read_head(Stream& s, boost::beast::flat_buffer& buf,
                                            http::parser<IsRequest, http::buffer_body>& p,
                                            head_guard& guard, io_deadline& d, io_limit limit);

// Reads body bytes into [dst, dst + capacity) until the message is done or
// the destination is full; `filled` counts what arrived. Error: the read
// failed (timed out, peer gone) or the body broke its framing.
template <class Stream, bool IsRequest>
boost::asio::awaitable<boost::system::error_code> read_body(
    Stream& s, boost::beast::flat_buffer& buf, http::parser<IsRequest, http::buffer_body>& p,
    char* dst, std::size_t capacity, std::size_t& filled, io_deadline& d, io_limit limit);

// Sends `head` followed by a whole body kept in memory, in one write.
template <class Stream>
boost::asio::awaitable<boost::system::error_code> send_whole(Stream& s, std::string_view head,
                                                             std::string_view body, bool chunked,
                                                             io_deadline& d, io_limit limit);

struct relay_result {
  boost::system::error_code ec;
  std::uint64_t bytes = 0;  // body bytes read from the input
  bool in_failed = false;   // the reading side failed (else the writing side)
  bool complete = false;    // the whole message went out
};

// The reading side of a relay: a stream, what is buffered from it, the
// parser whose head is done, and the limit of each read.
template <class Stream, bool IsRequest>
struct relay_source {
  Stream& stream;
  boost::beast::flat_buffer& buf;
  http::parser<IsRequest, http::buffer_body>& parser;
  io_limit limit;
};

// The writing side: the stream, whether the body goes out re-chunked, the
// limit of each write, and whether a big body may be spliced (relay_splice).
template <class Stream>
struct relay_sink {
  Stream& stream;
  bool chunked;
  io_limit limit;
  bool may_splice = false;
};

// Sends `head` and streams the rest of the message from `in` to `out`. The
// head goes out with the first body piece (a small message already buffered
// leaves in one write). The next read waits for the last write: a slow side
// holds the other back, and memory stays at one buffer per direction.
// A body of at least splice_min_body bytes sized by Content-Length, between
// two plain TCP sockets, is spliced after what is already buffered.
template <bool IsRequest, class In, class Out>
boost::asio::awaitable<relay_result> relay(relay_source<In, IsRequest> in, relay_sink<Out> out,
                                           std::string_view head, io_deadline& d,
                                           relay_buffers& buffers);

}  // namespace tpp::proxy
