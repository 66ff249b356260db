// peek_read_state and try_read on a connected stream socket pair: what a
// read would find (nothing consumed), and a read that never waits.
#include "net/peek.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace tpp::net {
namespace {

struct socket_pair {
  int fd[2] = {-1, -1};
  socket_pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0); }
  ~socket_pair() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  socket_pair(const socket_pair&) = delete;
  socket_pair& operator=(const socket_pair&) = delete;
};

TEST(peek_read_state, nothing_sent_yet) {
  socket_pair p;
  EXPECT_EQ(peek_read_state(p.fd[0]), read_state::nothing);
}

TEST(peek_read_state, bytes_waiting_stay_unread) {
  socket_pair p;
  ASSERT_EQ(::send(p.fd[1], "ab", 2, 0), 2);
  EXPECT_EQ(peek_read_state(p.fd[0]), read_state::bytes);
  char got[2] = {};
  EXPECT_EQ(::recv(p.fd[0], got, sizeof got, 0), 2);
  EXPECT_EQ(std::string(got, 2), "ab");
  EXPECT_EQ(peek_read_state(p.fd[0]), read_state::nothing);
}

TEST(peek_read_state, peer_closed) {
  socket_pair p;
  ::close(p.fd[1]);
  p.fd[1] = -1;
  EXPECT_EQ(peek_read_state(p.fd[0]), read_state::closed);
}

TEST(peek_read_state, not_a_socket_is_an_error) {
  EXPECT_EQ(peek_read_state(-1), read_state::error);
}

TEST(try_read, nothing_sent_yet_returns_at_once) {
  socket_pair p;
  char buf[8];
  std::size_t n = 99;
  EXPECT_EQ(try_read(p.fd[0], buf, sizeof buf, n), read_state::nothing);
  EXPECT_EQ(n, 0u);
}

TEST(try_read, bytes_waiting_are_consumed) {
  socket_pair p;
  ASSERT_EQ(::send(p.fd[1], "abc", 3, 0), 3);
  char buf[8] = {};
  std::size_t n = 0;
  EXPECT_EQ(try_read(p.fd[0], buf, sizeof buf, n), read_state::bytes);
  EXPECT_EQ(std::string(buf, n), "abc");
  EXPECT_EQ(peek_read_state(p.fd[0]), read_state::nothing);
}

TEST(try_read, reads_no_more_than_capacity) {
  socket_pair p;
  ASSERT_EQ(::send(p.fd[1], "abcdef", 6, 0), 6);
  char buf[4] = {};
  std::size_t n = 0;
  EXPECT_EQ(try_read(p.fd[0], buf, 4, n), read_state::bytes);
  EXPECT_EQ(std::string(buf, n), "abcd");
  EXPECT_EQ(try_read(p.fd[0], buf, 4, n), read_state::bytes);
  EXPECT_EQ(std::string(buf, n), "ef");
}

TEST(try_read, peer_closed) {
  socket_pair p;
  ::close(p.fd[1]);
  p.fd[1] = -1;
  char buf[8];
  std::size_t n = 99;
  EXPECT_EQ(try_read(p.fd[0], buf, sizeof buf, n), read_state::closed);
  EXPECT_EQ(n, 0u);
}

TEST(try_read, not_a_socket_is_an_error) {
  char buf[8];
  std::size_t n = 0;
  EXPECT_EQ(try_read(-1, buf, sizeof buf, n), read_state::error);
}

}  // namespace
}  // namespace tpp::net
