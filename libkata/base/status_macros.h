#pragma once

// Propagation helpers for absl::Status / absl::StatusOr, in the style of sandboxed-api.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KATA_CONCAT_INNER_(a, b) a##b
#define KATA_CONCAT_(a, b) KATA_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status kata_status_ = (expr);          \
    if (!kata_status_.ok()) return kata_status_;   \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, MakeX())`: declares/assigns the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  KATA_ASSIGN_OR_RETURN_IMPL_(KATA_CONCAT_(kata_statusor_, __LINE__), lhs, expr)

#define KATA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
