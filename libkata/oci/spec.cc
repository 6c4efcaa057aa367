#include "libkata/oci/spec.h"

#include "libkata/base/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/oci/json_writer.h"
#include "libkata/oci/validate.h"

namespace kata::oci {
namespace {

// config.json nests a handful of levels (linux.seccomp.syscalls[].args[] is the deepest).
// Refuse absurd nesting before the recursive parser sees it: an unknown field holding a
// million '[' must be an error, not a stack overflow.
constexpr int kMaxJsonDepth = 64;

bool NestingWithin(std::string_view json, int limit) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > limit) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

// OCI JSON (a whole spec or one of its parts) into `message`; `what` names the document
// kind in errors ("OCI spec").
absl::Status ParseOciJson(std::string_view json, std::string_view source, std::string_view what,
                          google::protobuf::Message* message) {
  if (!NestingWithin(json, kMaxJsonDepth)) {
    return absl::InvalidArgumentError(StrCat(
        source, ": malformed ", what, ": JSON nests deeper than ", kMaxJsonDepth, " levels"));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  // Protobuf's JSON parser reports the failing path in its message, e.g.
  // "(process.user.uid): invalid value ..."; we prefix the document's name.
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        StrCat(source, ": malformed ", what, ": ", std::string(status.message())));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Spec> ParseSpecJson(std::string_view json, std::string_view source) {
  Spec spec;
  RETURN_IF_ERROR(ParseOciJson(json, source, "OCI spec", &spec));
  return spec;
}

absl::StatusOr<LinuxResources> ParseLinuxResourcesJson(std::string_view json, std::string_view source) {
  LinuxResources resources;
  RETURN_IF_ERROR(ParseOciJson(json, source, "linux resources", &resources));
  return resources;
}

absl::StatusOr<Spec> LoadSpec(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  ASSIGN_OR_RETURN(Spec spec, ParseSpecJson(text, path));
  if (absl::Status s = ValidateSpec(spec); !s.ok()) {
    return absl::InvalidArgumentError(StrCat(path, ": ", s.message()));
  }
  return spec;
}

absl::StatusOr<Spec> LoadBundleSpec(const std::string& bundle) {
  return LoadSpec(StrCat(bundle, "/config.json"));
}

std::string SpecToJson(const Spec& spec, bool pretty) { return MessageToOciJson(spec, pretty); }

absl::Status SaveSpec(const Spec& spec, const std::string& path) {
  return WriteFileAtomically(path, SpecToJson(spec, /*pretty=*/true), 0644);
}

}  // namespace kata::oci
