// libFuzzer target: a checkpoint's manifest.json, beside the real files of a tiny run's checkpoint
// (fuzz/tiny_run.hpp), read as vae-eval and vae-train --resume read it: load_run (find_checkpoint
// verifies every file the manifest lists, the model is rebuilt from its metadata and its
// parameters loaded) when the model it describes is small, the parameters it lists loaded into a
// store otherwise, then the tiny run continued from it.
//
// The manifest carries its own crc32, which almost every mutation breaks; the target writes the
// right one in, as a program that edits a manifest and rewrites its checksum would, so inputs
// reach the readers behind the check (the check itself is tests/test_checkpoint_integrity.cpp's).
#include <filesystem>
#include <fstream>
#include <string>

#include "experiments/run/vae_run.hpp"
#include "fuzz/scratch.hpp"
#include "fuzz/tiny_run.hpp"
#include "io/checkpoint_files.hpp"

namespace fs = std::filesystem;

namespace {

// The input with its "manifest_crc32" value, when it has one where the writer puts it, made right.
std::string with_own_sum(std::string text) {
  constexpr std::string_view key = "\n  \"manifest_crc32\": \"";
  const std::size_t at = text.find(key);
  if (at == std::string::npos || text.size() < at + key.size() + 8) return text;
  text.replace(at + key.size(), 8, "00000000");
  text.replace(at + key.size(), 8, vk::checkpoint_files::crc32_hex(text));
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path run = [] {
    const fs::path dir = vk::fuzz::scratch_dir() / "manifest-run";
    vk::fuzz::write_tiny_checkpoint(dir / "checkpoint");
    vk::fuzz::write_file(dir / "config.json", vk::fuzz::tiny_run_config().dump(2));
    return dir;
  }();
  const fs::path checkpoint = run / "checkpoint";
  vk::fuzz::write_file(checkpoint / "manifest.json", with_own_sum(std::string(vk::fuzz::as_text(data, size))));
  try {
    const nlohmann::json manifest = vk::verify_checkpoint(checkpoint);
    const vk::vae::ModelConfig mc = vk::vae::model_config_from_json(manifest.at("metadata").at("model"));
    if (vk::fuzz::small_enough(mc, vk::vae::TrainOptions{.batch = 1})) {
      (void)vk::programs::load_run(run);
    } else {
      vk::ParameterStore<float> store;
      constexpr std::uint64_t cap = 1 << 16;  // shapes are the manifest's: no big allocation
      for (const auto& p : manifest["parameters"]) {
        const std::uint64_t rows = p["shape"][0], cols = p["shape"][1];
        if (rows == 0 || cols == 0 || rows > cap || cols > cap || rows * cols > cap) continue;
        store.add(p["name"], rows, cols);
      }
      vk::load_checkpoint(checkpoint, store);
    }
  } catch (const std::exception&) {
  }
  try {
    vk::fuzz::resume_tiny_run(checkpoint);
  } catch (const std::exception&) {
  }
  return 0;
}
