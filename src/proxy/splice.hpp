#pragma once

// Big bodies relayed kernel to kernel: a body sized by Content-Length moves
// from one plain TCP socket to the other through a pipe with splice(2), so
// its bytes are never copied into tpp's memory and back out
// (docs/performance.md, "Big bodies"). Readiness comes from Asio
// (async_wait), under the connection's deadline exactly as a copied body's
// reads and writes are; the splice calls themselves never block.
//
// Only plain TCP on both sides: TLS has to see the bytes to encrypt or
// decrypt them. Chunked bodies keep the copying relay (relay.cpp): their
// framing is parsed by Beast, which cannot be told that chunk data went
// past it.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "proxy/deadline.hpp"

namespace tpp::proxy {

// Bodies at least this long are spliced; shorter ones are cheaper to copy
// (a pipe round trip costs two system calls more than a read and a write).
inline constexpr std::uint64_t splice_min_body = 64 * 1024;

// Spare pipes for splicing, kept per worker so a connection does not make
// two descriptors per message. Worker thread only.
class pipe_pool {
 public:
  struct ends {
    int read = -1;
    int write = -1;
  };

  // A pipe for one body, given back when it is destroyed: to the pool when
  // it was left empty, else closed (bytes left in it belong to a body that
  // failed and must never reach another). Move-only.
  class lent {
   public:
    lent(pipe_pool& from, ends e) noexcept : from_(&from), ends_(e) {}
    lent(lent&& o) noexcept : held(o.held), from_(o.from_), ends_(o.ends_) { o.from_ = nullptr; }
    lent& operator=(lent&&) = delete;
    lent(const lent&) = delete;
    lent& operator=(const lent&) = delete;
    ~lent();
    const ends& fds() const noexcept { return ends_; }

    std::size_t held = 0;  // bytes in the pipe now

   private:
    pipe_pool* from_;
    ends ends_;
  };

  // The pipe's wished-for capacity (F_SETPIPE_SZ; the default 64 KiB stays
  // when the system refuses more).
  static constexpr int wanted_size = 1 << 20;

  pipe_pool() = default;
  pipe_pool(const pipe_pool&) = delete;
  pipe_pool& operator=(const pipe_pool&) = delete;
  ~pipe_pool();

  // A spare pipe, or a new one; nullopt when none can be made (out of
  // descriptors): the caller copies instead.
  std::optional<lent> take();

 private:
  void give(ends e, bool empty) noexcept;
  std::vector<ends> spare_;
};

struct splice_result {
  boost::system::error_code ec;
  std::uint64_t bytes = 0;  // bytes taken from `in`
  bool in_failed = false;   // the reading side failed (else the writing side)
};

// Moves exactly `length` bytes from `in` to `out` through `pipe`. Each wait
// for `in` is armed by a read_pace under `in_limit` (its timeout and
// minimum rate), each wait for `out` under `out_limit`. `in` ending early is
// http::error::partial_message.
boost::asio::awaitable<splice_result> splice_body(boost::asio::ip::tcp::socket& in,
                                                  boost::asio::ip::tcp::socket& out,
                                                  std::uint64_t length, io_limit in_limit,
                                                  io_limit out_limit, io_deadline& d,
                                                  pipe_pool::lent pipe);

}  // namespace tpp::proxy
