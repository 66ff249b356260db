#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace tpp::test {

// Polls `pred` every few milliseconds until it holds (true) or `timeout`
// passes (false). The way to wait for a condition without a blind sleep.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read,
// closed). Another process may take it in between; prefer --port-file style
// hand-over where the program supports it.
std::uint16_t free_port();

// True once a TCP connect to 127.0.0.1:port succeeds within `timeout`.
bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout);

}  // namespace tpp::test
