#include "dolphindb/login_response.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tpp::dolphindb {
namespace {

using kind = login_outcome::kind;

struct parse_case {
  const char* name;
  unsigned status;
  std::string body;
  kind expected;
  std::string token;             // expected token when ok
  std::string message_contains;  // expected substring of message (may be empty)
};

const std::string wrapped_token =
    "kRYEw4RKabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/fAC46EX\\n"
    "PIgIfppI0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNzDva89\\n"
    "k/BC2hCS1NI=\\n";
const std::string unwrapped_token =
    "kRYEw4RKabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/fAC46EX"
    "PIgIfppI0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNzDva89"
    "k/BC2hCS1NI=";

std::vector<parse_case> cases() {
  return {
      {"ok string code", 200,
       R"({"session":"123","user":"admin","code":"0","message":"","result":[")" + wrapped_token +
           R"("]})",
       kind::ok, unwrapped_token, ""},
      {"ok numeric code and session", 200,
       R"({"session":123,"user":"admin","code":0,"message":"","result":[")" + wrapped_token +
           R"("]})",
       kind::ok, unwrapped_token, ""},
      {"ok token with CRLF and spaces", 200, R"({"code":"0","result":[" ab\r\ncd\t ef \n"]})",
       kind::ok, "abcdef", ""},
      {"ok numeric float zero", 200, R"({"code":0.0,"result":["tok"]})", kind::ok, "tok", ""},
      {"ok status 201", 201, R"({"code":"0","result":["tok"]})", kind::ok, "tok", ""},
      {"ok extra tokens ignored", 200, R"({"code":"0","result":["first","second"]})", kind::ok,
       "first", ""},
      {"wrong password", 200,
       R"({"session":"0","user":"","code":"1","message":"login(\"admin1\", \"123213\") => The user name or password is incorrect.","result":[]})",
       kind::rejected, "", "The user name or password is incorrect."},
      {"wrong password numeric code", 200,
       R"({"session":0,"code":1,"message":"The user name or password is incorrect.","result":[]})",
       kind::rejected, "", "incorrect"},
      {"refusal without message", 200, R"({"code":"1","result":[]})", kind::rejected, "", "code 1"},
      {"unknown non-zero code is a refusal", 200, R"({"code":"2","message":"nope"})",
       kind::rejected, "", "nope"},
      {"refusal with 401 status keeps envelope", 401,
       R"({"code":"1","message":"The user name or password is incorrect."})", kind::rejected, "",
       "incorrect"},
      {"max connections", 200,
       R"({"code":"1","message":"<ServerError>Maximum connections reached. RefId: S00006","result":[]})",
       kind::max_connections, "", "Maximum connections reached"},
      {"max connections numeric, status 500", 500,
       R"({"code":1,"message":"Maximum connections reached"})", kind::max_connections, "",
       "Maximum connections reached"},
      {"503 html", 503, "<html>Service Unavailable</html>", kind::failed, "", "HTTP 503"},
      {"502 empty", 502, "", kind::failed, "", "HTTP 502"},
      {"500 with success envelope", 500, R"({"code":"0","result":["tok"]})", kind::failed, "",
       "HTTP 500"},
      {"not json", 200, "hello", kind::failed, "", "login answer is not JSON"},
      {"empty body", 200, "", kind::failed, "", "not JSON"},
      {"truncated json", 200, R"({"code":"0","result":["to)", kind::failed, "", "not JSON"},
      {"json array", 200, R"(["tok"])", kind::failed, "", "not a JSON object"},
      {"missing code", 200, R"({"result":["tok"]})", kind::failed, "", "no 'code'"},
      {"code null", 200, R"({"code":null,"result":["tok"]})", kind::failed, "", "invalid 'code'"},
      {"code not numeric", 200, R"({"code":"zero","result":["tok"]})", kind::failed, "",
       "invalid 'code'"},
      {"code empty string", 200, R"({"code":"","result":["tok"]})", kind::failed, "",
       "invalid 'code'"},
      {"code fractional", 200, R"({"code":0.5,"result":["tok"]})", kind::failed, "",
       "invalid 'code'"},
      {"missing result", 200, R"({"code":"0","message":""})", kind::failed, "", "no token"},
      {"empty result", 200, R"({"code":"0","result":[]})", kind::failed, "", "no token"},
      {"result not array", 200, R"({"code":"0","result":"tok"})", kind::failed, "", "no token"},
      {"token not string", 200, R"({"code":"0","result":[42]})", kind::failed, "", "no token"},
      {"token only whitespace", 200, R"({"code":"0","result":[" \n \n"]})", kind::failed, "",
       "empty token"},
      {"token with control char", 200, R"({"code":"0","result":["ab\u0001cd"]})", kind::failed, "",
       "not allowed"},
      {"token with non-ascii", 200, R"({"code":"0","result":["ab\u00e9cd"]})", kind::failed, "",
       "not allowed"},
  };
}

TEST(parse_login_response, table) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    auto r = parse_login_response(c.status, c.body);
    EXPECT_EQ(to_string(r.what), std::string(to_string(c.expected))) << r.message;
    if (c.expected == kind::ok) {
      EXPECT_EQ(r.token, c.token);
    } else {
      EXPECT_TRUE(r.token.empty());
      EXPECT_FALSE(r.message.empty());
    }
    if (!c.message_contains.empty()) {
      EXPECT_NE(r.message.find(c.message_contains), std::string::npos) << r.message;
    }
  }
}

TEST(parse_login_response, refusal_message_hides_password) {
  auto r = parse_login_response(
      200,
      R"({"code":"1","message":"login(\"admin1\", \"s3cr3t\") => The user name or password is incorrect."})");
  EXPECT_EQ(r.what, kind::rejected);
  EXPECT_EQ(r.message.find("s3cr3t"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("admin1"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("incorrect"), std::string::npos) << r.message;
}

TEST(redact_login_call, cases) {
  struct rc {
    std::string in, out;
  };
  std::vector<rc> table = {
      {R"(login("u", "p") => bad)", R"(login("u", ***) => bad)"},
      {R"(login("u", "p)x") => bad)", R"(login("u", ***) => bad)"},
      {R"(login("u") => bad)", R"(login(***) => bad)"},
      {"no call here", "no call here"},
      {"", ""},
      {R"(login("u", "p)", R"(login("u", ***)"},
      {"login(", "login(***"},
  };
  for (const auto& t : table) {
    SCOPED_TRACE(t.in);
    EXPECT_EQ(redact_login_call(t.in), t.out);
    // Idempotent: parse and the client may both apply it.
    EXPECT_EQ(redact_login_call(redact_login_call(t.in)), t.out);
  }
}

}  // namespace
}  // namespace tpp::dolphindb
