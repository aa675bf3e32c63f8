// What stopping and continuing a training run needs beyond the trainer: the run's training
// settings as config.json holds them (a resumed run takes them from there, not from flags), and
// SIGINT / SIGTERM turned into a request to stop after the current step.
#pragma once

#include <atomic>
#include <cstddef>

#include <nlohmann/json.hpp>

#include "vae/train.hpp"

namespace vk::programs {

// config.json's "training" object of a run, and its options back from it (absent keys take
// TrainOptions' defaults, so runs of older builds continue too).
nlohmann::json training_json(const vae::TrainOptions& o, std::size_t epochs, int threads);
vae::TrainOptions training_options(const nlohmann::json& training);

// After this, the first SIGINT or SIGTERM sets stop_requested() and stop_signal(); a second one
// ends the program at once, as it would have without the handler.
void catch_stop_signals();
const std::atomic<bool>& stop_requested();
int stop_signal();           // the signal that asked, 0 if none
const char* signal_name(int signal);

}  // namespace vk::programs
