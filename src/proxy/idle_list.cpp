#include "proxy/idle_list.hpp"

#include <boost/asio/co_spawn.hpp>
#include <memory>

#include "common/log_exception.hpp"
#include "proxy/session_entry.hpp"
#include "proxy/worker.hpp"

namespace tpp::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// What one idle connection costs besides the wait operation and the socket's
// reactor state (docs/performance.md): 96 bytes.
struct idle_list::entry : entry_base {
  entry(client_socket s, const tcp::endpoint& p, clock::time_point t)
      : socket(std::move(s)), peer(p), since(t) {}
  client_socket socket;
  tcp::endpoint peer;
  clock::time_point since;
};

// Two pointers: the wait operation Asio allocates stays small.
struct idle_list::on_ready {
  idle_list* list;
  entry* e;
  void operator()(const boost::system::error_code& ec) const { list->ready(e, ec); }
};

void idle_list::hold(client_socket s, const tcp::endpoint& peer, clock::time_point now) {
  auto* e = new entry(std::move(s), peer, now);
  waiting_.push_back(*e);
  ++size_;
  e->socket.async_wait(tcp::socket::wait_read, on_ready{this, e});
}

// The wait ended: readable (or failed), or cancelled by close(). Either way
// the entry goes; a readable one lives on as a session.
void idle_list::ready(entry* e, const boost::system::error_code& ec) {
  std::unique_ptr<entry> owned(e);  // unlinks itself
  --size_;
  if (ec || !e->socket.is_open()) {
    boost::system::error_code ignored;
    e->socket.close(ignored);
    w_.connection_closed();
    return;
  }
  asio::co_spawn(w_.io(),
                 run_session(&w_, tcp::socket(std::move(e->socket)), e->peer, {.counted = true}),
                 log_exception{"proxy session"});
}

void idle_list::close(entry& e) {
  // Unlinked at once (the sweep walks only the waiting ones); destroyed when
  // the cancelled wait completes, or by clear().
  e.unlink();
  closing_.push_back(e);
  boost::system::error_code ec;
  e.socket.close(ec);
}

void idle_list::expire(clock::time_point cutoff) {
  while (!waiting_.empty()) {
    auto& e = static_cast<entry&>(waiting_.front());
    if (e.since > cutoff) return;  // arrival order: the rest are younger
    close(e);
  }
}

void idle_list::close_quiet() {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    auto& e = static_cast<entry&>(*it++);
    boost::system::error_code ec;
    if (e.socket.available(ec) > 0 && !ec) continue;
    close(e);
  }
}

void idle_list::close_all() {
  while (!waiting_.empty()) close(static_cast<entry&>(waiting_.front()));
}

void idle_list::clear() {
  for (auto* l : {&waiting_, &closing_}) {
    while (!l->empty()) {
      delete static_cast<entry*>(&l->front());  // its pending wait is destroyed with the io_context
      --size_;
      w_.connection_closed();
    }
  }
}

}  // namespace tpp::proxy
