#include <fcntl.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "libkata/log/log.h"
#include "libkata/testing/test_support.h"

using kata::log::Level;
using kata::log::Logger;

namespace {

class StringSink : public kata::log::Sink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  void Write(std::string_view line) override { out_->append(line); }

 private:
  std::string* out_;
};

std::vector<std::string> Lines(const std::string& s) {
  return absl::StrSplit(s, '\n', absl::SkipEmpty());
}

// Parses one line with protobuf's JSON parser: proves the line is valid JSON.
google::protobuf::Struct ParseLine(const std::string& line) {
  google::protobuf::Struct s;
  const auto status = google::protobuf::util::JsonStringToMessage(line, &s);
  INFO(line);
  REQUIRE(status.ok());
  return s;
}

}  // namespace

TEST_CASE("log line carries time, level, subsystem, msg and fields", "[log]") {
  std::string out;
  Logger logger;
  logger.SetSink(std::make_unique<StringSink>(&out));
  kata::log::Subsystem storage("storage", &logger);
  storage.Info("mounted", {{"mount_point", "/run/kata/x"}, {"count", 3}, {"ro", true}, {"ratio", 0.5}});
  const auto lines = Lines(out);
  REQUIRE(lines.size() == 1);
  const auto s = ParseLine(lines[0]);
  const auto& f = s.fields();
  CHECK(f.at("level").string_value() == "info");
  CHECK(f.at("subsystem").string_value() == "storage");
  CHECK(f.at("msg").string_value() == "mounted");
  CHECK(f.at("mount_point").string_value() == "/run/kata/x");
  CHECK(f.at("count").number_value() == 3);
  CHECK(f.at("ro").bool_value());
  CHECK(f.at("ratio").number_value() == 0.5);
  CHECK(f.at("time").string_value().size() >= 20);
  CHECK(lines[0].find("\"count\":3") != std::string::npos);  // a number, not a string
}

TEST_CASE("log default level info drops debug and trace", "[log]") {
  std::string out;
  Logger logger;
  logger.SetSink(std::make_unique<StringSink>(&out));
  kata::log::Subsystem s("agent", &logger);
  s.Trace("t");
  s.Debug("d");
  s.Info("i");
  s.Error("e");
  const auto lines = Lines(out);
  REQUIRE(lines.size() == 2);
  CHECK(ParseLine(lines[0]).fields().at("msg").string_value() == "i");
  CHECK(ParseLine(lines[1]).fields().at("level").string_value() == "error");
  CHECK_FALSE(logger.Enabled("agent", Level::kDebug));
}

TEST_CASE("log level is filtered per subsystem", "[log]") {
  std::string out;
  Logger logger;
  logger.SetSink(std::make_unique<StringSink>(&out));
  logger.SetLevel(Level::kWarn);
  logger.SetSubsystemLevel("uevent", Level::kDebug);
  logger.Log(Level::kDebug, "uevent", "seen");
  logger.Log(Level::kInfo, "storage", "hidden");
  logger.Log(Level::kWarn, "storage", "shown");
  const auto lines = Lines(out);
  REQUIRE(lines.size() == 2);
  CHECK(ParseLine(lines[0]).fields().at("subsystem").string_value() == "uevent");
  CHECK(ParseLine(lines[1]).fields().at("msg").string_value() == "shown");
}

TEST_CASE("log escapes hostile strings into valid JSON", "[log]") {
  std::string out;
  Logger logger;
  logger.SetSink(std::make_unique<StringSink>(&out));
  const std::string hostile = std::string("quote\" back\\ nl\n tab\t nul") + '\0' + "\x01 bad\xff\xfe utf8 é";
  logger.Log(Level::kError, "sub\"system", hostile, {{"k\ney", hostile}});
  const auto lines = Lines(out);
  REQUIRE(lines.size() == 1);  // the newline inside did not split the line
  const auto s = ParseLine(lines[0]);
  const std::string msg = s.fields().at("msg").string_value();
  CHECK(msg.find("quote\" back\\ nl\n tab\t nul") == 0);
  CHECK(msg.find("é") != std::string::npos);
  CHECK(s.fields().at("subsystem").string_value() == "sub\"system");
  CHECK(s.fields().count("k\ney") == 1);
}

TEST_CASE("log common fields appear on every line", "[log]") {
  std::string out;
  Logger logger;
  logger.SetSink(std::make_unique<StringSink>(&out));
  logger.SetCommonField({"sandbox", "sb1"});
  logger.SetCommonField({"sandbox", "sb2"});  // replaced, not duplicated
  logger.Log(Level::kInfo, "a", "one");
  logger.Log(Level::kInfo, "b", "two");
  for (const auto& line : Lines(out)) {
    CHECK(ParseLine(line).fields().at("sandbox").string_value() == "sb2");
    CHECK(line.find("sb1") == std::string::npos);
  }
}

TEST_CASE("log ParseLevel accepts names and rejects others naming them", "[log]") {
  CHECK(*kata::log::ParseLevel("DEBUG") == Level::kDebug);
  CHECK(*kata::log::ParseLevel("warning") == Level::kWarn);
  auto bad = kata::log::ParseLevel("loud");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(bad.status().message().find("loud") != std::string::npos);
}

TEST_CASE("log file sink appends whole lines and reports a bad path", "[log]") {
  kata::testing::TempDir dir;
  const std::string path = dir.Sub("kata.log");
  {
    Logger logger;
    auto sink = kata::log::OpenFileSink(path);
    REQUIRE(sink.ok());
    logger.SetSink(std::move(*sink));
    logger.Log(Level::kInfo, "runtime", "first");
  }
  {
    Logger logger;
    logger.SetSink(std::move(*kata::log::OpenFileSink(path)));
    logger.Log(Level::kInfo, "runtime", "second");
  }
  const auto lines = Lines(kata::testing::ReadFile(path));
  REQUIRE(lines.size() == 2);
  CHECK(ParseLine(lines[1]).fields().at("msg").string_value() == "second");

  auto bad = kata::log::OpenFileSink(dir.Sub("missing/dir/kata.log"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kNotFound);
  CHECK(bad.status().message().find("missing/dir/kata.log") != std::string::npos);
}

TEST_CASE("log lines from many threads stay whole", "[log]") {
  kata::testing::TempDir dir;
  const std::string path = dir.Sub("threads.log");
  {
    Logger logger;
    logger.SetSink(std::move(*kata::log::OpenFileSink(path)));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&logger, t] {
        for (int i = 0; i < 200; ++i) logger.Log(Level::kInfo, "t", "line", {{"thread", t}, {"i", i}});
      });
    }
    for (auto& th : threads) th.join();
  }
  const auto lines = Lines(kata::testing::ReadFile(path));
  REQUIRE(lines.size() == 800);
  for (const auto& line : lines) ParseLine(line);
}
