// --model flow: a normalizing flow over dequantized pixels, RealNVP's logit pre-transform and
// Glow's steps with fully connected coupling networks:
//   x in [0, 1]^d -> logit -> T x [actnorm -> LU linear -> affine coupling] -> z ~ N(0, I),
//   log p(x) = log N(f(x); 0, I) + log|det df/dx|,
// exact, so the "bound" it trains is the negative log-likelihood itself and bits/dim follow from
// it (vae/bounds.hpp). z has x's width; it encodes with f and decodes (and samples) with f^-1.
// The couplings alternate which half conditions; --hidden and --activation make their networks;
// --flow-steps is T. Parameters flow.<s>.{actnorm,lu,coupling}.*.
#include <fmt/format.h>

#include "vae/flows/transforms.hpp"
#include "vae/model.hpp"
#include "vae/registry.hpp"

namespace vk::vae {
namespace {

constexpr std::uint64_t kPermutations = 0x5eed'f10e'0000'0000;

template <class T>
using GlowStep = Chain<flows::ActNorm<T>, flows::LuLinear<T>, flows::AffineCoupling<T>>;

template <class T>
class FlowDensity final : public NoiselessModel<T> {
 public:
  FlowDensity(const ModelConfig& c, std::uint64_t seed) : NoiselessModel<T>(c) {
    c.validate();
    if (c.architecture != Architecture::mlp) throw std::invalid_argument("--model flow has fully connected couplings: --arch mlp");
    if (c.latent != c.input_dim)
      throw std::invalid_argument(fmt::format("--model flow maps x to a z of the same width: --latent must be {}, not {}",
                                              c.input_dim, c.latent));
    Rng rng(seed);
    const std::size_t d = c.input_dim, steps = c.count_setting("flow-steps");
    for (std::size_t s = 0; s < steps; ++s) {
      const std::string name = fmt::format("flow.{}", s);
      flows::ActNorm<T> norm(this->store_, name + ".actnorm", d);
      // The permutations are structure, not parameters: a checkpoint does not hold them, so they
      // come from the step's index, never from the seed a run was started with.
      Rng structure(kPermutations + s);
      flows::LuLinear<T> mix(this->store_, name + ".lu", d, structure);
      flows::AffineCoupling<T> coupling(this->store_, name + ".coupling", d, s % 2 == 1, c.hidden, c.activation, rng);
      steps_.emplace_back(std::move(norm), std::move(mix), std::move(coupling));
    }
  }

  std::size_t noise_width() const override { return 0; }
  bool variational() const override { return false; }

  LogWeights<T> log_weights(Var<T> x, std::optional<Var<T>> y, Var<T>, const Request& r) override {
    if (y) throw std::invalid_argument("--model flow is unconditional: it takes no label");
    if (r.k != 1) throw std::invalid_argument("--model flow has log p(x) in closed form: it takes no samples (k = 1)");
    const Pushed<T> p = push(x, false);
    LogWeights<T> lw;
    lw.log_px = add(gaussian_loglik(zeros(*x.tape, 1, x.cols()), p.z, zeros(*x.tape, 1, 1)), p.log_det);
    lw.code = p.z;
    return lw;
  }

  DiagGaussian<T> encode(Var<T> x, std::optional<Var<T>> = std::nullopt) override { return {push(x, false).z, {}}; }
  Var<T> decode(Var<T> z, std::optional<Var<T>> = std::nullopt) override {
    for (auto step = steps_.rbegin(); step != steps_.rend(); ++step) z = step->inverse(this->store_, z).z;
    return logit_.inverse(this->store_, z).z;
  }
  Var<T> mean_image(Var<T> decoded) const override { return decoded; }
  Var<T> draw_prior(Tape<T>& tape, std::optional<Var<T>> y, std::size_t n, Rng& rng) override {
    if (y) throw std::invalid_argument("--model flow is unconditional: it takes no label");
    return standard_normal(tape, n, this->config_.input_dim, rng);
  }

  bool initializes_from_data() const override { return true; }
  void initialize(Var<T> x) override { push(x, true); }

 private:
  // x through the logit and every step, log-determinants summed; `initializing` sets each
  // actnorm from the batch as it reaches it.
  Pushed<T> push(Var<T> x, bool initializing) {
    Pushed<T> out = logit_.forward(this->store_, x);
    for (const GlowStep<T>& step : steps_) {
      const Pushed<T> s = initializing ? step.initialize(this->store_, out.z) : step.forward(this->store_, out.z);
      out = {s.z, add(out.log_det, s.log_det)};
    }
    return out;
  }

  flows::Logit<T> logit_;
  std::vector<GlowStep<T>> steps_;
};

}  // namespace

template <class T>
std::unique_ptr<Model<T>> make_flow(const ModelConfig& c, std::uint64_t seed) {
  return std::make_unique<FlowDensity<T>>(c, seed);
}

VK_INSTANTIATE_FACTORY(make_flow)

}  // namespace vk::vae
