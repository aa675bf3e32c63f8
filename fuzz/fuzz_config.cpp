// libFuzzer target: a run folder's config.json, read as the programs read it. vae-train --resume:
// read_run_config, then run_settings (the model, the training, the data and how long); when the
// model it describes is small, the model is built and takes a step as the resumed run would.
// vae-eval: dequantized(). vae-report: the page of the folder, whose summary and settings table
// read the file leniently. Any exception is a refusal the programs report in one line; a crash, a hang, a leak
// or undefined behaviour is a finding.
#include <filesystem>

#include "experiments/report/run_report.hpp"
#include "experiments/run/resume.hpp"
#include "experiments/run/vae_run.hpp"
#include "fuzz/scratch.hpp"
#include "fuzz/tiny_run.hpp"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path dir = [] {
    fs::path d = vk::fuzz::scratch_dir() / "run";
    fs::create_directories(d);
    return d;
  }();
  vk::fuzz::write_file(dir / "config.json", vk::fuzz::as_text(data, size));
  try {
    const nlohmann::json config = vk::programs::read_run_config(dir);
    const vk::programs::RunSettings s = vk::programs::run_settings(config, dir / "config.json");
    (void)vk::programs::dequantized(config);
    if (vk::fuzz::small_enough(s.model, s.training)) vk::fuzz::train_one_step(s.model, s.training);
  } catch (const std::exception&) {
  }
  try {
    (void)vk::report::run_report(dir);
  } catch (const std::exception&) {
  }
  return 0;
}
