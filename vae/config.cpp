#include "vae/config.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "autodiff/layers.hpp"
#include "io/json_number.hpp"
#include "vae/networks.hpp"
#include "vae/registry.hpp"

namespace vk::vae {
namespace {

template <class E, std::size_t N>
E parse(const char* what, const std::string& s, const std::pair<E, const char*> (&table)[N]) {
  std::string names;
  for (const auto& [e, n] : table) {
    if (s == n) return e;
    names += names.empty() ? n : std::string(", ") + n;
  }
  throw std::invalid_argument(fmt::format("unknown {} '{}' (expected one of: {})", what, s, names));
}

template <class E, std::size_t N>
const char* lookup(E e, const std::pair<E, const char*> (&table)[N]) {
  for (const auto& [f, n] : table)
    if (e == f) return n;
  return "?";
}

constexpr std::pair<LikelihoodKind, const char*> kLikelihoods[] = {
    {LikelihoodKind::gaussian, "gaussian"}, {LikelihoodKind::bernoulli, "bernoulli"}, {LikelihoodKind::logistic, "logistic"}};
constexpr std::pair<Sigma, const char*> kSigmas[] = {
    {Sigma::learned, "learned"}, {Sigma::per_pixel, "per-pixel"}, {Sigma::optimal, "optimal"}, {Sigma::fixed, "fixed"}};
constexpr std::pair<Condition, const char*> kConditions[] = {
    {Condition::encoder_decoder, "encoder-decoder"}, {Condition::decoder, "decoder"},
    {Condition::embedding, "embedding"}, {Condition::prior, "prior"}};

constexpr std::pair<Architecture, const char*> kArchitectures[] = {
    {Architecture::mlp, "mlp"}, {Architecture::conv, "conv"}};

}  // namespace

Architecture parse_architecture(const std::string& s) { return parse("architecture", s, kArchitectures); }
const char* name(Architecture a) { return lookup(a, kArchitectures); }
LikelihoodKind parse_likelihood(const std::string& s) { return parse("likelihood", s, kLikelihoods); }
Sigma parse_sigma(const std::string& s) { return parse("sigma", s, kSigmas); }
Condition parse_condition(const std::string& s) { return parse("condition", s, kConditions); }
const char* name(Condition c) { return lookup(c, kConditions); }
const char* name(LikelihoodKind l) { return lookup(l, kLikelihoods); }
const char* name(Sigma s) { return lookup(s, kSigmas); }

std::optional<std::string> ModelConfig::setting(const std::string& name) const {
  // Given, or the kind's default from its line in the list.
  if (const auto it = settings.find(name); it != settings.end() && !it->second.empty()) return it->second;
  for (const KindSetting& s : kind_settings(kind_info(kind)))
    if (s.name == name && !s.default_value.empty()) return s.default_value;
  return std::nullopt;
}

std::size_t ModelConfig::count_setting(const std::string& name, std::size_t least) const {
  const std::optional<std::string> given = setting(name);
  if (!given) throw std::invalid_argument(fmt::format("--model {} has no setting --{}", kind, name));
  const std::string& value = *given;
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || v < least || value[0] == '-')
    throw std::invalid_argument(least == 1 ? fmt::format("--{} must be a positive whole number, got '{}'", name, value)
                                           : fmt::format("--{} must be a whole number of at least {}, got '{}'", name, least, value));
  return std::size_t(v);
}

Shape ModelConfig::image_shape() const {
  if (image.known()) return image;
  const auto side = std::size_t(std::lround(std::sqrt(double(input_dim))));
  return side * side == input_dim ? vk::image(1, side, side) : vk::image(1, 1, input_dim);
}

bool ModelConfig::variational() const { return kind_info(kind).variational; }
bool ModelConfig::exact_density() const { return kind_info(kind).family == Family::exact; }
bool ModelConfig::conditional() const { return kind_info(kind).conditional; }

std::size_t ModelConfig::decoder_channels() const {
  return discrete_pixels() ? LogisticParams{std::uint32_t(logistic_mixture)}.per_pixel() : 1;
}

void ModelConfig::validate() const {
  auto fail = [](const std::string& message) { throw std::invalid_argument(message); };
  const KindInfo& info = kind_info(kind);
  if (input_dim == 0) fail("input dimension must be positive");
  if (image.known() && image.size() != input_dim)
    fail(fmt::format("images of {} are {} values, not the {} inputs", image.text(), image.size(), input_dim));
  if (latent == 0) fail("--latent must be positive");
  for (std::size_t h : hidden)
    if (h == 0) fail("--hidden widths must be positive");
  if (sigma == Sigma::fixed && !(fixed_sigma2 > 0)) fail(fmt::format("--sigma2 must be positive, got {}", fixed_sigma2));
  if (!(min_sigma2 > 0)) fail(fmt::format("the sigma^2 floor must be positive, got {}", min_sigma2));
  if (!(lambda >= 0)) fail(fmt::format("--lambda must be non-negative, got {}", lambda));
  if (likelihood == LikelihoodKind::logistic && !info.variational)
    fail(fmt::format("--likelihood logistic is the p(x|z) of a VAE kind; --model {} has none", kind));
  if (logistic_mixture != 1 && likelihood != LikelihoodKind::logistic)
    fail("--logistic-mixture is for --likelihood logistic");
  if (logistic_mixture == 0 || logistic_mixture > 32)
    fail(fmt::format("--logistic-mixture must be between 1 and 32 components, got {}", logistic_mixture));
  if (conditional() && classes == 0) fail("a conditional model needs labels (classes > 0)");
  if (!conditional() && classes != 0) fail("only --model cvae takes labels");
  if (!conditional() && condition != Condition::encoder_decoder) fail("only --model cvae takes --condition");
  if (condition == Condition::embedding && embedding == 0) fail("--embedding must be positive");
  if (info.stacked && latents_above.empty()) fail(fmt::format("--model {} needs the widths of the latents above z (--latents)", kind));
  if (!info.stacked && !latents_above.empty()) fail(fmt::format("--model {} has one latent layer; --latents with several widths is for hvae", kind));
  if (hierarchical()) {
    for (std::size_t w : latents_above)
      if (w == 0) fail("--latents widths must be positive");
    for (std::size_t h : hidden2)
      if (h == 0) fail("--hidden2 widths must be positive");
  }
  if (architecture == Architecture::conv) {
    if (!conv_takes(image_shape())) fail(conv_mismatch(image_shape()));
    if (conditional()) fail("--arch conv takes --model ae, rae or vae (conditional models are mlp only)");
    if (activation != Op::relu) fail("--arch conv is ReLU throughout; --activation is for mlp");
  }
}

nlohmann::json to_json(const ModelConfig& c) {
  nlohmann::json j = {{"architecture", name(c.architecture)},
                      {"kind", c.kind},
                      {"likelihood", name(c.likelihood)},
                      {"sigma", name(c.sigma)},
                      {"fixed_sigma2", c.fixed_sigma2},
                      {"min_sigma2", c.min_sigma2},
                      {"input_dim", c.input_dim},
                      {"image", {{"height", c.image_shape().height}, {"width", c.image_shape().width},
                                 {"channels", c.image_shape().channels}}},
                      {"hidden", c.hidden},
                      {"latent", c.latent},
                      {"activation", op_name(c.activation)},
                      {"lambda", c.lambda},
                      {"classes", c.classes},
                      {"condition", name(c.condition)},
                      {"embedding", c.embedding},
                      {"hidden2", c.hidden2},
                      {"latents_above", c.latents_above},
                      {"settings", c.settings}};
  // Only where it is read, so that other runs' configs stay as they were.
  if (c.likelihood == LikelihoodKind::logistic) j["logistic_mixture"] = c.logistic_mixture;
  return j;
}

ModelConfig model_config_from_json(const nlohmann::json& j) {
  try {
    ModelConfig c;
    // Absent in run folders written before the conv architecture: those are mlp.
    c.architecture = parse_architecture(j.value("architecture", std::string(name(Architecture::mlp))));
    // Run folders before the registry name the kind "objective".
    c.kind = j.contains("kind") ? j.at("kind").get<std::string>() : j.at("objective").get<std::string>();
    kind_info(c.kind);
    c.likelihood = parse_likelihood(j.at("likelihood").get<std::string>());
    c.sigma = parse_sigma(j.at("sigma").get<std::string>());
    c.logistic_mixture = whole_number_or<std::size_t>(j, "logistic_mixture", 1);
    c.fixed_sigma2 = j.at("fixed_sigma2").get<double>();
    c.min_sigma2 = j.at("min_sigma2").get<double>();
    c.input_dim = whole_number<std::size_t>(j.at("input_dim"), "input_dim");
    // Absent in run folders written before other images than Fashion-MNIST's: image_shape() then.
    if (j.contains("image")) {
      const nlohmann::json& im = j.at("image");
      c.image = vk::image(whole_number<std::size_t>(im.at("channels"), "image.channels"),
                          whole_number<std::size_t>(im.at("height"), "image.height"),
                          whole_number<std::size_t>(im.at("width"), "image.width"));
    }
    c.hidden = whole_numbers<std::size_t>(j.at("hidden"), "hidden");
    c.latent = whole_number<std::size_t>(j.at("latent"), "latent");
    c.activation = parse_activation(j.at("activation").get<std::string>());
    c.lambda = j.at("lambda").get<double>();
    c.classes = whole_number<std::size_t>(j.at("classes"), "classes");
    // Absent in run folders written before the CVAE variants: those are encoder_decoder.
    c.condition = parse_condition(j.value("condition", std::string(name(Condition::encoder_decoder))));
    c.embedding = whole_number_or<std::size_t>(j, "embedding", 16);
    c.hidden2 = j.contains("hidden2") ? whole_numbers<std::size_t>(j.at("hidden2"), "hidden2") : std::vector<std::size_t>{50, 50};
    // Before any depth, an hvae's z2 was "latent2" wide.
    if (j.contains("latents_above")) c.latents_above = whole_numbers<std::size_t>(j.at("latents_above"), "latents_above");
    else if (kind_info(c.kind).stacked) c.latents_above = {whole_number_or<std::size_t>(j, "latent2", 50)};
    c.settings = j.value("settings", std::map<std::string, std::string>{});
    c.validate();
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("model architecture: {}", e.what()));
  }
}

}  // namespace vk::vae
