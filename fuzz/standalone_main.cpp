// Replays a fuzz target's committed seeds without libFuzzer, so `make test` (gcc, ASan)
// runs every corpus as a regression test. usage: <target>_replay [--optional] DIR|FILE...
// A path after --optional may be missing (fuzz/<t>/regressions exists only once triage wrote
// one); every other path must exist. Zero inputs in total is a failure, not a pass.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

static int run_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

int main(int argc, char** argv) {
  std::size_t count = 0;
  bool optional = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--optional") { optional = true; continue; }
    std::filesystem::path arg(argv[i]);
    const bool next_optional = std::exchange(optional, false);
    if (!std::filesystem::exists(arg)) {
      if (next_optional) continue;
      std::fprintf(stderr, "missing input: %s\n", argv[i]);
      return 1;
    }
    if (std::filesystem::is_directory(arg)) {
      std::vector<std::filesystem::path> files;
      for (const auto& e : std::filesystem::recursive_directory_iterator(arg))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());  // stable order: reproducible failures
      for (const auto& f : files) { run_file(f); ++count; }
    } else {
      run_file(arg);
      ++count;
    }
  }
  // An empty corpus is a broken test, not a pass.
  if (count == 0) { std::fprintf(stderr, "no seeds found\n"); return 1; }
  std::printf("replayed %zu inputs\n", count);
  return 0;
}
