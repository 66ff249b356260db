#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "pool/token_pool.hpp"

namespace tpp::admin {

// The GET /admin/clients body (docs/operations.md, "Admin actions"): who
// holds which slot and for how long, and who waits since when:
// {"holding":[{"slot","client","lease_seconds","requests","parked"}],
//  "waiting":[{"client","waiting_seconds"}],"waiting_total":N}.
// `client` is the connection's identity (API key name, certificate subject)
// or its address. `requests`: those sent upstream on the lease so far, the
// one under way included (with token.binding request a lease is one
// request; with connection or affinity it spans the connection's requests
// until the token goes to someone else). `waiters` may be the first few of
// `waiting_total`.
std::string render_clients_json(const std::vector<pool::slot_info>& slots,
                                const std::vector<pool::waiter_info>& waiters,
                                std::size_t waiting_total, clock::time_point now);

}  // namespace tpp::admin
