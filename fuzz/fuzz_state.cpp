// libFuzzer target: a checkpoint's training_state.json, in a tiny run's checkpoint
// (fuzz/tiny_run.hpp) whose manifest is rewritten with its size and crc32, as a save of that text
// would have it, so that the input passes the checksums and reaches the readers: the run
// continued from it as vae-train --resume continues one (load_training_state, the run's progress,
// Trainer::restore, one more step).
#include <filesystem>

#include "fuzz/scratch.hpp"
#include "fuzz/tiny_run.hpp"
#include "io/checkpoint_files.hpp"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path checkpoint = vk::fuzz::scratch_dir() / "state-run" / "checkpoint";
  static const nlohmann::json manifest = [] {
    vk::fuzz::write_tiny_checkpoint(checkpoint);
    nlohmann::json m = vk::read_checkpoint_manifest(checkpoint);
    m.erase("manifest_crc32");
    return m;
  }();
  const std::string_view text = vk::fuzz::as_text(data, size);
  vk::fuzz::write_file(checkpoint / "training_state.json", text);
  nlohmann::json m = manifest;
  m["training_state"].update({{"bytes", text.size()}, {"crc32", vk::checkpoint_files::crc32_hex(text)}});
  vk::checkpoint_files::write_manifest(checkpoint / "manifest.json", m);
  try {
    vk::fuzz::resume_tiny_run(checkpoint);
  } catch (const std::exception&) {
  }
  return 0;
}
