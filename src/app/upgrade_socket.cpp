#include "app/upgrade_socket.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "common/log_exception.hpp"
#include "net/fd_passing.hpp"

namespace tpp::app {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A successor that connected must say what it wants within this long.
constexpr auto hello_timeout = 5s;

std::optional<ucred> peer_credentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return std::nullopt;
  return cred;
}

// Listening sockets go only to the same user, or to root.
bool trusted(const ucred& peer) {
  return peer.uid == ::geteuid() || peer.uid == 0;
}

std::string first_line(std::string_view text) {
  const auto nl = text.find('\n');
  return std::string(text.substr(0, nl));
}

// Whether a tpp (or anything) answers on the unix socket at `path` now.
bool someone_listens(const sockaddr_un& addr) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    throw std::runtime_error("upgrade.socket '" + path + "': a unix socket path must be 1 to " +
                             std::to_string(sizeof addr.sun_path - 1) + " characters");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

// ---- the running side ---------------------------------------------------------

struct upgrade_listener::state {
  state(asio::io_context& i, std::string p, hooks hk)
      : io(i), path(std::move(p)), h(std::move(hk)), acceptor(i) {}
  asio::io_context& io;
  std::string path;
  hooks h;
  local::acceptor acceptor;
  bool busy = false;  // one take-over at a time
};

namespace {

using state_ptr = std::shared_ptr<upgrade_listener::state>;

}  // namespace

// One successor's take-over, from its hello to the BYE.
static asio::awaitable<void> converse(state_ptr s, local::socket sock, ucred peer) {
  s->busy = true;
  struct not_busy {
    upgrade_listener::state& s;
    ~not_busy() { s.busy = false; }
  } guard{*s};
  std::string in;
  asio::steady_timer hello(s->io, hello_timeout);
  hello.async_wait([&sock](boost::system::error_code ec) {
    if (!ec) sock.close(ec);  // silent successor: the read below fails
  });
  auto [ec, n] = co_await asio::async_read_until(sock, asio::dynamic_buffer(in), '\n', use_tuple);
  hello.cancel();
  if (ec || first_line(in).rfind("TAKE-OVER", 0) != 0) co_return;
  in.erase(0, n);
  const auto set = s->h.listeners();
  if (!set) {
    co_await asio::async_write(sock, asio::buffer(std::string_view("REFUSED shutting down\n")),
                               use_tuple);
    co_return;
  }
  std::vector<int> fds = set->proxy;
  fds.insert(fds.end(), set->health.begin(), set->health.end());
  const auto text = "LISTENERS " + std::to_string(set->proxy.size()) + " " +
                    std::to_string(set->health.size()) + "\n";
  if (!net::send_with_fds(sock.native_handle(), text, fds)) {
    spdlog::warn("upgrade: cannot hand the listeners to pid {}: {}", peer.pid,
                 std::strerror(errno));
    co_return;
  }
  spdlog::info("upgrade: handed {} listening socket(s) to pid {}; serving until it is ready",
               fds.size(), peer.pid);
  auto [rec, rn] = co_await asio::async_read_until(sock, asio::dynamic_buffer(in), '\n', use_tuple);
  if (rec || first_line(in) != "READY") {
    spdlog::warn("upgrade: pid {} ended the take-over before it was ready; this process serves on",
                 peer.pid);
    co_return;
  }
  // Closed before BYE: the successor binds the path once it hears it.
  boost::system::error_code ignored;
  s->acceptor.close(ignored);
  s->h.successor_ready(peer.pid);
  co_await asio::async_write(sock, asio::buffer(std::string_view("BYE\n")), use_tuple);
}

static asio::awaitable<void> accept_successors(state_ptr s) {
  for (;;) {
    auto [ec, sock] = co_await s->acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted || !s->acceptor.is_open()) co_return;
    if (ec) continue;  // the peer left before it was accepted
    const auto peer = peer_credentials(sock.native_handle());
    if (!peer || !trusted(*peer)) {
      spdlog::warn("upgrade: refused a take-over from pid {} (uid {}): another user",
                   peer ? peer->pid : 0, peer ? peer->uid : 0);
      continue;
    }
    if (s->busy) {
      co_await asio::async_write(
          sock, asio::buffer(std::string_view("REFUSED another take-over is under way\n")),
          use_tuple);
      continue;
    }
    asio::co_spawn(s->io, converse(s, std::move(sock), *peer), log_exception{"upgrade socket"});
  }
}

upgrade_listener::upgrade_listener(asio::io_context& io, std::string path, hooks h)
    : state_(std::make_shared<state>(io, std::move(path), std::move(h))) {}

upgrade_listener::~upgrade_listener() {
  stop();
}

void upgrade_listener::start() {
  auto& s = *state_;
  const auto addr = unix_address(s.path);
  if (someone_listens(addr)) {
    throw std::runtime_error("upgrade.socket " + s.path +
                             ": a running tpp answers there; start this one with --take-over to "
                             "take its listeners over, or give it another path");
  }
  ::unlink(s.path.c_str());  // a stale file from a process that ended
  boost::system::error_code ec;
  s.acceptor.open(local(), ec);
  if (!ec) s.acceptor.bind(local::endpoint(s.path), ec);
  if (!ec) s.acceptor.listen(4, ec);
  if (ec) throw std::runtime_error("upgrade.socket " + s.path + ": " + ec.message());
  ::chmod(s.path.c_str(), 0600);
  asio::co_spawn(s.io, accept_successors(state_), log_exception{"upgrade socket"});
}

void upgrade_listener::stop() {
  auto& s = *state_;
  if (!s.acceptor.is_open()) return;  // after a take-over the path is the successor's
  boost::system::error_code ignored;
  s.acceptor.close(ignored);
  ::unlink(s.path.c_str());
}

// ---- the new side ------------------------------------------------------------------

namespace {

// Parses "LISTENERS <proxy> <health>" and splits the descriptors that came
// with it; false when they do not add up.
bool split_listeners(const std::string& line, std::vector<int>& fds, listener_set& out) {
  std::size_t proxy = 0, health = 0;
  if (std::sscanf(line.c_str(), "LISTENERS %zu %zu", &proxy, &health) != 2) return false;
  if (proxy + health != fds.size() || health > 1) return false;
  out.proxy.assign(fds.begin(), fds.begin() + static_cast<std::ptrdiff_t>(proxy));
  out.health.assign(fds.begin() + static_cast<std::ptrdiff_t>(proxy), fds.end());
  return true;
}

void close_all(const std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
}

}  // namespace

predecessor predecessor::connect(const std::string& path, std::chrono::milliseconds timeout) {
  const auto addr = unix_address(path);
  predecessor p;
  p.fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (p.fd_ < 0 || ::connect(p.fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string why = std::strerror(errno);
    throw std::runtime_error("--take-over: no tpp answers at upgrade.socket " + path + " (" + why +
                             "); start without --take-over when none is running");
  }
  if (const auto peer = peer_credentials(p.fd_)) p.pid_ = peer->pid;
  const std::string hello = "TAKE-OVER " + std::to_string(::getpid()) + "\n";
  auto got = net::send_with_fds(p.fd_, hello, {}) ? net::receive_with_fds(p.fd_, 64, timeout)
                                                  : net::received{};
  const auto line = first_line(got.text);
  if (got.ok && line.rfind("REFUSED", 0) == 0) {
    close_all(got.fds);
    throw std::runtime_error("--take-over: the tpp at " + path + " refused: " + line.substr(8));
  }
  if (!got.ok || !split_listeners(line, got.fds, p.listeners_)) {
    close_all(got.fds);
    throw std::runtime_error("--take-over: the tpp at " + path +
                             " did not hand its listeners over; it keeps serving");
  }
  return p;
}

predecessor::predecessor(predecessor&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), pid_(o.pid_), listeners_(std::move(o.listeners_)) {}

predecessor& predecessor::operator=(predecessor&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    pid_ = o.pid_;
    listeners_ = std::move(o.listeners_);
  }
  return *this;
}

predecessor::~predecessor() {
  if (fd_ >= 0) ::close(fd_);
  close_all(listeners_.proxy);
  close_all(listeners_.health);
}

bool predecessor::release(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return false;
  const bool sent = net::send_with_fds(fd_, "READY\n", {});
  const auto got = sent ? net::receive_with_fds(fd_, 0, timeout) : net::received{};
  ::close(std::exchange(fd_, -1));
  return got.ok && first_line(got.text) == "BYE";
}

}  // namespace tpp::app
