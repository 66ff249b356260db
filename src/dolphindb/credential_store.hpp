#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "dolphindb/login_response.hpp"
#include "net/upstream_stream.hpp"

namespace tpp::dolphindb {

// The credential every login uses. With credential.password_file the
// password can be rotated while tpp runs: reread() takes the file's new
// content, and every login after that uses it (docs/tokens.md, "Password
// rotation"). Thread-safe.
class credential_store {
 public:
  struct credential {
    std::string username;
    std::string password;
    std::uint64_t version = 0;  // +1 each time reread() or replace() changes it
  };

  // `password` is the one read at start-up; `password_file` may be empty
  // (the password came from the config or the environment: nothing to re-read).
  credential_store(std::string username, std::string password, std::string password_file);

  credential current() const;
  const std::string& password_file() const { return file_; }

  // Reads the file again; true when it now holds a different password. A file
  // that cannot be read, or is empty, keeps the old password and logs why
  // (once per distinct error): a half-written secret must not stop the logins.
  bool reread();
  // A reload brought a new username or password (credential.password_file's
  // content included): the next logins use it. True when it differs.
  bool replace(std::string username, std::string password);

 private:
  const std::string file_;
  mutable std::mutex mu_;
  credential cred_;
  std::string last_error_;
};

// One login with the store's current credential. When DolphinDB rejects it
// and the password file has changed meanwhile (the operator rotated the
// password at DolphinDB and in the file), the login is tried once more with
// the new password before the rejection counts. Same contract as async_login.
boost::asio::awaitable<login_outcome> async_login_with(boost::asio::any_io_executor ex,
                                                       net::upstream_target target,
                                                       credential_store& store,
                                                       std::chrono::milliseconds timeout);

}  // namespace tpp::dolphindb
