// libFuzzer target: vae-train's command line (the input is its arguments, separated by '\0'),
// parsed by the program's own declaration of its flags (experiments/train_flags.hpp) and checked
// as the program does, up to the config.json of a new run on 28x28 images; a small model is then
// built and takes a step. Besides crashes, hangs, leaks and undefined behaviour, it checks that
// what vae-train writes into config.json for accepted flags reads back (run_settings), as a
// resumed run and vae-eval read it.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "experiments/run/resume.hpp"
#include "experiments/train_flags.hpp"
#include "fuzz/scratch.hpp"
#include "fuzz/tiny_run.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // --help and usage errors print; nothing of them is checked here, and printing slows the run.
  static const bool quiet = (std::cout.rdbuf(nullptr), std::cerr.rdbuf(nullptr), true);
  (void)quiet;
  std::vector<std::string> args = {"vae-train"};
  const std::string_view text = vk::fuzz::as_text(data, size);
  for (std::size_t start = 0; start <= text.size() && args.size() < 64;) {
    const std::size_t end = std::min(text.find('\0', start), text.size());
    args.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  vk::support::Command cmd("vae-train", "fuzzed");
  vk::programs::TrainFlags o;
  vk::programs::declare_train_flags(cmd, o);
  if (cmd.parse(int(args.size()), argv.data())) return 0;
  const std::vector<std::string> given = cmd.given();
  nlohmann::json config;
  try {
    if (!o.resume.empty()) {
      vk::programs::check_resume_flags(o, given);
      return 0;  // the rest reads the run folder (fuzz_config, fuzz_state)
    }
    vk::programs::check_new_run_flags(o, given);
    vk::programs::RunData rd;
    rd.dataset.train.height = rd.dataset.train.width = 28;
    rd.dataset.train.count = 60000;
    config = vk::programs::new_run_config(o, rd, given);
  } catch (const std::exception&) {
    return 0;  // a refusal in one line
  }
  vk::programs::RunSettings s;
  try {
    // As write_json_atomic writes it: invalid UTF-8 (say, in --data) replaced.
    s = vk::programs::run_settings(nlohmann::json::parse(config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)), "config.json");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_cli: the config.json of accepted flags does not read back: %s\n", e.what());
    std::abort();
  }
  try {
    if (vk::fuzz::small_enough(s.model, s.training)) vk::fuzz::train_one_step(s.model, s.training);
  } catch (const std::exception&) {
  }
  return 0;
}
