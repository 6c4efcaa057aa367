#include "libkata/agent_api/agent_methods.h"

namespace kata::agent_api {

const std::vector<MethodInfo>& Methods() {
  static const auto* methods = new std::vector<MethodInfo>{
#define KATA_AGENT_METHOD_INFO(service, method, Req, Resp) \
  MethodInfo{service, #method, &Req::default_instance(), &Resp::default_instance()},
      KATA_AGENT_API_METHODS(KATA_AGENT_METHOD_INFO)
#undef KATA_AGENT_METHOD_INFO
  };
  return *methods;
}

const MethodInfo* FindMethod(std::string_view method) {
  for (const MethodInfo& m : Methods()) {
    if (m.method == method) return &m;
  }
  return nullptr;
}

}  // namespace kata::agent_api
