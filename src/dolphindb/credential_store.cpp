#include "dolphindb/credential_store.hpp"

#include <spdlog/spdlog.h>

#include "config/password_file.hpp"
#include "dolphindb/login_client.hpp"

namespace tpp::dolphindb {

credential_store::credential_store(std::string username, std::string password,
                                   std::string password_file)
    : file_(std::move(password_file)), cred_{std::move(username), std::move(password), 0} {}

credential_store::credential credential_store::current() const {
  std::lock_guard lock(mu_);
  return cred_;
}

bool credential_store::reread() {
  if (file_.empty()) return false;
  auto read = config::read_password_file(file_);
  std::lock_guard lock(mu_);
  if (!read.error.empty()) {
    if (read.error != last_error_) {
      spdlog::error("credential: {}; logins keep the password read before", read.error);
    }
    last_error_ = std::move(read.error);
    return false;
  }
  last_error_.clear();
  if (read.password == cred_.password) return false;
  cred_.password = std::move(read.password);
  ++cred_.version;
  spdlog::info("credential: {} holds a new password; logins use it from now on", file_);
  return true;
}

bool credential_store::replace(std::string username, std::string password) {
  std::lock_guard lock(mu_);
  if (username == cred_.username && password == cred_.password) return false;
  cred_.username = std::move(username);
  cred_.password = std::move(password);
  ++cred_.version;
  return true;
}

boost::asio::awaitable<login_outcome> async_login_with(boost::asio::any_io_executor ex,
                                                       net::upstream_target target,
                                                       credential_store& store,
                                                       std::chrono::milliseconds timeout) {
  auto cred = store.current();
  // Two statements, not `co_return co_await`, which GCC 12 miscompiles.
  auto outcome = co_await async_login(ex, target, cred.username, cred.password, timeout);
  if (outcome.what != login_outcome::kind::rejected) co_return outcome;
  // The file may have changed since `cred` was read, or since the watch last
  // fired (no watch sees every way a file can change).
  const bool changed = store.reread() || store.current().version != cred.version;
  if (!changed) co_return outcome;
  cred = store.current();
  auto again = co_await async_login(std::move(ex), std::move(target), std::move(cred.username),
                                    std::move(cred.password), timeout);
  co_return again;
}

}  // namespace tpp::dolphindb
