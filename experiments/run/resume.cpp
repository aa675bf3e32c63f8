#include "experiments/run/resume.hpp"

#include <csignal>
#include <string>

#include "experiments/run/vae_run.hpp"

namespace vk::programs {

nlohmann::json training_json(const vae::TrainOptions& o, std::size_t epochs, int threads) {
  return {{"epochs", epochs}, {"batch", o.batch}, {"lr", o.lr}, {"seed", o.seed}, {"binarize", name(o.binarize)},
          {"beta", o.beta}, {"warmup_epochs", o.warmup_epochs}, {"max_grad_norm", o.clip},
          {"objective", vae::name(o.bound)}, {"k", o.k}, {"free_bits", o.free_bits}, {"dequantize", o.dequantize ? "uniform" : "none"},
          {"threads", threads}};
}

vae::TrainOptions training_options(const nlohmann::json& t) {
  vae::TrainOptions o;
  o.batch = t.value("batch", o.batch);
  o.lr = t.value("lr", o.lr);
  o.seed = t.value("seed", o.seed);
  o.binarize = parse_binarize(t.value("binarize", std::string("none")));
  o.dequantize = t.value("dequantize", std::string("none")) == "uniform";
  o.beta = t.value("beta", o.beta);
  o.warmup_epochs = t.value("warmup_epochs", o.warmup_epochs);
  o.clip = t.value("max_grad_norm", t.value("clip", o.clip));  // "clip" in runs of older builds
  o.bound = vae::parse_bound(t.value("objective", std::string("elbo")));
  o.k = t.value("k", o.k);
  o.free_bits = t.value("free_bits", o.free_bits);
  return o;
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

}  // namespace vk::programs
