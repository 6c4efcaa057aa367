#pragma once

// Structured logging: one JSON object per line with time, level, subsystem, msg and the
// caller's key/values. The level is filtered per subsystem.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace kata::log {

enum class Level { kTrace = 0, kDebug, kInfo, kWarn, kError };

absl::StatusOr<Level> ParseLevel(std::string_view name);
std::string_view LevelName(Level level);

// One key/value of a log line.
struct Field {
  using Value = std::variant<std::string, int64_t, uint64_t, double, bool>;

  Field(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Field(std::string_view k, T v) : key(k) {
    if constexpr (std::is_signed_v<T>) value = static_cast<int64_t>(v);
    else value = static_cast<uint64_t>(v);
  }

  std::string key;
  Value value;
};

// Where lines go. Write() receives one complete line, newline included.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Write(std::string_view line) = 0;
};

// Writes to a file descriptor (stderr, a pipe, a FIFO); closes it only if it owns it.
class FdSink : public Sink {
 public:
  FdSink(int fd, bool owned) : fd_(fd), owned_(owned) {}
  ~FdSink() override;
  void Write(std::string_view line) override;

 private:
  int fd_;
  bool owned_;
};

// Opens `path` for appending (created 0640) and returns a sink that owns it.
absl::StatusOr<std::unique_ptr<Sink>> OpenFileSink(const std::string& path);

class Logger {
 public:
  // Logs to stderr at info until told otherwise.
  Logger();

  // The process-wide logger the executables configure at start.
  static Logger& Global();

  void SetSink(std::unique_ptr<Sink> sink) ABSL_LOCKS_EXCLUDED(mu_);
  void SetLevel(Level level) ABSL_LOCKS_EXCLUDED(mu_);
  void SetSubsystemLevel(std::string_view subsystem, Level level) ABSL_LOCKS_EXCLUDED(mu_);
  // Fields added to every line (e.g. sandbox id, pid).
  void SetCommonField(Field field) ABSL_LOCKS_EXCLUDED(mu_);

  bool Enabled(std::string_view subsystem, Level level) const ABSL_LOCKS_EXCLUDED(mu_);
  void Log(Level level, std::string_view subsystem, std::string_view msg,
           std::initializer_list<Field> fields = {}) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Level LevelFor(std::string_view subsystem) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::unique_ptr<Sink> sink_ ABSL_GUARDED_BY(mu_);
  Level default_level_ ABSL_GUARDED_BY(mu_) = Level::kInfo;
  std::map<std::string, Level, std::less<>> subsystem_levels_ ABSL_GUARDED_BY(mu_);
  std::vector<Field> common_fields_ ABSL_GUARDED_BY(mu_);
};

// A logger bound to one subsystem: `Subsystem log("storage"); log.Info("mounted", {...});`
class Subsystem {
 public:
  explicit Subsystem(std::string name, Logger* logger = nullptr)
      : name_(std::move(name)), logger_(logger) {}

  void Trace(std::string_view msg, std::initializer_list<Field> f = {}) const { Log(Level::kTrace, msg, f); }
  void Debug(std::string_view msg, std::initializer_list<Field> f = {}) const { Log(Level::kDebug, msg, f); }
  void Info(std::string_view msg, std::initializer_list<Field> f = {}) const { Log(Level::kInfo, msg, f); }
  void Warn(std::string_view msg, std::initializer_list<Field> f = {}) const { Log(Level::kWarn, msg, f); }
  void Error(std::string_view msg, std::initializer_list<Field> f = {}) const { Log(Level::kError, msg, f); }
  void Log(Level level, std::string_view msg, std::initializer_list<Field> f) const {
    logger().Log(level, name_, msg, f);
  }
  const std::string& name() const { return name_; }

 private:
  Logger& logger() const { return logger_ ? *logger_ : Logger::Global(); }
  std::string name_;
  Logger* logger_;
};

}  // namespace kata::log
