#include "common/file_watch.hpp"

#include <sys/inotify.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <system_error>

namespace tpp {

namespace asio = boost::asio;

namespace {

constexpr std::uint32_t watched_events = IN_CLOSE_WRITE | IN_MOVED_TO;

std::pair<std::string, std::string> split_path(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// Whether one event of the folder concerns the file: its own name, or a
// Kubernetes atomic-writer link (`..data`, `..2026_12_02...`).
bool concerns(std::string_view event_name, std::string_view file_name) {
  return event_name == file_name || event_name.starts_with("..");
}

}  // namespace

struct file_watch::state : std::enable_shared_from_this<state> {
  state(asio::any_io_executor ex, std::string p, std::function<void()> cb)
      : path(std::move(p)), changed(std::move(cb)), fd(std::move(ex)) {}

  std::string path;
  std::function<void()> changed;
  asio::posix::stream_descriptor fd;
  alignas(inotify_event) std::array<char, 4096> buf{};
  bool stopped = false;

  void read_next() {
    fd.async_read_some(asio::buffer(buf), [self = shared_from_this()](
                                              const boost::system::error_code& ec, std::size_t n) {
      if (ec || self->stopped) return;
      if (self->any_concerns(n)) self->changed();
      self->read_next();
    });
  }

  bool any_concerns(std::size_t n) const {
    const auto file_name = split_path(path).second;
    bool hit = false;
    for (std::size_t at = 0; at + sizeof(inotify_event) <= n;) {
      inotify_event ev;
      std::memcpy(&ev, buf.data() + at, sizeof ev);
      const char* name = buf.data() + at + sizeof ev;
      if (ev.len > 0 && concerns(std::string_view(name, ::strnlen(name, ev.len)), file_name)) {
        hit = true;
      }
      at += sizeof ev + ev.len;
    }
    return hit;
  }
};

file_watch::file_watch(asio::any_io_executor ex, std::string path, std::function<void()> changed)
    : state_(std::make_shared<state>(std::move(ex), std::move(path), std::move(changed))) {}

file_watch::~file_watch() {
  stop();
}

void file_watch::start() {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  state_->fd.assign(fd);
  const auto folder = split_path(state_->path).first;
  if (::inotify_add_watch(fd, folder.c_str(), watched_events) < 0) {
    const int err = errno;
    state_->fd.close();
    throw std::system_error(err, std::generic_category(), "watching " + folder);
  }
  state_->read_next();
}

void file_watch::stop() {
  state_->stopped = true;
  boost::system::error_code ec;
  state_->fd.close(ec);
}

}  // namespace tpp
