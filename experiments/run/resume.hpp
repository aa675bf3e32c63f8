// What stopping and continuing a training run needs beyond the trainer: the run's training
// settings as config.json holds them (a resumed run takes them from there, not from flags),
// SIGINT / SIGTERM turned into a request to stop after the current step, taking over a run folder
// to continue it, and the tests' way to stop a run after a given step.
#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "autodiff/blas.hpp"
#include "vae/train.hpp"

namespace vk::programs {

// config.json's "training" object of a run, and its options back from it (absent keys take
// TrainOptions' defaults, so runs of older builds continue too).
nlohmann::json training_json(const vae::TrainOptions& o, std::size_t epochs, int threads);
vae::TrainOptions training_options(const nlohmann::json& training);

// What vae-train reads from a run's config.json, in one place so that the config fuzz target
// (fuzz/fuzz_config.cpp) reads it as the program does. Absent keys of older builds take their
// defaults. Throws IoError naming file (the config.json that config was read from) and the key.
struct RunSettings {
  vae::ModelConfig model;
  vae::TrainOptions training;
  std::size_t epochs = 0, checkpoint_every = 1, keep_checkpoints = 2, iw_samples = 0;
  std::string data_dir;
  std::size_t limit = 0;
  std::optional<std::size_t> train_count;  // of runs that recorded it
  int threads = 1;
  blas::Precision precision = blas::Precision::f32;  // of runs that recorded it
};
RunSettings run_settings(const nlohmann::json& config, const std::filesystem::path& file);

// What a checkpoint's training state says of the run beyond the trainer's own state, as vae-train
// continues it: the epochs done, the metrics of those epochs, the seconds trained and the images
// seen. Throws IoError naming the checkpoint's training_state.json when one is missing or of the
// wrong type.
struct RunProgress {
  std::size_t epochs_done = 0;
  nlohmann::json metrics = nlohmann::json::array();
  double train_seconds = 0;
  std::size_t trained = 0;
};
RunProgress run_progress(const TrainingState& state, const std::filesystem::path& checkpoint);

// After this, the first SIGINT or SIGTERM sets stop_requested() and stop_signal(); a second one
// ends the program at once, as it would have without the handler.
void catch_stop_signals();
const std::atomic<bool>& stop_requested();
int stop_signal();           // the signal that asked, 0 if none
const char* signal_name(int signal);

// Before a run is continued (by rank 0): holds the run folder's lock for the rest of the process
// (another writer refuses, see support::hold_run_lock) and puts its newest whole checkpoint in
// place (recover_checkpoint), saying in one line on stderr when the newest was damaged.
void take_over_run(const std::filesystem::path& dir);

// For tests, called after every optimizer step: with VAEKIT_TEST_RAISE_AFTER_STEPS=N:SIGNAL in the
// environment (SIGNAL: INT, TERM, KILL or STOP), the Nth call raises SIGNAL on this process, so a
// test stops or kills a run after a step it chooses instead of at a moment it guesses; SIGINT and
// SIGTERM go through the handler above, as a signal from outside would. Unset: nothing happens.
// Throws std::invalid_argument when the variable is malformed.
void after_step_for_tests();

}  // namespace vk::programs
