// What the VAE programs share: the data a run was trained on and rebuilding a run's model from its
// folder (the pictures and the report of a run are in report/).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/batcher.hpp"
#include "datasets/load.hpp"
#include "experiments/support/progress.hpp"
#include "vae/evaluate.hpp"
#include "vae/registry.hpp"

namespace vk::programs {

// Every evaluation of every model sees the same binary test images.
inline constexpr std::uint64_t kTestBinarizeSeed = 20260101;
// The eps of evaluations, fixed so vae-eval reproduces a run's final numbers.
inline constexpr std::uint64_t kEvalSeed = 7;

data::Binarize parse_binarize(const std::string& s);
bool parse_dequantize(const std::string& s);  // "uniform" or "none"; throws naming --dequantize
// "512,256" -> {512, 256}; throws std::invalid_argument naming the flag otherwise.
std::vector<std::size_t> parse_widths(const std::string& s, const char* flag = "--hidden");
// "784-512-256-32" -> input 784, hidden {512, 256}, latent 32; throws naming --arch otherwise.
struct Arch {
  std::size_t input;
  std::vector<std::size_t> hidden;
  std::size_t latent;
};
Arch parse_arch(const std::string& s);
const char* name(data::Binarize b);
// The most memory this process has held resident so far, in MB (getrusage's ru_maxrss).
double peak_rss_mb();

// The training and test sets as a run uses them (dir: what --data names, datasets/load.hpp): the
// first `limit` training images (0: all),
// and the test set binarized once with kTestBinarizeSeed when the training images are binarized.
struct RunData {
  data::Dataset dataset;
  data::ImageSet test;  // in the form the model is evaluated on
};
RunData load_run_data(const std::filesystem::path& dir, std::size_t limit, data::Binarize binarize);

// A run folder's config.json: the model, its training (training_json), the data it read, how it
// is evaluated, and the BLAS it runs on. The one place a run's configuration is put together.
nlohmann::json run_config(const vae::ModelConfig& model, nlohmann::json training, const std::filesystem::path& data_dir,
                          const RunData& data, std::size_t limit, std::size_t iw_samples);

// Evaluation of a run's model as every program does it: batches of 500, the eps of kEvalSeed,
// the test images dequantized with kTestBinarizeSeed when the run trained on dequantized ones.
vae::EvalOptions eval_options(bool dequantize, std::size_t iw_samples = 0, std::size_t limit = 0);
// Whether a run folder's config.json says its images were dequantized (absent: no).
bool dequantized(const nlohmann::json& config);
// What a run's negative log-likelihood says in bits per dimension of the 8-bit data: nothing (a
// Bernoulli of binarized pixels, an autoencoder), a density of the dequantized pixels (a bound
// on them after + d ln 256), or a distribution over the 8-bit values themselves (the logistic).
enum class PixelBits { none, dequantized, discrete };
PixelBits pixel_bits(const vae::ModelConfig& model, bool dequantized);
// The evaluation's numbers as final.json and eval.json hold them; with bits_per_dim (and
// iw_bits_per_dim) of the 8-bit data where `bits` gives them.
nlohmann::json eval_json(const vae::EvalResult& r, std::size_t dim, PixelBits bits);
// The first `limit` test images (0: all) exactly as evaluate() reads them, into dir:
// images.npy (float32 [n, d]), labels.npy (float32 [n, 1]) and info.json (form, count, seed).
void write_test_set(const data::ImageSet& test, const vae::EvalOptions& options, const char* form,
                    const std::filesystem::path& dir);

// A progress line on stderr from rank 0; the other ranks' (under mpirun) goes nowhere.
std::unique_ptr<support::Progress> rank_progress(std::string label, std::size_t total, std::string unit);

// A run folder's config.json. Throws naming the folder when it is not a run's.
nlohmann::json read_run_config(const std::filesystem::path& dir);

// The model of a run folder: its config.json and checkpoint/ (or the newest whole checkpoint a
// killed save left beside it, see find_checkpoint). Throws with a clear message when
// either is missing or they do not match.
// settings overrides settings of the kind that leave its parameters as they are (--sample-steps
// of --model diffusion); one the kind does not take is refused in one line.
struct LoadedRun {
  nlohmann::json config;
  std::unique_ptr<vae::Model<float>> model;
};
LoadedRun load_run(const std::filesystem::path& dir, const std::map<std::string, std::string>& settings = {});
// The settings a sampling program's --sample-steps S overrides: none unless it is among the flags given.
std::map<std::string, std::string> sampler_settings(const std::vector<std::string>& given, std::size_t sample_steps);

}  // namespace vk::programs
