// A run small enough to build and step in every fuzz input: 12 images of 4x4 pixels and a VAE
// 16-[8]-2 with the optimal-sigma noise model (whose epoch sums the training state carries). Its
// checkpoint and config.json are written by the programs' own writers, the way vae-train writes
// them, so make_seeds and the targets agree on every byte of the files that are not fuzzed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "experiments/run/resume.hpp"
#include "experiments/run/vae_run.hpp"
#include "io/checkpoint.hpp"
#include "vae/registry.hpp"
#include "vae/train.hpp"

namespace vk::fuzz {

inline data::ImageSet tiny_images() {
  data::ImageSet set;
  set.count = 12;
  set.height = set.width = 4;
  set.classes = 3;
  for (std::size_t i = 0; i < set.count * set.dim(); ++i) set.pixels.push_back(std::uint8_t((i * 37 + i / 7) % 256));
  for (std::size_t i = 0; i < set.count; ++i) set.labels.push_back(std::uint8_t(i % set.classes));
  return set;
}

inline vae::ModelConfig tiny_model_config() {
  vae::ModelConfig c;
  c.sigma = vae::Sigma::optimal;
  c.input_dim = 16;
  c.hidden = {8};
  c.latent = 2;
  return c;
}

// Batches of 5 of 12 images: the last batch of an epoch is a short one.
inline vae::TrainOptions tiny_training() {
  vae::TrainOptions o;
  o.batch = 5;
  return o;
}

// The data of tiny_images as load_run_data would give it (the test set is the training set).
inline programs::RunData tiny_run_data() {
  programs::RunData rd;
  rd.dataset.train = rd.dataset.test = rd.test = tiny_images();
  return rd;
}

// config.json of the tiny run, as vae-train writes it for a new run.
inline nlohmann::json tiny_run_config() {
  nlohmann::json config = programs::run_config(tiny_model_config(), programs::training_json(tiny_training(), 3, 1),
                                               "/nonexistent/data", tiny_run_data(), 0, 0);
  config["checkpoint_every"] = 1;
  config["keep_checkpoints"] = 2;
  return config;
}

// The tiny run stopped after its first epoch (3 batches) and one batch of its second, in the
// middle of an epoch as a SIGINT leaves it, checkpointed into dir as vae-train does: the model's
// config as metadata, the trainer's state with the run's progress beside it.
inline void write_tiny_checkpoint(const std::filesystem::path& dir) {
  const data::ImageSet images = tiny_images();
  auto model = vae::make_model<float>(tiny_model_config(), 1);
  vae::Trainer<float> trainer(*model, images, tiny_training());
  trainer.run_epoch();
  std::atomic<bool> stop{false};
  trainer.run_epoch([&](std::size_t, std::size_t, double) { stop = true; }, &stop);
  TrainingState state = trainer.state();
  state.info["run"] = {{"metrics", nlohmann::json::array({{{"epoch", 1}, {"test_nelbo", 12.5}}})},
                       {"train_seconds", 0.25}, {"trained", images.count}};
  save_checkpoint(dir, model->params(), {{"model", vae::to_json(model->config())}}, &state);
}

// Continues the tiny run from checkpoint as vae-train --resume does: the training state and the
// run's progress, the parameters, the trainer's state restored, the metrics so far written out
// again, and one more step.
inline void resume_tiny_run(const std::filesystem::path& checkpoint) {
  const TrainingState state = load_training_state(checkpoint);
  const programs::RunProgress progress = programs::run_progress(state, checkpoint);
  const data::ImageSet images = tiny_images();
  auto model = vae::make_model<float>(tiny_model_config(), 1);
  vae::Trainer<float> trainer(*model, images, tiny_training());
  load_checkpoint(checkpoint, model->params());
  trainer.restore(state);
  std::string lines;
  for (const nlohmann::json& m : progress.metrics) lines += m.dump() + "\n";
  std::atomic<bool> stop{false};
  trainer.run_epoch([&](std::size_t, std::size_t, double) { stop = true; }, &stop);
}

// Whether a model a fuzz input describes is small enough to build and step in every input: a
// limit of the fuzz run's time and memory, not of the readers (a big model is a valid one).
inline bool small_enough(const vae::ModelConfig& c, const vae::TrainOptions& t) {
  auto small = [](const std::vector<std::size_t>& widths) {
    if (widths.size() > 4) return false;
    for (std::size_t w : widths)
      if (w > 64) return false;
    return true;
  };
  for (const auto& [name, value] : c.settings)
    if (value.size() > 2) return false;  // a count setting (--components) of at most 99
  return c.input_dim <= 784 && c.latent <= 64 && c.classes <= 16 && c.embedding <= 64 && small(c.hidden) &&
         small(c.hidden2) && small(c.latents_above) && t.batch <= 64 && t.k <= 8;
}

// Builds the model c describes and takes one training step on images of its size, as a run
// continued from c and t would.
inline void train_one_step(const vae::ModelConfig& c, const vae::TrainOptions& t) {
  data::ImageSet images;
  images.count = 6;
  const Shape shape = c.image_shape();
  images.height = shape.height;
  images.width = shape.width;
  images.channels = shape.channels;
  images.classes = c.conditional() ? c.classes : 10;
  for (std::size_t i = 0; i < images.count * images.dim(); ++i) images.pixels.push_back(std::uint8_t(i * 29 % 256));
  for (std::size_t i = 0; i < images.count; ++i) images.labels.push_back(std::uint8_t(i % images.classes));
  auto model = vae::make_model<float>(c, t.seed);
  vae::Trainer<float> trainer(*model, images, t);
  std::atomic<bool> stop{false};
  trainer.run_epoch([&](std::size_t, std::size_t, double) { stop = true; }, &stop);
}

}  // namespace vk::fuzz
