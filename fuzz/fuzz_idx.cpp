// libFuzzer target: read_idx on any bytes, raw or gzip (the reader decides by the content).
#include "fuzz/scratch.hpp"
#include "io/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = vk::fuzz::scratch_dir() / "input.idx";
  vk::fuzz::write_file(file, vk::fuzz::as_text(data, size));
  // The ranks the data sets use: labels and images.
  for (std::size_t rank : {1, 3}) {
    try {
      vk::data::read_idx(file, rank);
    } catch (const vk::IoError&) {
    }
  }
  return 0;
}
