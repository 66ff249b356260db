#include "proxy/splice.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>
#include <cerrno>

namespace tpp::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_spare_pipes = 8;
constexpr unsigned splice_flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

void close_pipe(const pipe_pool::ends& e) noexcept {
  ::close(e.read);
  ::close(e.write);
}

boost::system::error_code last_error() {
  return {errno, asio::error::get_system_category()};
}

// One non-blocking splice; -1 with errno EAGAIN when nothing could move now.
ssize_t move_some(int from, int to, std::uint64_t n) noexcept {
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(n, pipe_pool::wanted_size));
  ssize_t moved;
  do {
    moved = ::splice(from, nullptr, to, nullptr, want, splice_flags);
  } while (moved < 0 && errno == EINTR);
  return moved;
}

}  // namespace

pipe_pool::lent::~lent() {
  if (from_) from_->give(ends_, held == 0);
}

pipe_pool::~pipe_pool() {
  for (const auto& e : spare_) close_pipe(e);
}

std::optional<pipe_pool::lent> pipe_pool::take() {
  if (!spare_.empty()) {
    const auto e = spare_.back();
    spare_.pop_back();
    return lent(*this, e);
  }
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return std::nullopt;
  // Larger pipes mean fewer system calls per MiB; refused (EPERM above
  // fs.pipe-max-size, or the user's pipe quota used up) the default stays.
  (void)::fcntl(fds[1], F_SETPIPE_SZ, wanted_size);
  return lent(*this, {fds[0], fds[1]});
}

void pipe_pool::give(ends e, bool empty) noexcept {
  if (empty && spare_.size() < max_spare_pipes) {
    spare_.push_back(e);
  } else {
    close_pipe(e);
  }
}

asio::awaitable<splice_result> splice_body(tcp::socket& in, tcp::socket& out, std::uint64_t length,
                                           io_limit in_limit, io_limit out_limit, io_deadline& d,
                                           pipe_pool::lent pipe) {
  splice_result r;
  // Asio made both non-blocking at their first asynchronous operation; said
  // again so a splice can never block the worker.
  boost::system::error_code ec;
  in.native_non_blocking(true, ec);
  if (!ec) out.native_non_blocking(true, ec);
  if (ec) {
    r.ec = ec;
    co_return r;
  }
  read_pace pace(in_limit);
  std::uint64_t remaining = length;
  while (remaining > 0 || pipe.held > 0) {
    if (remaining > 0) {
      const auto n = move_some(in.native_handle(), pipe.fds().write, remaining);
      if (n > 0) {
        remaining -= static_cast<std::uint64_t>(n);
        pipe.held += static_cast<std::size_t>(n);
        r.bytes += static_cast<std::uint64_t>(n);
      } else if (n == 0 || errno != EAGAIN) {
        r.ec = n == 0 ? make_error_code(boost::beast::http::error::partial_message) : last_error();
        r.in_failed = true;
        co_return r;
      } else if (pipe.held == 0) {
        // Nothing to read and nothing to write: wait for the input.
        pace.arm(d, r.bytes);
        auto [wec] = co_await in.async_wait(tcp::socket::wait_read, use_tuple);
        pace.disarm(d);
        if (wec) {
          r.ec = wec;
          r.in_failed = true;
          co_return r;
        }
        continue;
      }
    }
    if (pipe.held == 0) continue;
    const auto n = move_some(pipe.fds().read, out.native_handle(), pipe.held);
    if (n > 0) {
      pipe.held -= static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      d.arm(out_limit.phase, out_limit.timeout);
      auto [wec] = co_await out.async_wait(tcp::socket::wait_write, use_tuple);
      d.disarm();
      if (wec) {
        r.ec = wec;
        co_return r;
      }
    } else {
      r.ec = n == 0 ? make_error_code(asio::error::broken_pipe) : last_error();
      co_return r;
    }
  }
  co_return r;
}

}  // namespace tpp::proxy
