#include "access/cidr.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>

#include "access/asio_address.hpp"

namespace tpp::access {
namespace {

cidr net(std::string_view text) {
  std::string why;
  auto c = parse_cidr(text, &why);
  EXPECT_TRUE(c) << text << ": " << why;
  return c.value_or(cidr{});
}

ip_bytes ip(std::string_view text) {
  auto a = parse_ip(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(ip_bytes{});
}

TEST(Cidr, Ipv4NetworkContainsItsAddressesOnly) {
  const auto c = net("10.0.0.0/8");
  EXPECT_TRUE(c.contains(ip("10.0.0.1")));
  EXPECT_TRUE(c.contains(ip("10.255.255.255")));
  EXPECT_FALSE(c.contains(ip("11.0.0.0")));
  EXPECT_FALSE(c.contains(ip("9.255.255.255")));
}

TEST(Cidr, PrefixNotOnAByteBoundary) {
  const auto c = net("192.168.4.0/22");
  EXPECT_TRUE(c.contains(ip("192.168.7.255")));
  EXPECT_FALSE(c.contains(ip("192.168.8.0")));
  EXPECT_FALSE(c.contains(ip("192.168.3.255")));
}

TEST(Cidr, BareAddressIsAHostRoute) {
  EXPECT_EQ(net("127.0.0.1").to_string(), "127.0.0.1/32");
  EXPECT_EQ(net("::1").to_string(), "::1/128");
  EXPECT_TRUE(net("127.0.0.1").contains(ip("127.0.0.1")));
  EXPECT_FALSE(net("127.0.0.1").contains(ip("127.0.0.2")));
}

TEST(Cidr, ZeroPrefixMatchesEveryAddressOfItsFamily) {
  EXPECT_TRUE(net("0.0.0.0/0").contains(ip("203.0.113.9")));
  EXPECT_FALSE(net("0.0.0.0/0").contains(ip("2001:db8::1")));
  EXPECT_TRUE(net("::/0").contains(ip("2001:db8::1")));
}

TEST(Cidr, Ipv6) {
  const auto c = net("2001:db8::/32");
  EXPECT_TRUE(c.contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(c.contains(ip("2001:db9::1")));
  EXPECT_FALSE(c.contains(ip("10.0.0.1")));
}

TEST(Cidr, Ipv4MappedIpv6IsMatchedAsIpv4) {
  // What a dual-stack listener reports for an IPv4 client.
  EXPECT_TRUE(net("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
  EXPECT_FALSE(net("::1/128").contains(ip("::ffff:127.0.0.1")));
  // A mapped network written as such means its IPv4 network.
  EXPECT_EQ(net("::ffff:10.0.0.0/104").to_string(), "10.0.0.0/8");
}

TEST(Cidr, RejectsMalformedNetworks) {
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/8x", "10.0.0/8",
                          "example.com/8", "10.0.0.0/-1", "[::1]/128", "::ffff:10.0.0.0/95"}) {
    std::string why;
    EXPECT_FALSE(parse_cidr(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(Cidr, RejectsHostBitsAfterThePrefix) {
  std::string why;
  EXPECT_FALSE(parse_cidr("10.0.0.1/8", &why));
  EXPECT_NE(why.find("after the prefix"), std::string::npos) << why;
  EXPECT_FALSE(parse_cidr("::1/64"));
}

TEST(SourceAllowed, EmptyListAllowsEveryone) {
  EXPECT_TRUE(source_allowed(allow_list{}, ip("203.0.113.9")));
}

TEST(SourceAllowed, AnyNetworkOfTheListAllows) {
  const allow_list list{net("10.0.0.0/8"), net("127.0.0.1/32"), net("::1/128")};
  EXPECT_TRUE(source_allowed(list, ip("127.0.0.1")));
  EXPECT_TRUE(source_allowed(list, ip("::1")));
  EXPECT_TRUE(source_allowed(list, ip("10.9.9.9")));
  EXPECT_FALSE(source_allowed(list, ip("127.0.0.2")));
  EXPECT_FALSE(source_allowed(list, ip("192.168.1.1")));
}

TEST(SourceAllowed, AsioAddressesIncludingMappedOnes) {
  namespace ip_ns = boost::asio::ip;
  const allow_list list{net("127.0.0.1/32")};
  EXPECT_TRUE(source_allowed(list, ip_ns::make_address("127.0.0.1")));
  EXPECT_TRUE(source_allowed(list, ip_ns::make_address("::ffff:127.0.0.1")));
  EXPECT_FALSE(source_allowed(list, ip_ns::make_address("127.0.0.2")));
  EXPECT_FALSE(source_allowed(list, ip_ns::make_address("::1")));
}

TEST(Loopback, Addresses) {
  EXPECT_TRUE(is_loopback(ip("127.0.0.1")));
  EXPECT_TRUE(is_loopback(ip("127.8.0.1")));
  EXPECT_TRUE(is_loopback(ip("::1")));
  EXPECT_TRUE(is_loopback(ip("::ffff:127.0.0.1")));
  EXPECT_FALSE(is_loopback(ip("0.0.0.0")));
  EXPECT_FALSE(is_loopback(ip("::")));
  EXPECT_FALSE(is_loopback(ip("10.0.0.1")));
}

}  // namespace
}  // namespace tpp::access
