// The worker's store of closed connections' read buffers
// (src/proxy/spare_buffers.hpp): small ones come back empty, with their room;
// big ones and any beyond the cap go back to the allocator.
#include "proxy/spare_buffers.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace tpp::proxy {
namespace {

boost::beast::flat_buffer holding(std::string_view bytes) {
  boost::beast::flat_buffer b;
  auto room = b.prepare(bytes.size());
  std::memcpy(room.data(), bytes.data(), bytes.size());
  b.commit(bytes.size());
  return b;
}

TEST(spare_buffers, none_kept_gives_a_buffer_without_room) {
  spare_buffers s;
  EXPECT_EQ(s.take().capacity(), 0u);
}

TEST(spare_buffers, a_kept_buffer_comes_back_empty_with_its_room) {
  spare_buffers s;
  auto b = holding(std::string(4096, 'x'));
  const auto room = b.capacity();
  s.give(b);
  EXPECT_EQ(b.capacity(), 0u);  // the storage moved to the store
  ASSERT_EQ(s.size(), 1u);
  auto again = s.take();
  EXPECT_EQ(again.size(), 0u);  // no byte of the closed connection
  EXPECT_EQ(again.capacity(), room);
  EXPECT_EQ(s.size(), 0u);
}

TEST(spare_buffers, big_or_empty_buffers_are_not_kept) {
  spare_buffers s;
  auto big = holding(std::string(spare_buffers::max_capacity + 1, 'x'));
  s.give(big);
  boost::beast::flat_buffer none;
  s.give(none);
  EXPECT_EQ(s.size(), 0u);
}

TEST(spare_buffers, keeps_at_most_max_kept) {
  spare_buffers s;
  for (std::size_t i = 0; i < spare_buffers::max_kept + 5; ++i) {
    auto b = holding("abc");
    s.give(b);
  }
  EXPECT_EQ(s.size(), spare_buffers::max_kept);
}

}  // namespace
}  // namespace tpp::proxy
