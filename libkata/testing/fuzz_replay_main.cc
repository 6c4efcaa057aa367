// The main of a fuzz target in the regular (GCC, ASan + UBSan) builds: runs
// LLVMFuzzerTestOneInput on every file of the corpus directories it is given, once each.
// The seed corpus and every input a fuzzing run found crashing (kept as regressions/) so
// become a test of the suite; libFuzzer's own main (ci/fuzz, clang) explores from them.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
        // .gitkeep holds an empty regressions/ directory in the repository.
        if (entry.is_regular_file() && entry.path().filename().string().front() != '.') inputs.push_back(entry.path());
      }
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "fuzz replay: %s is neither a file nor a directory\n", argv[i]);
      std::printf("kata-test-summary: passed=0 failed=1 skipped=0\n");
      return 1;
    }
  }
  if (inputs.empty()) {  // a corpus that went missing must not pass as "nothing crashed"
    std::fprintf(stderr, "fuzz replay: no inputs\n");
    std::printf("kata-test-summary: passed=0 failed=1 skipped=0\n");
    return 1;
  }
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "fuzz replay: %s (%zu bytes)\n", path.c_str(), data.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
  // A sanitizer report aborts before this line; reaching it means every input ran clean.
  std::printf("fuzz replay: %zu inputs ran clean\n", inputs.size());
  std::printf("kata-test-summary: passed=1 failed=0 skipped=0\n");
  return 0;
}
