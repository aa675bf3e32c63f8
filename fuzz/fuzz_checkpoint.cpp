// libFuzzer target: a checkpoint folder (packed_folder.hpp) read by read_checkpoint_manifest and
// loaded into a store that has the manifest's parameters, so every file it names is read.
#include <nlohmann/json.hpp>

#include "fuzz/packed_folder.hpp"
#include "fuzz/scratch.hpp"
#include "io/checkpoint.hpp"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path dir = vk::fuzz::scratch_dir() / "checkpoint";
  fs::remove_all(dir);
  fs::create_directory(dir);
  for (const auto& f : vk::fuzz::unpack(vk::fuzz::as_text(data, size)))
    vk::fuzz::write_file(dir / f.name, f.bytes);
  try {
    const nlohmann::json manifest = vk::read_checkpoint_manifest(dir);
    vk::ParameterStore<float> store;
    // Shapes are the manifest's, capped so that a big one costs no big allocation.
    constexpr std::uint64_t cap = 1 << 16;
    for (const auto& p : manifest["parameters"]) {
      const std::uint64_t rows = p["shape"][0], cols = p["shape"][1];
      if (rows == 0 || cols == 0 || rows > cap || cols > cap || rows * cols > cap) continue;
      store.add(p["name"], rows, cols);
    }
    vk::load_checkpoint(dir, store);
  } catch (const vk::IoError&) {
  }
  return 0;
}
