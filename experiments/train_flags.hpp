// vae-train's command line: its flags, the checks a new run's and a resumed run's flags get, and
// the config.json a new run's flags make. Apart from vae_train.cpp so that the command-line fuzz
// target (fuzz/fuzz_cli.cpp) parses and checks exactly what the program does, without training.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/mnist.hpp"
#include "experiments/run/vae_run.hpp"
#include "experiments/support/cli.hpp"

namespace vk::programs {

struct TrainFlags {
  std::string model = "vae", likelihood = "gaussian", sigma = "learned", binarize = "none";
  std::string arch = "mlp", objective = "elbo", lr_schedule = "constant", split = "auto", dequantize, hidden, hidden2 = "50,50", latents, activation, condition = "encoder-decoder", data = data::default_data_dir, out, resume;
  double sigma2 = 0.01, lambda = 1e-3, lr = 1e-3, beta = 1, clip = 0, free_bits = 0, ema = 0;
  std::size_t k = 1, latent = 0, latent2 = 50, embedding = 16, epochs = 10, batch = 128, limit = 0, warmup = 0, iw = 0;
  std::size_t checkpoint_every = 1, batch_per_rank = 0, keep_checkpoints = 2, logistic_mixture = 1;
  std::string precision = "float";  // of the products: float | bf16 (blas::Precision)
  std::map<std::string, std::string> settings;  // of the kinds' own flags (vae/kinds/kind_list.hpp)
  std::uint64_t seed = 1;
  int threads = 2;
};

// Declares every flag of vae-train on cmd, each writing into o.
void declare_train_flags(support::Command& cmd, TrainFlags& o);

// With --resume only the flags that change how long and how fast a run trains may be given;
// throws std::invalid_argument naming the first other one.
void check_resume_flags(const TrainFlags& o, const std::vector<std::string>& given);

// Flags that only one setting of another flag reads, and counts a flag gives explicitly.
void check_new_run_flags(const TrainFlags& o, const std::vector<std::string>& given);

// A new run's config.json from its (checked) flags and its data; the run then reads only that.
nlohmann::json new_run_config(const TrainFlags& o, const RunData& rd, const std::vector<std::string>& given);

}  // namespace vk::programs
