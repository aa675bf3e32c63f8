#include "experiments/run/resume.hpp"

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "experiments/run/vae_run.hpp"
#include "experiments/support/files.hpp"
#include "io/checkpoint.hpp"
#include "io/json_number.hpp"

namespace vk::programs {

nlohmann::json training_json(const vae::TrainOptions& o, std::size_t epochs, int threads) {
  return {{"epochs", epochs}, {"batch", o.batch}, {"lr", o.lr}, {"seed", o.seed}, {"binarize", name(o.binarize)},
          {"beta", o.beta}, {"warmup_epochs", o.warmup_epochs}, {"max_grad_norm", o.clip},
          {"objective", vae::name(o.bound)}, {"k", o.k}, {"free_bits", o.free_bits}, {"dequantize", o.dequantize ? "uniform" : "none"},
          {"lr_schedule", vae::name(o.lr_schedule)}, {"ema", o.ema}, {"split", vae::name(o.split)},
          {"threads", threads}};
}

vae::TrainOptions training_options(const nlohmann::json& t) {
  vae::TrainOptions o;
  o.batch = whole_number_or(t, "batch", o.batch);
  o.lr = t.value("lr", o.lr);
  o.seed = whole_number_or(t, "seed", o.seed);
  o.binarize = parse_binarize(t.value("binarize", std::string("none")));
  o.dequantize = t.value("dequantize", std::string("none")) == "uniform";
  o.beta = t.value("beta", o.beta);
  o.warmup_epochs = whole_number_or(t, "warmup_epochs", o.warmup_epochs);
  o.clip = t.value("max_grad_norm", t.value("clip", o.clip));  // "clip" in runs of older builds
  o.bound = vae::parse_bound(t.value("objective", std::string("elbo")));
  o.k = whole_number_or(t, "k", o.k);
  o.free_bits = t.value("free_bits", o.free_bits);
  o.lr_schedule = vae::parse_lr_schedule(t.value("lr_schedule", std::string("constant")));
  o.schedule_epochs = whole_number_or(t, "epochs", std::size_t(0));
  o.ema = t.value("ema", 0.0);
  o.split = vae::parse_split(t.value("split", std::string("ops")));
  return o;
}

RunSettings run_settings(const nlohmann::json& config, const std::filesystem::path& file) try {
  RunSettings s;
  s.model = vae::model_config_from_json(config.at("model"));
  const nlohmann::json& t = config.at("training");
  s.training = training_options(t);
  s.epochs = whole_number<std::size_t>(t.at("epochs"), "epochs");
  s.threads = whole_number_or(t, "threads", 1);
  s.precision = blas::parse_precision(t.value("precision", std::string("float")));
  s.checkpoint_every = whole_number_or(config, "checkpoint_every", s.checkpoint_every);
  s.keep_checkpoints = whole_number_or(config, "keep_checkpoints", s.keep_checkpoints);
  s.iw_samples = whole_number_or(config.at("eval"), "iw_samples", s.iw_samples);
  const nlohmann::json& data = config.at("data");
  s.data_dir = data.at("dir").get<std::string>();
  s.limit = whole_number<std::size_t>(data.at("limit"), "limit");
  if (data.contains("train_count")) s.train_count = whole_number<std::size_t>(data.at("train_count"), "train_count");
  return s;
} catch (const std::exception& e) {  // json's, a whole number's or the model's
  fail(file, e.what());
}

RunProgress run_progress(const TrainingState& state, const std::filesystem::path& checkpoint) {
  try {
    const nlohmann::json& i = state.info;
    RunProgress p;
    const std::size_t epoch = whole_number<std::size_t>(i.at("epoch"), "epoch");
    const bool in_epoch = i.at("in_epoch").get<bool>();
    if (in_epoch && epoch == 0) throw std::invalid_argument("\"in_epoch\" is true of epoch 0, which is before the first");
    p.epochs_done = epoch - (in_epoch ? 1 : 0);
    const nlohmann::json& run = i.at("run");
    p.metrics = run.at("metrics");
    if (!p.metrics.is_array()) throw std::invalid_argument("\"run\": \"metrics\" is not an array");
    p.train_seconds = run.at("train_seconds").get<double>();
    p.trained = whole_number<std::size_t>(run.at("trained"), "trained");
    return p;
  } catch (const std::exception& e) {  // json's or the check's
    fail(checkpoint / "training_state.json", e.what());
  }
}

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "a signal handler may only touch lock-free atomics");

void on_stop_signal(int signal) {
  if (g_stop.load()) {  // asked twice: stop now
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  g_signal.store(signal);
  g_stop.store(true);
}

}  // namespace

void catch_stop_signals() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

const std::atomic<bool>& stop_requested() { return g_stop; }
int stop_signal() { return g_signal.load(); }
const char* signal_name(int signal) { return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "a signal"; }

void take_over_run(const std::filesystem::path& dir) {
  support::hold_run_lock(dir);
  if (const std::string note = recover_checkpoint(dir / "checkpoint"); !note.empty())
    fmt::print(stderr, "vae-train: {}; resuming from it\n", note);
}

namespace {

struct RaiseAfter {
  long steps = 0;  // 0: never
  int signal = 0;
};

RaiseAfter raise_after_from_environment() {
  const char* text = std::getenv("VAEKIT_TEST_RAISE_AFTER_STEPS");
  if (!text || !*text) return {};
  const std::string value = text;
  const std::size_t colon = value.find(':');
  std::string name = colon == std::string::npos ? "" : value.substr(colon + 1);
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  const int signal = name == "INT" ? SIGINT : name == "TERM" ? SIGTERM : name == "KILL" ? SIGKILL : name == "STOP" ? SIGSTOP : 0;
  char* end = nullptr;
  const long steps = std::strtol(value.c_str(), &end, 10);
  if (!signal || steps < 1 || end != value.c_str() + colon)
    throw std::invalid_argument("VAEKIT_TEST_RAISE_AFTER_STEPS=" + value + ": expected N:SIGNAL, N >= 1, SIGNAL one of INT, TERM, KILL, STOP");
  return {steps, signal};
}

}  // namespace

void after_step_for_tests() {
  static const RaiseAfter plan = raise_after_from_environment();
  static long steps = 0;
  if (plan.steps && ++steps == plan.steps) std::raise(plan.signal);
}

}  // namespace vk::programs
