#include "experiments/cvae_variants.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

namespace vk::programs {

using nlohmann::json;

std::vector<Variant> all_variants() {
  std::vector<Variant> out;
  for (auto lik : {vae::LikelihoodKind::gaussian, vae::LikelihoodKind::bernoulli}) {
    const std::string suffix = std::string("-") + vae::name(lik);
    out.push_back({"vae" + suffix, false, vae::Condition::encoder_decoder, lik});
    for (auto cond : {vae::Condition::encoder_decoder, vae::Condition::decoder, vae::Condition::embedding,
                      vae::Condition::prior})
      out.push_back({vae::name(cond) + suffix, true, cond, lik});
  }
  return out;
}

std::vector<Variant> select_variants(const std::string& list) {
  const std::vector<Variant> all = all_variants();
  if (list.empty()) return all;
  std::vector<Variant> chosen;
  std::stringstream in(list);
  std::string part;
  while (std::getline(in, part, ',')) {
    auto it = std::find_if(all.begin(), all.end(), [&](const Variant& v) { return v.name == part; });
    if (it == all.end()) {
      std::string names;
      for (const Variant& v : all) names += (names.empty() ? "" : ", ") + v.name;
      throw std::invalid_argument(fmt::format("unknown variant '{}' (expected a comma list of: {})", part, names));
    }
    chosen.push_back(*it);
  }
  return chosen;
}

json row_json(const Row& r) {
  auto num = [](double v) { return std::isnan(v) ? json(nullptr) : json(v); };
  return {{"variant", r.variant.name}, {"likelihood", vae::name(r.variant.likelihood)},
          {"conditional", r.variant.conditional},
          {"condition", r.variant.conditional ? json(vae::name(r.variant.condition)) : json(nullptr)},
          {"test_nelbo", r.nelbo}, {"iw_nll", num(r.iw_nll)}, {"mixture_nll", num(r.mixture_nll)},
          {"kl", r.kl}, {"active_units", r.active_units}, {"conditional_accuracy", num(r.accuracy)},
          {"diversity", num(r.diversity)}, {"train_seconds", r.seconds}};
}

std::optional<Row> finished_row(const Variant& v, const std::filesystem::path& dir, const json& settings) {
  std::ifstream in(dir / "row.json");
  if (!in) return std::nullopt;
  try {
    const json j = json::parse(in);
    if (j.at("settings") != settings) return std::nullopt;
    const json& r = j.at("row");
    auto num = [](const json& x) { return x.is_null() ? NAN : x.get<double>(); };
    Row row{v};
    row.nelbo = r.at("test_nelbo");
    row.kl = r.at("kl");
    row.iw_nll = num(r.at("iw_nll"));
    row.mixture_nll = num(r.at("mixture_nll"));
    row.accuracy = num(r.at("conditional_accuracy"));
    row.diversity = num(r.at("diversity"));
    row.seconds = r.at("train_seconds");
    row.active_units = r.at("active_units");
    return row;
  } catch (const json::exception&) {
    return std::nullopt;  // half a file cannot be: it is written atomically; another format: rerun
  }
}

}  // namespace vk::programs
