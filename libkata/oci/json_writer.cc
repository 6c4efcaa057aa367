#include "libkata/oci/json_writer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fmt/format.h"
#include "google/protobuf/descriptor.h"
#include "libkata/base/json_escape.h"

namespace kata::oci {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

class Writer {
 public:
  explicit Writer(bool pretty) : pretty_(pretty) {}

  void WriteMessage(const Message& m, int depth) {
    const Reflection* r = m.GetReflection();
    std::vector<const FieldDescriptor*> fields;
    r->ListFields(m, &fields);  // set fields only, in field-number order
    out_.push_back('{');
    bool first = true;
    for (const FieldDescriptor* f : fields) {
      if (!first) out_.push_back(',');
      first = false;
      Newline(depth + 1);
      AppendJsonString(out_, f->json_name());
      out_ += pretty_ ? ": " : ":";
      if (f->is_map()) {
        WriteMap(m, f, depth + 1);
      } else if (f->is_repeated()) {
        WriteRepeated(m, f, depth + 1);
      } else {
        WriteSingular(m, f, depth + 1);
      }
    }
    if (!fields.empty()) Newline(depth);
    out_.push_back('}');
  }

  std::string Take() { return std::move(out_); }

 private:
  void Newline(int depth) {
    if (!pretty_) return;
    out_.push_back('\n');
    out_.append(static_cast<size_t>(depth) * 2, ' ');
  }

  void WriteMap(const Message& m, const FieldDescriptor* f, int depth) {
    const Reflection* r = m.GetReflection();
    const int n = r->FieldSize(m, f);
    const FieldDescriptor* key_field = f->message_type()->map_key();
    const FieldDescriptor* value_field = f->message_type()->map_value();
    std::vector<const Message*> entries;
    entries.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) entries.push_back(&r->GetRepeatedMessage(m, f, i));
    auto key_of = [key_field](const Message* e) {
      return ScalarText(*e, key_field);
    };
    std::stable_sort(entries.begin(), entries.end(),
                     [&](const Message* a, const Message* b) { return key_of(a) < key_of(b); });
    out_.push_back('{');
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i) out_.push_back(',');
      Newline(depth + 1);
      AppendJsonString(out_, key_of(entries[i]));  // JSON keys are strings whatever the type
      out_ += pretty_ ? ": " : ":";
      WriteSingular(*entries[i], value_field, depth + 1);
    }
    if (!entries.empty()) Newline(depth);
    out_.push_back('}');
  }

  void WriteRepeated(const Message& m, const FieldDescriptor* f, int depth) {
    const Reflection* r = m.GetReflection();
    const int n = r->FieldSize(m, f);
    out_.push_back('[');
    for (int i = 0; i < n; ++i) {
      if (i) out_.push_back(',');
      Newline(depth + 1);
      WriteElement(m, f, i, depth + 1);
    }
    if (n) Newline(depth);
    out_.push_back(']');
  }

  // The text of a scalar (map keys and singular values alike).
  static std::string ScalarText(const Message& m, const FieldDescriptor* f) {
    const Reflection* r = m.GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: return fmt::format("{}", r->GetInt32(m, f));
      case FieldDescriptor::CPPTYPE_INT64: return fmt::format("{}", r->GetInt64(m, f));
      case FieldDescriptor::CPPTYPE_UINT32: return fmt::format("{}", r->GetUInt32(m, f));
      case FieldDescriptor::CPPTYPE_UINT64: return fmt::format("{}", r->GetUInt64(m, f));
      case FieldDescriptor::CPPTYPE_BOOL: return r->GetBool(m, f) ? "true" : "false";
      case FieldDescriptor::CPPTYPE_STRING: return r->GetString(m, f);
      default: return {};
    }
  }

  void WriteDouble(double v) {
    if (std::isfinite(v)) fmt::format_to(std::back_inserter(out_), "{}", v);
    else out_ += "null";
  }

  void WriteSingular(const Message& m, const FieldDescriptor* f, int depth) {
    const Reflection* r = m.GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE: WriteMessage(r->GetMessage(m, f), depth); return;
      case FieldDescriptor::CPPTYPE_STRING: AppendJsonString(out_, r->GetString(m, f)); return;
      case FieldDescriptor::CPPTYPE_ENUM: AppendJsonString(out_, r->GetEnum(m, f)->name()); return;
      case FieldDescriptor::CPPTYPE_DOUBLE: WriteDouble(r->GetDouble(m, f)); return;
      case FieldDescriptor::CPPTYPE_FLOAT: WriteDouble(r->GetFloat(m, f)); return;
      default: out_ += ScalarText(m, f); return;
    }
  }

  void WriteElement(const Message& m, const FieldDescriptor* f, int i, int depth) {
    const Reflection* r = m.GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE: WriteMessage(r->GetRepeatedMessage(m, f, i), depth); return;
      case FieldDescriptor::CPPTYPE_STRING: AppendJsonString(out_, r->GetRepeatedString(m, f, i)); return;
      case FieldDescriptor::CPPTYPE_ENUM: AppendJsonString(out_, r->GetRepeatedEnum(m, f, i)->name()); return;
      case FieldDescriptor::CPPTYPE_INT32: fmt::format_to(std::back_inserter(out_), "{}", r->GetRepeatedInt32(m, f, i)); return;
      case FieldDescriptor::CPPTYPE_INT64: fmt::format_to(std::back_inserter(out_), "{}", r->GetRepeatedInt64(m, f, i)); return;
      case FieldDescriptor::CPPTYPE_UINT32: fmt::format_to(std::back_inserter(out_), "{}", r->GetRepeatedUInt32(m, f, i)); return;
      case FieldDescriptor::CPPTYPE_UINT64: fmt::format_to(std::back_inserter(out_), "{}", r->GetRepeatedUInt64(m, f, i)); return;
      case FieldDescriptor::CPPTYPE_BOOL: out_ += r->GetRepeatedBool(m, f, i) ? "true" : "false"; return;
      case FieldDescriptor::CPPTYPE_DOUBLE: WriteDouble(r->GetRepeatedDouble(m, f, i)); return;
      case FieldDescriptor::CPPTYPE_FLOAT: WriteDouble(r->GetRepeatedFloat(m, f, i)); return;
    }
  }

  bool pretty_;
  std::string out_;
};

}  // namespace

std::string MessageToOciJson(const Message& message, bool pretty) {
  Writer w(pretty);
  w.WriteMessage(message, 0);
  std::string out = w.Take();
  if (pretty) out.push_back('\n');
  return out;
}

}  // namespace kata::oci
