// cvae-compare's variants (where the label enters, which likelihood) and their rows of results,
// kept as row.json in each variant's folder so that --resume can take a finished one as it was.
#pragma once

#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vae/config.hpp"

namespace vk::programs {

struct Variant {
  std::string name;
  bool conditional;
  vae::Condition condition;
  vae::LikelihoodKind likelihood;
};

// Every variant, both likelihoods; and those a comma list names (empty: all). Throws
// std::invalid_argument naming an unknown one and listing the others.
std::vector<Variant> all_variants();
std::vector<Variant> select_variants(const std::string& list);

struct Row {
  Variant variant;
  double nelbo = 0, kl = 0, iw_nll = NAN, mixture_nll = NAN, accuracy = NAN, diversity = NAN, seconds = 0;
  std::size_t active_units = 0;
};

// A row as comparison.json lists it (NaN as null).
nlohmann::json row_json(const Row& r);
// The row of variant v that dir/row.json holds when v finished there under `settings` (a JSON
// object written beside the row); otherwise nothing.
std::optional<Row> finished_row(const Variant& v, const std::filesystem::path& dir, const nlohmann::json& settings);

}  // namespace vk::programs
