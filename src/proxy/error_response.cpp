#include "proxy/error_response.hpp"

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

namespace tpp::proxy {

namespace http = boost::beast::http;

http::response<http::string_body> make_error_response(unsigned status, std::string_view message,
                                                      unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(status), version};
  res.set(http::field::server, "tpp");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  nlohmann::json body = {{"code", "1"}, {"message", "tpp: " + std::string(message)}};
  res.body() = body.dump();
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

http::response<http::string_body> make_retry_later_response(std::string_view message,
                                                            std::chrono::seconds retry_after,
                                                            unsigned version, bool keep_alive) {
  auto res = make_error_response(503, message, version, keep_alive);
  res.set(http::field::retry_after, std::to_string(std::max<long long>(1, retry_after.count())));
  return res;
}

http::response<http::string_body> make_unauthorized_response(bool key_sent, unsigned version) {
  auto res = make_error_response(
      401,
      key_sent ? "the API key is not valid"
               : "an API key is required: send it as Authorization: Bearer <key>",
      version, false);
  res.set(http::field::www_authenticate,
          key_sent ? R"(Bearer realm="tpp", error="invalid_token")" : R"(Bearer realm="tpp")");
  return res;
}

}  // namespace tpp::proxy
