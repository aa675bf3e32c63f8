#include "experiments/report/run_report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "experiments/draw/charts.hpp"
#include "experiments/report/figures.hpp"
#include "experiments/support/files.hpp"
#include "vae/registry.hpp"

namespace vk::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string text_of(const json& v) {
  if (v.is_null()) return "–";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:.6g}", v.get<double>());
  if (v.is_array()) {
    std::string out;
    for (const json& e : v) {
      if (!out.empty()) out += ',';
      out += text_of(e);
    }
    return out;
  }
  return v.dump();
}

// "section.key" rows of a JSON object, nested objects flattened. Results' arrays are per-dimension
// figures that the charts show, so with_arrays is for settings (widths) only.
void flatten(const json& j, const std::string& prefix, bool with_arrays, std::vector<std::vector<std::string>>& rows) {
  for (const auto& [key, value] : j.items()) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    if (value.is_object()) flatten(value, name, with_arrays, rows);
    else if (with_arrays || !value.is_array()) rows.push_back({name, text_of(value)});
  }
}

std::vector<double> column(const std::vector<json>& lines, const char* key) {
  std::vector<double> out;
  for (const json& line : lines) {
    const json v = line.is_object() ? line.value(key, json()) : json();
    out.push_back(v.is_number() ? v.get<double>() : NAN);
  }
  return out;
}

bool any_finite(const std::vector<double>& v) {
  for (double x : v)
    if (std::isfinite(x)) return true;
  return false;
}

void curves(Page& page, const std::vector<json>& lines) {
  std::vector<double> epoch = column(lines, "epoch");
  for (std::size_t i = 0; i < epoch.size(); ++i)
    if (!std::isfinite(epoch[i])) epoch[i] = double(i + 1);
  struct Curve {
    const char* id;
    const char* train;
    const char* test;
    const char* label;
    const char* caption;
  };
  static constexpr Curve kCurves[] = {
      {"curve-nelbo", "train_loss", "test_nelbo", "nats per image",
       "Training loss (the epoch's batches, with β and warm-up) and test negative ELBO per epoch "
       "(an autoencoder's: squared error plus its regulariser)."},
      {"curve-reconstruction", "train_rec", "test_rec", "nats per image",
       "Reconstruction term per epoch: -log p(x|z) (an autoencoder's squared error)."},
      {"curve-kl", "train_kl", "test_kl", "nats per image",
       "KL(q(z|x) ‖ p(z)) per epoch (a regularized autoencoder's λ‖z‖²)."},
  };
  for (const Curve& c : kCurves) {
    std::vector<Series> series;
    for (const auto& [name, key] : {std::pair{"train", c.train}, std::pair{"test", c.test}})
      if (auto y = column(lines, key); any_finite(y)) series.push_back({name, epoch, std::move(y)});
    if (!series.empty()) page.svg(c.id, line_chart(series, {"epoch", c.label, false, true}), c.caption);
  }
  if (auto s2 = column(lines, "sigma2"); any_finite(s2))
    page.svg("curve-sigma2", line_chart({{"σ²", epoch, std::move(s2)}}, {"epoch", "σ²", true, true}),
             "Noise variance σ² per epoch (the mean over pixels of a per-pixel σ²).");
}

// The numbers of final.json or eval.json, and the per-dimension latent activity behind active_units.
void numbers(Page& page, const json& j, const std::string& id) {
  std::vector<std::vector<std::string>> rows;
  flatten(j, "", false, rows);
  page.table({"figure", "value"}, rows);
  const json variance = j.value("latent_variance", json());
  if (!variance.is_array() || variance.empty()) return;
  std::vector<double> v;
  for (const json& e : variance) v.push_back(e.is_number() ? e.get<double>() : NAN);
  // A log axis draws positive values only: one test image (vae-eval --limit 1) has none.
  if (std::none_of(v.begin(), v.end(), [](double x) { return std::isfinite(x) && x > 0; })) return;
  page.svg(id, bar_chart(v, {"latent dimension", "Cov_x(E[z_i|x])", true, true}, 0.01, "active above 0.01"),
           "Activity of each latent dimension: the variance over test images of its posterior mean; "
           "active_units counts the dimensions above 0.01.");
}

std::string summary(const json& config) {
  const json& m = config.at("model");
  const json& t = config.at("training");
  // A run before the registry says "objective" for kind. The page shows what a folder says, read
  // leniently: an unknown kind is taken for a density model.
  const std::string kind = m.contains("kind") ? m.value("kind", "?") : m.value("objective", "?");
  bool variational = true;
  try {
    variational = vae::kind_info(kind).variational;
  } catch (const std::invalid_argument&) {
  }
  std::string text = fmt::format("{} on {} networks", kind, m.value("architecture", "mlp"));
  // An autoencoder's config carries the default likelihood, which it does not use.
  if (variational) text += fmt::format(", {} likelihood", m.value("likelihood", "?"));
  if (variational && m.value("likelihood", "") == "gaussian") text += fmt::format(" ({} σ²)", m.value("sigma", "?"));
  if (variational && m.value("likelihood", "") == "logistic" && m.contains("logistic_mixture") && m.at("logistic_mixture") != 1)
    text += fmt::format(" (a mixture of {} per pixel)", text_of(m.at("logistic_mixture")));
  text += fmt::format(", latent dimension {}; {} epochs of batch {}, seed {}", text_of(m.value("latent", json())),
                      text_of(t.value("epochs", json())), text_of(t.value("batch", json())), text_of(t.value("seed", json())));
  return text + ". vae-report --run <this folder> rebuilds this page from the folder's files.";
}

}  // namespace

Page run_report(const fs::path& dir) {
  const fs::path config_path = dir / "config.json";
  if (!fs::exists(config_path)) fail(dir, "not a run folder (no config.json)");
  const json config = support::read_json_file(config_path);
  fs::path name = fs::absolute(dir).lexically_normal();
  if (name.filename().empty()) name = name.parent_path();
  Page page("Run " + name.filename().string());
  try {
    page.paragraph(summary(config));
  } catch (const json::exception& e) {
    fail(config_path, std::string("not a run's settings: ") + e.what());
  }

  if (fs::exists(dir / "final.json")) {
    page.heading("Final figures (final.json)");
    numbers(page, support::read_json_file(dir / "final.json"), "final-latent-activity");
  }
  if (fs::exists(dir / "eval.json")) {
    page.heading("Evaluation by vae-eval (eval.json)");
    numbers(page, support::read_json_file(dir / "eval.json"), "eval-latent-activity");
  }

  page.heading("Curves per epoch (metrics.jsonl)");
  const std::vector<json> lines =
      fs::exists(dir / "metrics.jsonl") ? support::read_json_lines(dir / "metrics.jsonl") : std::vector<json>{};
  if (lines.empty()) page.paragraph("This run recorded no per-epoch metrics.");
  else curves(page, lines);

  page.heading("Pictures");
  std::size_t shown = 0;
  for (const PictureKind& p : kRunPictures)
    if (fs::exists(dir / p.file)) {
      page.png(fs::path(p.file).stem().string(), support::read_file_bytes(dir / p.file), p.caption);
      ++shown;
    }
  if (shown == 0) page.paragraph("The folder holds no pictures.");

  page.heading("Settings (config.json)");
  std::vector<std::vector<std::string>> rows;
  flatten(config, "", true, rows);
  page.table({"setting", "value"}, rows);
  return page;
}

void write_run_report(const fs::path& dir) { write_page(dir / "report.html", run_report(dir)); }

}  // namespace vk::report
