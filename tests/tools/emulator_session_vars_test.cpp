// The emulator remembers variables per DolphinDB session, so that tests can
// tell whether two requests ran in the same session.
#include <gtest/gtest.h>

#include "session_vars.hpp"

namespace tpp::emulator {
namespace {

TEST(session_vars, a_defined_name_is_known_in_its_session_only) {
  session_vars v;
  auto def = v.run("s1", "x = 42");
  EXPECT_TRUE(def.ok);
  EXPECT_EQ(def.text, "x = 42");
  auto same = v.run("s1", " x ");
  EXPECT_TRUE(same.ok);
  EXPECT_EQ(same.text, "42");
  auto other = v.run("s2", "x");
  EXPECT_FALSE(other.ok);
  EXPECT_EQ(other.text, "Syntax Error: [line #1] Cannot recognize the token x");
}

TEST(session_vars, a_redefinition_replaces_and_clear_forgets) {
  session_vars v;
  v.run("s", "y=1");
  v.run("s", "y = two");
  EXPECT_EQ(v.run("s", "y").text, "two");
  v.clear();
  EXPECT_FALSE(v.run("s", "y").ok);
}

TEST(session_vars, other_scripts_answer_themselves) {
  session_vars v;
  for (const char* s : {"1+1", "a == b", "sleep(5)", "1", "f(x = 1)"}) {
    auto r = v.run("s", s);
    EXPECT_TRUE(r.ok) << s;
    EXPECT_EQ(r.text, s);
  }
  EXPECT_FALSE(v.run("s", "f").ok);  // an undefined bare name is an error
}

}  // namespace
}  // namespace tpp::emulator
