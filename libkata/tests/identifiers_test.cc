#include "libkata/base/identifiers.h"
#include "libkata/testing/test_support.h"

TEST_CASE("ids: ordinary container ids pass", "[ids]") {
  for (const char* id : {"c1", "abc-DEF_0.9", "4f0b8c0e1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d"}) {
    INFO(id);
    CHECK(kata::ValidateId("container id", id).ok());
  }
}

TEST_CASE("ids: hostile ids are refused naming the field", "[ids]") {
  const std::string nul("a\0b", 3);
  for (const std::string& id : {std::string(""), std::string("../x"), std::string("a/b"), std::string("a\\b"),
                                std::string(".."), std::string("a..b"), nul, std::string(".hidden"),
                                std::string("-flag"), std::string(129, 'a'), std::string("sp ace"),
                                std::string("new\nline")}) {
    const auto s = kata::ValidateId("container id", id);
    INFO(s);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(s.message()).rfind("container id", 0) == 0);
  }
}
