#include "host-runtime/shim/pod_role.h"

#include "libkata/base/identifiers.h"
#include "libkata/base/str_cat.h"

namespace kata::shim {
namespace {

struct AnnotationKeys {
  const char* type;
  const char* container_value;  // the type of a container that joins a sandbox
  const char* sandbox_id;
};

constexpr AnnotationKeys kRuntimes[] = {
    {"io.kubernetes.cri.container-type", "container", "io.kubernetes.cri.sandbox-id"},
    {"io.kubernetes.cri-o.ContainerType", "container", "io.kubernetes.cri-o.SandboxID"},
};

}  // namespace

absl::StatusOr<PodRole> PodRoleOf(const oci::Spec& spec) {
  const auto& annotations = spec.annotations();
  for (const AnnotationKeys& keys : kRuntimes) {
    auto type = annotations.find(keys.type);
    if (type == annotations.end() || type->second != keys.container_value) continue;
    auto id = annotations.find(keys.sandbox_id);
    if (id == annotations.end() || !ValidateId("sandbox id", id->second).ok()) {
      return absl::InvalidArgumentError(StrCat("annotation ", keys.sandbox_id, ": a container of a pod must name its sandbox (got \"",
                                               id == annotations.end() ? "" : id->second, "\")"));
    }
    return PodRole{true, id->second};
  }
  return PodRole{};
}

}  // namespace kata::shim
