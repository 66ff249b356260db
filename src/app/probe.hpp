#pragma once

#include <chrono>
#include <ostream>
#include <string>

#include "config/config.hpp"

namespace tpp::app {

struct probe_options {
  std::string path = "/readyz";  // any path of the health listener
  std::chrono::milliseconds timeout{3000};
  // `tpp ctl`: a POST, with this Authorization value when not empty.
  bool post = false;
  std::string authorization;
  std::string name = "tpp probe";  // how its error lines start
};

// `tpp probe`: asks a running tpp, over its health listener, one GET `path`
// and turns the answer into an exit code, so that a container HEALTHCHECK
// (or any supervisor) needs no curl: 0 for a 2xx answer, 1 for anything else
// (another status, refused, timed out, health_listen off). One line goes to
// `out`: "<status> <body>" or "tpp probe: <why>". A wildcard listen address
// (0.0.0.0, ::) is asked on the loopback address of its family.
int probe(const config::config& cfg, const probe_options& opts, std::ostream& out);

}  // namespace tpp::app
