#include "host-runtime/agent_ctl/request_builder.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "libkata/base/file_util.h"
#include "libkata/base/status_macros.h"
#include "libkata/base/str_cat.h"
#include "libkata/oci/spec.h"

namespace kata::agentctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr std::string_view kJsonPrefix = "json://";

const FieldDescriptor* FindField(const Message& m, std::string_view name) {
  const auto* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->name() == name || f->json_name() == name) return f;
  }
  return nullptr;
}

absl::Status ParseJsonInto(std::string_view json, Message& m, std::string_view source) {
  google::protobuf::util::JsonParseOptions options;
  const auto s = google::protobuf::util::JsonStringToMessage(google::protobuf::StringPiece(json.data(), json.size()), &m, options);
  if (!s.ok()) return absl::InvalidArgumentError(StrCat(source, ": ", std::string(s.message())));
  return absl::OkStatus();
}

absl::Status SetScalar(Message& m, const FieldDescriptor* f, const std::string& value, std::string_view arg) {
  const auto* r = m.GetReflection();
  const bool rep = f->is_repeated();
  auto bad = [&](std::string_view want) {
    return absl::InvalidArgumentError(StrCat("argument \"", arg, "\": ", f->name(), " wants ", want));
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      rep ? r->AddString(&m, f, value) : r->SetString(&m, f, value);
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!absl::SimpleAtob(value, &v)) return bad("true or false");
      rep ? r->AddBool(&m, f, v) : r->SetBool(&m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("a 32-bit integer");
      rep ? r->AddInt32(&m, f, v) : r->SetInt32(&m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("an unsigned 32-bit integer");
      rep ? r->AddUInt32(&m, f, v) : r->SetUInt32(&m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("a 64-bit integer");
      rep ? r->AddInt64(&m, f, v) : r->SetInt64(&m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("an unsigned 64-bit integer");
      rep ? r->AddUInt64(&m, f, v) : r->SetUInt64(&m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* e = f->enum_type()->FindValueByName(value);
      if (e == nullptr) return bad(StrCat("a value of ", f->enum_type()->name()));
      rep ? r->AddEnum(&m, f, e) : r->SetEnum(&m, f, e);
      return absl::OkStatus();
    }
    default:
      return bad("json://FILE (it is a message)");
  }
}

// "a.b.c" -> the message holding c, creating a and b; returns c's descriptor.
absl::StatusOr<std::pair<Message*, const FieldDescriptor*>> Resolve(Message& root, std::string_view path,
                                                                   std::string_view arg) {
  Message* m = &root;
  std::vector<std::string> parts = absl::StrSplit(ToAbsl(path), '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* f = FindField(*m, parts[i]);
    if (f == nullptr) {
      return absl::InvalidArgumentError(StrCat("argument \"", arg, "\": ", m->GetDescriptor()->name(), " has no field \"", parts[i], "\""));
    }
    if (i + 1 == parts.size()) return std::make_pair(m, f);
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) {
      return absl::InvalidArgumentError(StrCat("argument \"", arg, "\": ", parts[i], " is not a single message"));
    }
    m = m->GetReflection()->MutableMessage(m, f);
  }
  return absl::InvalidArgumentError(StrCat("argument \"", arg, "\": empty field name"));
}

absl::Status ApplySpec(Message& request, const std::string& key, const std::string& value, std::string_view arg) {
  const FieldDescriptor* f = FindField(request, "OCI");
  if (f == nullptr) return absl::InvalidArgumentError(StrCat("argument \"", arg, "\": ", request.GetDescriptor()->name(), " carries no OCI spec"));
  absl::StatusOr<oci::Spec> spec = key == "bundle" ? oci::LoadBundleSpec(value) : oci::LoadSpec(value);
  if (!spec.ok()) return spec.status();
  if (key == "bundle" && !spec->root().path().starts_with("/")) {
    spec->mutable_root()->set_path(StrCat(value, "/", spec->root().path()));
  }
  request.GetReflection()->MutableMessage(&request, f)->CopyFrom(*spec);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(std::string_view line) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : line) {
    if (quote) {
      if (c == quote) quote = 0;
      else cur.push_back(c);
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur.push_back(c);
      in_word = true;
    }
  }
  if (quote) return absl::InvalidArgumentError(StrCat("unclosed quote in \"", line, "\""));
  if (in_word) words.push_back(std::move(cur));
  if (words.empty()) return absl::InvalidArgumentError("empty command");
  CommandLine cl;
  cl.name = words.front();
  cl.args.assign(words.begin() + 1, words.end());
  return cl;
}

absl::Status ApplyArgs(const std::vector<std::string>& args, Message& request) {
  for (const std::string& arg : args) {
    if (arg.starts_with(kJsonPrefix)) {
      ASSIGN_OR_RETURN(std::string json, ReadFileToString(arg.substr(kJsonPrefix.size())));
      std::unique_ptr<Message> parsed(request.New());
      RETURN_IF_ERROR(ParseJsonInto(json, *parsed, arg));
      request.MergeFrom(*parsed);
      continue;
    }
    const size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(StrCat("argument \"", arg, "\" is not key=value or json://FILE"));
    }
    const std::string key = arg.substr(0, eq), value = arg.substr(eq + 1);
    if ((key == "spec" || key == "bundle") && FindField(request, key) == nullptr) {
      RETURN_IF_ERROR(ApplySpec(request, key, value, arg));
      continue;
    }
    ASSIGN_OR_RETURN(auto target, Resolve(request, key, arg));
    auto [holder, field] = target;
    if (value.starts_with(kJsonPrefix)) {
      // One field from JSON: parse {"field": <file>} into a fresh holder and merge it in.
      ASSIGN_OR_RETURN(std::string json, ReadFileToString(value.substr(kJsonPrefix.size())));
      std::unique_ptr<Message> parsed(holder->New());
      RETURN_IF_ERROR(ParseJsonInto(StrCat("{\"", field->json_name(), "\":", json, "}"), *parsed, arg));
      holder->MergeFrom(*parsed);
      continue;
    }
    RETURN_IF_ERROR(SetScalar(*holder, field, value, arg));
  }
  return absl::OkStatus();
}

}  // namespace kata::agentctl
