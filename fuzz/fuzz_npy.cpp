// libFuzzer target: read_npy on any bytes.
#include "fuzz/scratch.hpp"
#include "io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = vk::fuzz::scratch_dir() / "input.npy";
  vk::fuzz::write_file(file, vk::fuzz::as_text(data, size));
  try {
    vk::read_npy(file);
  } catch (const vk::IoError&) {
  }
  return 0;
}
