// Runs LLVMFuzzerTestOneInput over every file of the given corpus folders (or
// files) with g++ and no libFuzzer, so CTest exercises the fuzz target and its
// invariants on every build. Each file is also replayed truncated at every
// length and with each byte replaced by a few framing-relevant bytes, a cheap
// deterministic mutation pass. Exit status 0 when every input ran (a broken
// invariant aborts).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

std::size_t replay(const std::string& bytes) {
  std::size_t runs = 0;
  for (std::size_t n = 0; n <= bytes.size(); ++n, ++runs) run(bytes.substr(0, n));
  static constexpr char specials[] = {'\r', '\n', ' ', '\t', '\0', ':', ',', ';', '\x7f'};
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (char c : specials) {
      if (bytes[i] == c) continue;
      std::string mutated = bytes;
      mutated[i] = c;
      run(mutated);
      ++runs;
    }
  }
  return runs;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path p(argv[i]);
    if (fs::is_directory(p)) {
      for (const auto& e : fs::directory_iterator(p)) {
        if (e.is_regular_file()) files.push_back(e.path());
      }
    } else {
      files.push_back(p);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: fuzz_replay CORPUS_DIR_OR_FILE...\n");
    return 2;
  }
  std::size_t runs = 0;
  for (const auto& f : files) {
    std::string bytes(static_cast<std::size_t>(fs::file_size(f)), '\0');
    std::ifstream in(f, std::ios::binary);
    if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
      std::fprintf(stderr, "cannot read %s\n", f.c_str());
      return 1;
    }
    runs += replay(bytes);
  }
  std::printf("fuzz_replay: %zu files, %zu inputs, all invariants held\n", files.size(), runs);
  return 0;
}
