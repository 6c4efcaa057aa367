#include "libkata/log/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

#include "absl/strings/ascii.h"
#include "libkata/base/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "fmt/format.h"
#include "libkata/base/errno_status.h"
#include "libkata/base/file_util.h"
#include "libkata/base/json_escape.h"

namespace kata::log {
namespace {

void AppendValue(std::string& out, const Field::Value& value) {
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          AppendJsonString(out, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          // JSON has no NaN/Inf: write them as strings.
          if (std::isfinite(v)) fmt::format_to(std::back_inserter(out), "{}", v);
          else AppendJsonString(out, fmt::format("{}", v));
        } else {
          fmt::format_to(std::back_inserter(out), "{}", v);
        }
      },
      value);
}

void AppendField(std::string& out, const Field& f) {
  out.push_back(',');
  AppendJsonString(out, f.key);
  out.push_back(':');
  AppendValue(out, f.value);
}

}  // namespace

absl::StatusOr<Level> ParseLevel(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(ToAbsl(name));
  if (lower == "trace") return Level::kTrace;
  if (lower == "debug") return Level::kDebug;
  if (lower == "info") return Level::kInfo;
  if (lower == "warn" || lower == "warning") return Level::kWarn;
  if (lower == "error") return Level::kError;
  return absl::InvalidArgumentError(
      StrCat("unknown log level \"", name, "\" (want trace, debug, info, warn or error)"));
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "unknown";
}

FdSink::~FdSink() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

void FdSink::Write(std::string_view line) {
  // One write per line keeps lines whole between processes appending to one file; a
  // failure has nowhere left to be reported.
  (void)WriteAll(fd_, line, "log line");
}

absl::StatusOr<std::unique_ptr<Sink>> OpenFileSink(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoStatus(errno, StrCat("open log file ", path));
  return std::make_unique<FdSink>(fd, /*owned=*/true);
}

Logger::Logger() : sink_(std::make_unique<FdSink>(STDERR_FILENO, /*owned=*/false)) {}

Logger& Logger::Global() {
  static Logger* const logger = new Logger();  // never destroyed: usable during exit
  return *logger;
}

void Logger::SetSink(std::unique_ptr<Sink> sink) {
  absl::MutexLock lock(&mu_);
  sink_ = std::move(sink);
}

void Logger::SetLevel(Level level) {
  absl::MutexLock lock(&mu_);
  default_level_ = level;
}

void Logger::SetSubsystemLevel(std::string_view subsystem, Level level) {
  absl::MutexLock lock(&mu_);
  subsystem_levels_[std::string(subsystem)] = level;
}

void Logger::SetCommonField(Field field) {
  absl::MutexLock lock(&mu_);
  for (auto& f : common_fields_) {
    if (f.key == field.key) {
      f = std::move(field);
      return;
    }
  }
  common_fields_.push_back(std::move(field));
}

Level Logger::LevelFor(std::string_view subsystem) const {
  auto it = subsystem_levels_.find(subsystem);
  return it == subsystem_levels_.end() ? default_level_ : it->second;
}

bool Logger::Enabled(std::string_view subsystem, Level level) const {
  absl::ReaderMutexLock lock(&mu_);
  return level >= LevelFor(subsystem);
}

void Logger::Log(Level level, std::string_view subsystem, std::string_view msg,
                 std::initializer_list<Field> fields) {
  absl::MutexLock lock(&mu_);
  if (level < LevelFor(subsystem) || !sink_) return;
  std::string line;
  line.reserve(128);
  line += "{\"time\":";
  AppendJsonString(line, absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone()));
  line += ",\"level\":";
  AppendJsonString(line, LevelName(level));
  line += ",\"subsystem\":";
  AppendJsonString(line, subsystem);
  line += ",\"msg\":";
  AppendJsonString(line, msg);
  for (const Field& f : common_fields_) AppendField(line, f);
  for (const Field& f : fields) AppendField(line, f);
  line += "}\n";
  sink_->Write(line);
}

}  // namespace kata::log
