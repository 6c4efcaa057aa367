#pragma once

// OCI hooks, run where Kata runs them (docs/oci-spec.md): prestart, createRuntime and
// createContainer on the host once the VM is up and before the container is created in it
// (createContainer's "container namespace" would be the guest's, where host binaries are not:
// Kata runs them in the VMM's namespace, as we do); poststart after the start, poststop after
// the removal. Each hook gets the container's state JSON on stdin; `timeout` kills it.
// startContainer hooks would run inside the guest's container and are refused.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "protocols/oci.pb.h"

namespace kata::runtime {

// The OCI state (runtime-spec runtime.md): ociVersion, id, status, pid, bundle, annotations.
std::string HookState(const oci::Spec& spec, const std::string& id, std::string_view status, pid_t pid,
                      const std::string& bundle);

// Runs one hook with `state` on its stdin; an error names `what` (hooks.prestart[0]), the path,
// and the exit status or the timeout, with the end of its stderr.
absl::Status RunHook(const oci::Hook& hook, const std::string& state, const std::string& what);

// Runs `hooks` in order. `stop_at_failure`: the first failure is returned (creation hooks);
// otherwise each failure is logged and the rest still run (poststart, poststop, as the spec says).
absl::Status RunHooks(const google::protobuf::RepeatedPtrField<oci::Hook>& hooks, std::string_view list_name,
                      const std::string& state, bool stop_at_failure);

// InvalidArgument for hooks this runtime cannot run (startContainer), before anything is made.
absl::Status CheckHooksSupported(const oci::Spec& spec);

}  // namespace kata::runtime
