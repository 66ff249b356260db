#include "proxy/relay.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffer_traits.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <cerrno>

#include "metrics/registry.hpp"
#include "net/client_stream.hpp"
#include "net/upstream_stream.hpp"
#include "proxy/wire.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_spare_buffers = 16;

// How much one read asks for while a body streams: what is left of a sized
// body, within [4 KiB, 64 KiB]; 16 KiB for a chunked or close-delimited one.
std::size_t read_size(boost::optional<std::uint64_t> remaining) {
  if (!remaining) return 16 * 1024;
  return static_cast<std::size_t>(std::clamp<std::uint64_t>(*remaining, 4096, relay_buffers::size));
}

// The TCP socket under a stream that is plain TCP, else null: TLS must see
// every byte.
tcp::socket* plain_socket(net::client_stream& s) noexcept {
  return s.is_tls() ? nullptr : &s.socket();
}
tcp::socket* plain_socket(net::upstream_stream& s) noexcept {
  return s.is_tls() ? nullptr : &s.tcp().socket();
}

// A write to a plain socket is first tried at once, with one non-blocking
// sendmsg: a usual head and body fit the socket's send buffer. Through
// async_write the same write cost an operation, a trip through the scheduler
// to resume the coroutine, and (as that completion queues behind the
// reactor) one more epoll_wait per round of events. What the socket does not
// take now is left in `rest` for async_write. Returns false on a failure
// (`ec`), which async_write would have reported the same way.
template <class Stream>
bool send_now(Stream& s, beast::buffers_suffix<body_piece::buffers>& rest,
              boost::system::error_code& ec) {
  auto* sock = plain_socket(s);
  if (sock == nullptr) return true;
  std::array<iovec, std::tuple_size_v<body_piece::buffers>> iov{};
  std::size_t count = 0;
  std::size_t total = 0;
  for (const auto b : rest) {
    if (b.size() == 0) continue;
    iov[count].iov_base = const_cast<void*>(b.data());
    iov[count].iov_len = b.size();
    total += b.size();
    ++count;
  }
  if (total == 0) return true;
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = count;
  ssize_t n = 0;
  do {
    n = ::sendmsg(sock->native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    rest.consume(static_cast<std::size_t>(n));
    return true;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
  ec.assign(errno, asio::error::get_system_category());
  return false;
}

// What send_now() left: written with async_write under the deadline. A
// coroutine of its own only on this slow path (a full socket buffer); the
// usual write needs no frame.
template <class Stream>
asio::awaitable<boost::system::error_code> write_rest(
    Stream& s, beast::buffers_suffix<body_piece::buffers>& rest, io_deadline& d, io_limit limit) {
  d.arm(limit.phase, limit.timeout);
  auto [ec, n] = co_await asio::async_write(s, rest, use_tuple);
  d.disarm();
  co_return ec;
}

// Every socket operation below is bracketed by d.arm() and d.disarm() (a
// body read by read_pace's, which adds the minimum rate): the
// sweep enforces the deadline only while the operation is pending. (Written
// out at each place rather than wrapped in a coroutine: a coroutine frame
// per read or write showed in the instruction count of a request.) A write
// arms the deadline only when send_now() left something to wait for.

// A body sized by Content-Length and forwarded unchanged needs no parsing:
// its bytes go out straight from the input buffer, without a copy.
template <bool IsRequest, class In, class Out>
asio::awaitable<relay_result> relay_sized(relay_source<In, IsRequest> in, relay_sink<Out> out,
                                          std::string_view head, std::uint64_t remaining,
                                          io_deadline& d) {
  relay_result result;
  read_pace pace(in.limit);
  while (remaining > 0 || !head.empty()) {
    if (remaining > 0 && in.buf.size() == 0) {
      pace.arm(d, result.bytes);
      auto [ec, n] =
          co_await in.stream.async_read_some(in.buf.prepare(read_size(remaining)), use_tuple);
      pace.disarm(d);
      in.buf.commit(n);
      if (ec == asio::error::eof) ec = http::error::partial_message;
      if (ec) {
        result.ec = ec;
        result.in_failed = true;
        co_return result;
      }
      continue;
    }
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(in.buf.size(), remaining));
    const body_piece piece({static_cast<const char*>(in.buf.data().data()), take}, false, false);
    beast::buffers_suffix<body_piece::buffers> rest(piece.with_head(head));
    boost::system::error_code ec;
    if (send_now(out.stream, rest, ec) && beast::buffer_bytes(rest) > 0) {
      ec = co_await write_rest(out.stream, rest, d, out.limit);
    }
    if (ec) {
      result.ec = ec;
      co_return result;
    }
    in.buf.consume(take);
    remaining -= take;
    result.bytes += take;
    head = {};
  }
  result.complete = true;
  co_return result;
}

// A big sized body between plain sockets: the head and what is already
// buffered go out with one normal write, the rest is spliced kernel to
// kernel. Exactly the body's length is moved, so a pipelined message behind
// it stays in the socket for the next read.
template <bool IsRequest, class In, class Out>
asio::awaitable<relay_result> relay_spliced(relay_source<In, IsRequest> in, relay_sink<Out> out,
                                            std::string_view head, std::uint64_t remaining,
                                            io_deadline& d, pipe_pool::lent pipe) {
  relay_result result;
  const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(in.buf.size(), remaining));
  const body_piece piece({static_cast<const char*>(in.buf.data().data()), take}, false, false);
  d.arm(out.limit.phase, out.limit.timeout);
  auto [ec, n] = co_await asio::async_write(out.stream, piece.with_head(head), use_tuple);
  d.disarm();
  if (ec) {
    result.ec = ec;
    co_return result;
  }
  in.buf.consume(take);
  remaining -= take;
  result.bytes = take;
  if (remaining > 0) {
    auto s = co_await splice_body(*plain_socket(in.stream), *plain_socket(out.stream), remaining,
                                  in.limit, out.limit, d, std::move(pipe));
    metrics::registry::global().on_spliced_bytes(s.bytes);
    result.bytes += s.bytes;
    if (s.ec) {
      result.ec = s.ec;
      result.in_failed = s.in_failed;
      co_return result;
    }
  }
  result.complete = true;
  co_return result;
}

// Any other body goes through the parser (which removes chunk framing) into
// `scratch`, and out again, re-chunked when the sink says so.
template <bool IsRequest, class In, class Out>
asio::awaitable<relay_result> relay_parsed(relay_source<In, IsRequest> in, relay_sink<Out> out,
                                           std::string_view head, io_deadline& d,
                                           relay_buffers& buffers) {
  const relay_buffers::lent held(buffers);
  char* const scratch = held.data();
  relay_result result;
  read_pace pace(in.limit);
  for (;;) {
    std::size_t got = 0;
    if (!in.parser.is_done()) {
      auto step = parse_body(in.parser, in.buf, scratch, relay_buffers::size);
      got = step.produced;
      auto ec = step.ec;
      if (!ec && got == 0 && !in.parser.is_done()) {
        const auto want = read_size(in.parser.content_length_remaining());
        pace.arm(d, result.bytes);
        auto [rec, n] = co_await in.stream.async_read_some(in.buf.prepare(want), use_tuple);
        pace.disarm(d);
        in.buf.commit(n);
        ec = rec;
        if (ec == asio::error::eof) in.parser.put_eof(ec);  // ends a close-delimited body
        if (!ec) continue;
      }
      if (ec) {
        result.ec = ec;
        result.in_failed = true;
        co_return result;
      }
    }
    result.bytes += got;
    const bool last = in.parser.is_done();
    const body_piece piece({scratch, got}, out.chunked, last);
    beast::buffers_suffix<body_piece::buffers> rest(piece.with_head(head));
    boost::system::error_code ec;
    if (send_now(out.stream, rest, ec) && beast::buffer_bytes(rest) > 0) {
      ec = co_await write_rest(out.stream, rest, d, out.limit);
    }
    if (ec) {
      result.ec = ec;
      co_return result;
    }
    head = {};
    if (last) {
      result.complete = true;
      co_return result;
    }
  }
}

}  // namespace

std::unique_ptr<char[]> relay_buffers::take() {
  // Not zeroed: it is always written before it is read.
  if (spare_.empty()) return std::unique_ptr<char[]>(new char[size]);
  auto b = std::move(spare_.back());
  spare_.pop_back();
  return b;
}

void relay_buffers::give(std::unique_ptr<char[]> b) {
  if (spare_.size() < max_spare_buffers) spare_.push_back(std::move(b));
}

template <class Stream, bool IsRequest>
asio::awaitable<head_read> read_head(Stream& s, beast::flat_buffer& buf,
                                     http::parser<IsRequest, http::buffer_body>& p,
                                     head_guard& guard, io_deadline& d, io_limit limit) {
  head_read result;
  // A whole-step limit runs from the step's start.
  const auto until = limit.whole ? io_deadline::now() + limit.timeout : clock::time_point{};
  for (;;) {
    if (buf.size() > 0) {
      auto step = guard.put(p, {static_cast<const char*>(buf.data().data()), buf.size()});
      buf.consume(step.used);
      result.verdict = step.verdict;
      if (!step.verdict.ok || step.done) co_return result;
    }
    if (limit.whole) {
      d.arm_at(limit.phase, until);
    } else {
      d.arm(limit.phase, limit.timeout);
    }
    auto [ec, n] =
        co_await s.async_read_some(buf.prepare(std::max<std::size_t>(4096, buf.size())), use_tuple);
    d.disarm();
    buf.commit(n);
    result.ec = ec;
    if (ec) co_return result;
  }
}

template <class Stream, bool IsRequest>
asio::awaitable<boost::system::error_code> read_body(Stream& s, beast::flat_buffer& buf,
                                                     http::parser<IsRequest, http::buffer_body>& p,
                                                     char* dst, std::size_t capacity,
                                                     std::size_t& filled, io_deadline& d,
                                                     io_limit limit) {
  read_pace pace(limit);
  for (;;) {
    auto step = parse_body(p, buf, dst + filled, capacity - filled);
    filled += step.produced;
    if (step.ec) co_return step.ec;
    if (p.is_done() || filled == capacity) co_return boost::system::error_code{};
    pace.arm(d, filled);
    auto [rec, n] =
        co_await s.async_read_some(buf.prepare(read_size(p.content_length_remaining())), use_tuple);
    pace.disarm(d);
    buf.commit(n);
    auto ec = rec;
    if (ec == asio::error::eof) p.put_eof(ec);  // ends a close-delimited body, or cut short
    if (ec) co_return ec;
  }
}

template <class Stream>
asio::awaitable<boost::system::error_code> send_whole(Stream& s, std::string_view head,
                                                      std::string_view body, bool chunked,
                                                      io_deadline& d, io_limit limit) {
  const body_piece piece(body, chunked, true);
  beast::buffers_suffix<body_piece::buffers> rest(piece.with_head(head));
  boost::system::error_code ec;
  if (send_now(s, rest, ec) && beast::buffer_bytes(rest) > 0) {
    ec = co_await write_rest(s, rest, d, limit);
  }
  co_return ec;
}

// Not a coroutine: it hands back the one that does the work, one frame less.
template <bool IsRequest, class In, class Out>
asio::awaitable<relay_result> relay(relay_source<In, IsRequest> in, relay_sink<Out> out,
                                    std::string_view head, io_deadline& d, relay_buffers& buffers) {
  // A message with no body to follow (a response to HEAD, 204, 304, or a
  // zero length) is its head alone, whatever its framing fields say.
  const auto length = in.parser.is_done() ? boost::optional<std::uint64_t>(0)
                                          : in.parser.content_length_remaining();
  if (length && (!out.chunked || in.parser.is_done())) {
    if (out.may_splice && *length >= splice_min_body && plain_socket(in.stream) &&
        plain_socket(out.stream)) {
      if (auto pipe = buffers.pipes().take()) {
        return relay_spliced(in, out, head, *length, d, std::move(*pipe));
      }
    }
    return relay_sized(in, out, head, *length, d);
  }
  return relay_parsed(in, out, head, d, buffers);
}

// The two directions of a proxied exchange.
template asio::awaitable<head_read> read_head(net::client_stream&, beast::flat_buffer&,
                                              request_parser&, head_guard&, io_deadline&, io_limit);
template asio::awaitable<head_read> read_head(net::upstream_stream&, beast::flat_buffer&,
                                              response_parser&, head_guard&, io_deadline&,
                                              io_limit);
template asio::awaitable<boost::system::error_code> read_body(net::client_stream&,
                                                              beast::flat_buffer&, request_parser&,
                                                              char*, std::size_t, std::size_t&,
                                                              io_deadline&, io_limit);
template asio::awaitable<boost::system::error_code> read_body(net::upstream_stream&,
                                                              beast::flat_buffer&, response_parser&,
                                                              char*, std::size_t, std::size_t&,
                                                              io_deadline&, io_limit);
template asio::awaitable<boost::system::error_code> send_whole(net::client_stream&,
                                                               std::string_view, std::string_view,
                                                               bool, io_deadline&, io_limit);
template asio::awaitable<boost::system::error_code> send_whole(net::upstream_stream&,
                                                               std::string_view, std::string_view,
                                                               bool, io_deadline&, io_limit);
template asio::awaitable<relay_result> relay(relay_source<net::client_stream, true>,
                                             relay_sink<net::upstream_stream>, std::string_view,
                                             io_deadline&, relay_buffers&);
template asio::awaitable<relay_result> relay(relay_source<net::upstream_stream, false>,
                                             relay_sink<net::client_stream>, std::string_view,
                                             io_deadline&, relay_buffers&);

}  // namespace tpp::proxy
