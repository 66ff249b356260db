#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>

namespace tpp::proxy {

struct connection;

// What a tunnel carried, for the request record.
struct tunnel_totals {
  std::uint64_t from_client = 0;    // bytes relayed to the upstream
  std::uint64_t from_upstream = 0;  // bytes relayed to the client
  bool timed_out = false;           // it ended on tunnel_idle_timeout
};

// The tunnel phase of an exchange whose upgrade DolphinDB accepted (101,
// already sent to the client): relays bytes both ways between c.client and
// c.upstream, starting with whatever each side sent early (c.in_buf,
// c.up_buf), until both directions have ended or one fails.
//
// A direction ends when its reader sends FIN: the FIN is passed on (the other
// side's write is shut down) and the other direction keeps going, so a peer
// that half-closes still gets its answer. Over TLS upstream there is no
// half-close to pass on: a client's FIN is kept, and the tunnel lives until
// DolphinDB ends its side (or the idle timeout). A failed read or write, the
// idle deadline (io_phase::tunnel, re-armed by every byte either way and
// enforced by the worker's sweep) or the connection being closed (shutdown)
// closes both sockets.
//
// The lease stays with the connection the whole time; the caller drops the
// upstream connection afterwards (it is never reused). Counts
// tpp_tunnels_total / tpp_tunnels_open. Worker thread only.
boost::asio::awaitable<tunnel_totals> run_tunnel(connection& c);

}  // namespace tpp::proxy
