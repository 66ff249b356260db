#pragma once

#include <optional>
#include <string>

namespace tpp::config {

// Why tpp could not listen on `host`, or nullopt when it can: an IP address,
// or a name that resolves now (getaddrinfo, as the listeners do when they
// bind). Checked at load so that --check-config rejects what the run would
// (docs/configuration.md, "Keys").
std::optional<std::string> listen_host_error(const std::string& host);

}  // namespace tpp::config
