#include "app/ctl.hpp"

#include "config/password_file.hpp"

namespace tpp::app {

std::variant<probe_options, std::string> ctl_request(const config::config& cfg,
                                                     const std::string& action,
                                                     std::optional<std::size_t> slot) {
  probe_options opts;
  opts.post = true;
  opts.name = "tpp ctl";
  opts.path = action == "refresh" ? "/admin/tokens/refresh" : "/admin/" + action;
  if (slot) {
    if (action != "refresh") return std::string("--slot goes with refresh only");
    opts.path += "?slot=" + std::to_string(*slot);
  }
  if (!cfg.admin.token_file.empty()) {
    auto read = config::read_password_file(cfg.admin.token_file);
    if (!read.error.empty()) return "admin.token_file: " + read.error;
    opts.authorization = "Bearer " + read.password;
  }
  return opts;
}

}  // namespace tpp::app
