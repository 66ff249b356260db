// GET /status in a real browser: headless Chromium (Debian package chromium)
// loads the page from a tpp under load (clients holding every token, others
// waiting) and what the page shows must match /health. The screenshot it
// takes is the one docs/images/status.png was copied from. Skipped when
// chromium is not installed (ctest label `browser`).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <regex>

#include "proxy_fixture.hpp"
#include "support/child_process.hpp"
#include "support/wait.hpp"

namespace tpp::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using status_page = proxy_test;

std::string find_chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

// Chromium headless with everything that would reach out to the network off
// (in a closed network it otherwise hangs), in a fresh profile. `extra`:
// --dump-dom or --screenshot=... . Timers run on virtual time: `budget_ms`
// of it is a few polls of /health, however long they take for real.
std::string run_chromium(const std::string& binary, const std::string& url,
                         std::vector<std::string> extra, int budget_ms = 5000) {
  temp_dir profile;
  std::vector<std::string> args{"--headless",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--disable-quic",
                                "--no-first-run",
                                "--disable-background-networking",
                                "--disable-component-update",
                                "--disable-sync",
                                "--disable-dev-shm-usage",
                                "--user-data-dir=" + profile.path(),
                                "--virtual-time-budget=" + std::to_string(budget_ms)};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  child_process chrome(binary, args, {{"HOME", profile.path()}});
  const auto code = chrome.wait_exit(90s);
  if (code != 0) {
    throw std::runtime_error("chromium failed (" + (code ? std::to_string(*code) : "timeout") +
                             "): " + chrome.stderr_text());
  }
  return chrome.stdout_text();
}

// data-name="value" on the element with id `id` in the dumped DOM.
std::string attribute(const std::string& dom, const std::string& id, const std::string& name) {
  const std::regex tag("<[a-z]+ [^>]*id=\"" + id + "\"[^>]*>");
  std::smatch m;
  if (!std::regex_search(dom, m, tag)) return "(no #" + id + ")";
  const std::regex attr(name + "=\"([^\"]*)\"");
  std::smatch a;
  const std::string t = m.str();
  return std::regex_search(t, a, attr) ? a[1].str() : "(no " + name + ")";
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The page's slot states computed from /health (category() in status_page.html).
std::map<std::string, int> slot_states(const json& health) {
  std::map<std::string, int> n{{"free", 0}, {"lent", 0}, {"refreshing", 0}, {"failed", 0}};
  for (const auto& s : health["slots"]) {
    if (s["lent"].get<bool>()) {
      ++n["lent"];
    } else if (s["state"] == "ready" || s["state"] == "unverified") {
      ++n["free"];
    } else {
      ++n[s["login_in_flight"].get<bool>() ? "refreshing" : "failed"];
    }
  }
  return n;
}

TEST_F(status_page, is_served_as_a_self_contained_page) {
  start(2);
  http_client c("127.0.0.1", tpp().health_port());
  const auto r = c.request("GET", "/status");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  const auto csp = r.header("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(r.body.find("fetch(\"/health\""), std::string::npos);
  // No external asset: nothing loaded from another origin.
  EXPECT_EQ(r.body.find("src=\"http"), std::string::npos);
  EXPECT_EQ(r.body.find("href=\"http"), std::string::npos);
  EXPECT_EQ(c.request("HEAD", "/status").status, 200u);
  EXPECT_EQ(c.request("POST", "/status").status, 405u);
}

TEST_F(status_page, chromium_shows_the_pool_and_queue_that_health_reports) {
  const auto chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium not installed (Debian package chromium)";
  // binding: connection, so that an idle client keeps its token and the
  // pool stays still while the browser looks.
  start(4, {{"token", {{"binding", "connection"}, {"acquire_timeout_seconds", 120}}}});
  ASSERT_TRUE(wait_tokens(4));
  std::vector<http_client> holders;
  for (int i = 0; i < 3; ++i) {
    holders.push_back(client());
    ASSERT_EQ(holders.back().request("GET", "/__emulator/echo").status, 200u);
  }
  {
    auto c = client();  // some answered requests of another class for the charts
    for (int i = 0; i < 5; ++i) c.request("GET", "/__emulator/no-such-path");
  }
  holders.push_back(client());
  ASSERT_EQ(holders.back().request("GET", "/__emulator/echo").status, 200u);
  std::vector<std::future<http_response>> waiters;
  for (int i = 0; i < 2; ++i) {
    waiters.push_back(std::async(std::launch::async, [c = client()]() mutable {
      c.set_timeout(150s);
      return c.request("GET", "/__emulator/echo");
    }));
  }
  ASSERT_TRUE(wait_pool([](const json& p) { return p["in_use"] == 4 && p["waiting"] == 2; }));

  const std::string url = "http://127.0.0.1:" + std::to_string(tpp().health_port()) + "/status";
  const auto dom = run_chromium(chromium, url, {"--dump-dom"});
  const auto h = health();
  const auto want = slot_states(h);
  EXPECT_NE(dom.find("data-ready=\"1\""), std::string::npos) << dom.substr(0, 2000);
  EXPECT_EQ(attribute(dom, "pool", "data-slots-total"), std::to_string(h["slots"].size()));
  for (const auto& [state, n] : want) {
    EXPECT_EQ(attribute(dom, "pool", "data-slots-" + state), std::to_string(n)) << state;
  }
  EXPECT_EQ(want.at("lent"), 4);
  EXPECT_EQ(attribute(dom, "queue", "data-queue-waiting"), "2");
  EXPECT_EQ(h["queue"]["waiting"], 2);
  // Every slot drawn, each with its holder's address.
  EXPECT_EQ(count(dom, "data-state=\"lent\""), 4u);
  EXPECT_NE(dom.find("127.0.0.1"), std::string::npos);

  const std::string shot = std::string(TPP_TEST_OUTPUT_DIR) + "/status.png";
  std::remove(shot.c_str());
  run_chromium(chromium, url,
               {"--screenshot=" + shot, "--window-size=1280,900", "--hide-scrollbars"}, 12000);
  std::ifstream png(shot, std::ios::binary);
  char sig[8] = {};
  ASSERT_TRUE(png.read(sig, sizeof sig)) << "no screenshot at " << shot;
  EXPECT_EQ(std::string(sig + 1, 3), "PNG");

  holders.clear();  // the waiters get their tokens
  for (auto& w : waiters) EXPECT_EQ(w.get().status, 200u);
  EXPECT_TRUE(wait_all_free());
}

}  // namespace
}  // namespace tpp::test
