#include "telemetry/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace tpp::telemetry {
namespace {

using spdlog::level::level_enum;

// True when `text` has the shape of `pattern`, where '#' stands for a digit
// and any other character for itself.
bool has_shape(std::string_view text, std::string_view pattern) {
  if (text.size() != pattern.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (pattern[i] == '#' ? !digit : text[i] != pattern[i]) return false;
  }
  return true;
}

struct filter_case {
  const char* filter;
  level_enum expected;
};

TEST(parse_log_filter, understands_the_old_proxys_forms) {
  const filter_case cases[] = {
      {"info", level_enum::info},
      {"debug", level_enum::debug},
      {"warn", level_enum::warn},
      {"warning", level_enum::warn},
      {"error", level_enum::err},
      {"trace", level_enum::trace},
      {"off", level_enum::off},
      {"INFO", level_enum::info},
      {"tpp=debug", level_enum::debug},
      {"warn,tpp=debug", level_enum::debug},
      {"tpp=debug,warn", level_enum::debug},
      {"hyper=info,tpp=trace", level_enum::trace},
      {"hyper=trace", level_enum::info},
      {"hyper=trace,error", level_enum::err},
      {"tpp", level_enum::trace},
      {"tpp[request]=warn", level_enum::warn},
      {" tpp = error , info ", level_enum::err},
      {"info,", level_enum::info},
      {"debug/some.*regex", level_enum::debug},
      {"", level_enum::info},
      {"tpp=info,tpp=error", level_enum::err},
      {"4", level_enum::debug},
  };
  for (const auto& c : cases) {
    bool ok = false;
    EXPECT_EQ(parse_log_filter(c.filter, &ok), c.expected) << c.filter;
    EXPECT_TRUE(ok) << c.filter;
  }
}

TEST(parse_log_filter, falls_back_to_info_on_an_unparsable_filter) {
  for (const char* bad : {"tpp=loud", "=debug", "tpp=", "a b", "info,hyper=sometimes"}) {
    bool ok = true;
    EXPECT_EQ(parse_log_filter(bad, &ok), level_enum::info) << bad;
    EXPECT_FALSE(ok) << bad;
  }
}

TEST(parse_log_filter, accepts_a_null_ok_pointer) {
  EXPECT_EQ(parse_log_filter("debug", nullptr), level_enum::debug);
  EXPECT_EQ(parse_log_filter("tpp=loud", nullptr), level_enum::info);
}

// A logger built by make_logger, writing into a string.
struct captured {
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> logger;

  explicit captured(const config::telemetry_config& cfg) {
    logger = make_logger(cfg, std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(text.str());
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
};

config::telemetry_config with_format(config::log_format f, std::string filter = "info") {
  config::telemetry_config cfg;
  cfg.format = f;
  cfg.log_filter = std::move(filter);
  return cfg;
}

TEST(make_logger, text_lines_carry_a_utc_timestamp_level_and_message) {
  captured c(with_format(config::log_format::text));
  c.logger->info("hello {}", "world");
  auto lines = c.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(has_shape(lines[0], "[####-##-## ##:##:##.###] [info] hello world")) << lines[0];
}

TEST(make_logger, json_lines_are_one_object_each_with_escaped_messages) {
  captured c(with_format(config::log_format::json));
  const std::string tricky = "say \"hi\"\\ \n\ttab \x01 done";
  c.logger->warn("{}", tricky);
  c.logger->error("second");
  auto lines = c.lines();
  ASSERT_EQ(lines.size(), 2u);
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first.size(), 4u);
  EXPECT_EQ(first.at("msg"), tricky);
  EXPECT_EQ(first.at("level"), "warning");
  EXPECT_EQ(first.at("logger"), "tpp");
  EXPECT_TRUE(has_shape(first.at("ts").get<std::string>(), "####-##-##T##:##:##.###Z"))
      << first.at("ts");
  EXPECT_EQ(lines[0].rfind("{\"ts\":", 0), 0u) << lines[0];
  EXPECT_EQ(nlohmann::json::parse(lines[1]).at("msg"), "second");
}

TEST(make_logger, json_replaces_invalid_utf8_instead_of_failing) {
  captured c(with_format(config::log_format::json));
  c.logger->info("bad \xff byte");
  auto lines = c.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(nlohmann::json::parse(lines[0]).at("msg").get<std::string>().find("bad "),
            std::string::npos);
}

TEST(make_logger, the_filter_sets_the_level) {
  captured c(with_format(config::log_format::text, "hyper=trace,tpp=warn"));
  c.logger->info("hidden");
  c.logger->warn("shown");
  auto lines = c.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("shown"), std::string::npos);
  EXPECT_EQ(c.logger->level(), level_enum::warn);
}

TEST(make_logger, an_unparsable_filter_logs_a_warning_and_uses_info) {
  captured c(with_format(config::log_format::text, "tpp=loud"));
  EXPECT_EQ(c.logger->level(), level_enum::info);
  auto lines = c.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("[warning] telemetry.log_filter: cannot parse 'tpp=loud'"),
            std::string::npos)
      << lines[0];
}

TEST(setup_logging, installs_the_tpp_logger_as_default) {
  setup_logging(with_format(config::log_format::text, "error"));
  EXPECT_EQ(spdlog::default_logger()->name(), "tpp");
  EXPECT_EQ(spdlog::default_logger()->level(), level_enum::err);
}

}  // namespace
}  // namespace tpp::telemetry
