#include "proxy/server.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <stdexcept>

#include "net/listener_fd.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// An IP address as it is; a host name ("localhost") resolved once, as the
// health listener does, to its first address (docs/configuration.md, "Keys").
tcp::endpoint resolve(const config::address& a, const std::string& where) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(a.host, ec);
  if (!ec) return {address, a.port};
  asio::io_context io;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(a.host, std::to_string(a.port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    throw std::runtime_error(
        where + ": cannot resolve host: " + (ec ? ec.message() : std::string("no address")));
  }
  return results.begin()->endpoint();
}

}  // namespace

server::server(proxy_context& ctx) : ctx_(ctx) {
  std::size_t n = ctx.cfg.workers;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<worker>(ctx, i));
}

server::~server() {
  force_close();
  join();
}

void server::listen(const std::vector<int>& inherited) {
  const auto& a = ctx_.cfg.listen;
  const std::string where = "listen " + a.to_string();
  const tcp::endpoint ep = resolve(a, where);
  const auto adopted = adopt(inherited, ep);
  if (adopted == 0) probe_bind(ep, where);
  try {
    for (std::size_t i = adopted; i < workers_.size(); ++i) workers_[i]->listen(ep);
  } catch (const std::system_error& e) {
    throw std::runtime_error(where + ": " + e.code().message());
  }
}

// SO_REUSEPORT would let us share the port with another process that also
// set it; a plain bind first makes "address in use" an error as users expect.
// A successor that means to share takes the sockets over instead (adopt).
void server::probe_bind(const tcp::endpoint& ep, const std::string& where) {
  boost::system::error_code ec;
  tcp::acceptor probe(workers_.front()->io());
  probe.open(ep.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(ep, ec);
  if (ec) throw std::runtime_error(where + ": " + ec.message());
}

// Every inherited socket still bound to the listen address is accepted on,
// round-robin over the workers: one left without an accept loop would hold
// its share of new connections unanswered. Returns how many workers got one.
std::size_t server::adopt(const std::vector<int>& inherited, const tcp::endpoint& ep) {
  std::size_t n = 0;
  for (int fd : inherited) {
    const auto bound = net::bound_endpoint(fd);
    if (!bound || !net::same_listener(*bound, ep)) {
      spdlog::warn("take-over: an inherited socket is not bound to {}; closing it",
                   ctx_.cfg.listen.to_string());
      ::close(fd);
      continue;
    }
    workers_[n % workers_.size()]->adopt(fd, *bound);
    ++n;
  }
  return std::min(n, workers_.size());
}

std::vector<int> server::listening_fds() const {
  std::vector<int> fds;
  for (const auto& w : workers_) {
    fds.insert(fds.end(), w->listening_fds().begin(), w->listening_fds().end());
  }
  return fds;
}

void server::start() {
  for (auto& w : workers_) {
    w->start();
    threads_.emplace_back([this, &io = w->io()] {
      io.run();
      std::lock_guard lock(ended_mu_);
      ++ended_;
      ended_cv_.notify_all();
    });
  }
}

void server::begin_shutdown() {
  for (auto& w : workers_) w->begin_shutdown();
}

void server::force_close() {
  for (auto& w : workers_) w->force_close();
}

void server::join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::size_t server::join_until(std::chrono::steady_clock::time_point deadline) {
  std::size_t stopped = 0;
  {
    std::unique_lock lock(ended_mu_);
    if (!ended_cv_.wait_until(lock, deadline, [this] { return ended_ >= threads_.size(); })) {
      stopped = threads_.size() - ended_;
      // Which ones are stuck is not tracked: stopping an ended loop is harmless.
      for (auto& w : workers_) w->stop_loop();
    }
  }
  join();
  return stopped;
}

std::size_t server::active_sessions() const {
  std::size_t n = 0;
  for (const auto& w : workers_) n += w->session_count();
  return n;
}

}  // namespace tpp::proxy
