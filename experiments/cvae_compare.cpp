// cvae-compare: trains the conditional VAE variants (where the label enters the model; a learned
// prior p(z|y)) and an unconditional baseline, each with a Gaussian and a Bernoulli likelihood,
// with the same seed and epochs, and compares their likelihoods, latent use and conditional
// generation (judged by a classifier trained on the real training images).
#include <algorithm>
#include <numeric>
#include <cmath>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "distributed/comm.hpp"
#include "io/checkpoint.hpp"
#include "autodiff/ops.hpp"
#include "experiments/support/cli.hpp"
#include "experiments/support/files.hpp"
#include "experiments/report/comparison_report.hpp"
#include "experiments/report/figures.hpp"
#include "experiments/report/run_report.hpp"
#include "experiments/draw/png.hpp"
#include "experiments/support/progress.hpp"
#include "experiments/run/resume.hpp"
#include "experiments/cvae_variants.hpp"
#include "experiments/run/vae_run.hpp"
#include "autodiff/parallel.hpp"
#include "vae/classifier.hpp"
#include "vae/evaluate.hpp"
#include "vae/registry.hpp"
#include "vae/train.hpp"

using namespace vk;
using nlohmann::json;

using programs::Row;
using programs::Variant;

namespace {

struct Options {
  std::string variants, data = data::default_data_dir, out, hidden = "400";
  std::size_t epochs = 5, limit = 0, iw = 100, iw_limit = 1000, per_class = 1000, latent = 20, embedding = 16;
  std::size_t classifier_epochs = 3, batch = 128;
  double lr = 1e-3;
  std::uint64_t seed = 1;
  int threads = 2;
  bool resume = false;
};

// What a comparison's rows depend on: --resume reuses a finished variant only under the same.
json settings_json(const Options& o) {
  return {{"data", std::filesystem::absolute(o.data).string()}, {"epochs", o.epochs}, {"limit", o.limit},
          {"iw", o.iw}, {"iw_limit", o.iw_limit}, {"per_class", o.per_class}, {"hidden", o.hidden},
          {"latent", o.latent}, {"embedding", o.embedding}, {"classifier_epochs", o.classifier_epochs},
          {"batch", o.batch}, {"lr", o.lr}, {"seed", o.seed}};
}

// -log p(x|y) with the true label and -log sum_y p(y) p(x|y) with p(y) = 1/classes, averaged
// over the first n test images (a VAE: -log p(x) in the first, the second NaN).
std::pair<double, double> iw_nlls(vae::Model<float>& model, const data::ImageSet& test, std::size_t n,
                                  std::size_t k) {
  const auto& c = model.config();
  data::ImageSet first = data::take_first(test, n);
  data::Batcher<float> b(first, {.batch = first.count, .shuffle = false});
  b.next();
  std::vector<std::size_t> keys(first.count);
  std::iota(keys.begin(), keys.end(), std::size_t(0));
  const std::size_t classes = c.conditional() ? c.classes : 1;
  support::Progress bar("  iw " + std::to_string(k), classes, "class");
  // log p(x_i|y) for every class y (one pass, no label, for a VAE); the same samples' keys for
  // every class.
  std::vector<std::vector<double>> ll(classes);
  std::vector<float> onehot(c.conditional() ? first.count * c.classes : 0, 0.f);
  std::vector<Tape<float>> tapes(std::size_t(parallel::threads()));
  for (std::size_t y = 0; y < classes; ++y) {
    for (std::size_t i = 0; i < onehot.size() / std::max<std::size_t>(1, c.classes); ++i)
      for (std::size_t j = 0; j < c.classes; ++j) onehot[i * c.classes + j] = j == y ? 1.f : 0.f;
    ll[y] = vae::iw_log_likelihoods(model, b.x().data(), c.conditional() ? onehot.data() : nullptr, keys, k,
                                    programs::kEvalSeed, tapes);
    bar.update(y + 1);
  }
  bar.finish("done");
  double conditional = 0, mixture = 0;
  for (std::size_t i = 0; i < first.count; ++i) {
    conditional -= ll[c.conditional() ? first.labels[i] : 0][i];
    double top = -INFINITY, s = 0;
    for (std::size_t y = 0; y < classes; ++y) top = std::max(top, ll[y][i]);
    for (std::size_t y = 0; y < classes; ++y) s += std::exp(ll[y][i] - top);
    mixture -= top + std::log(s) - std::log(double(classes));
  }
  return {conditional / double(first.count), c.conditional() ? mixture / double(first.count) : NAN};
}

Row run_variant(const Variant& v, const Options& o, const programs::RunData& gauss, const programs::RunData& binary,
                vae::Classifier& classifier, const std::vector<std::string>& class_names) {
  const bool bern = v.likelihood == vae::LikelihoodKind::bernoulli;
  const programs::RunData& rd = bern ? binary : gauss;
  const data::Binarize binarize = bern ? data::Binarize::dynamic : data::Binarize::none;
  vae::ModelConfig mc;
  mc.kind = v.conditional ? "cvae" : "vae";
  mc.likelihood = v.likelihood;
  mc.condition = v.condition;
  mc.embedding = o.embedding;
  mc.hidden = programs::parse_widths(o.hidden);
  mc.latent = o.latent;
  mc.input_dim = rd.dataset.train.dim();
  mc.image = rd.dataset.train.shape();
  mc.classes = v.conditional ? rd.dataset.train.classes : 0;
  mc.validate();

  const std::filesystem::path dir = std::filesystem::path(o.out) / v.name;
  support::ensure_run_dir(dir);
  const std::unique_ptr<vae::Model<float>> made = vae::make_model<float>(mc, o.seed);
  vae::Model<float>& model = *made;
  const vae::TrainOptions training{.batch = o.batch, .lr = o.lr, .seed = o.seed, .binarize = binarize};
  vae::Trainer<float> trainer(model, rd.dataset.train, training);
  fmt::print(stderr, "== {}: {} parameters\n", v.name, model.params().size());
  Row row{v};
  for (std::size_t e = 1; e <= o.epochs; ++e) {
    support::Progress bar(fmt::format("  epoch {}/{}", e, o.epochs), rd.dataset.train.count, "img");
    auto s = trainer.run_epoch([&](std::size_t done, std::size_t, double loss) {
      bar.update(done, fmt::format("loss {:.2f}", loss));
    });
    row.seconds += s.seconds;
    bar.finish(fmt::format("loss {:.2f}", s.loss));
  }
  // A run folder vae-eval and vae-sample can read.
  support::write_json_atomic(dir / "config.json", programs::run_config(mc, programs::training_json(training, o.epochs, o.threads),
                                                                      o.data, rd, o.limit, o.iw));
  save_checkpoint(dir / "checkpoint", model.params(), json{{"model", vae::to_json(mc)}});

  vae::EvalOptions eval;
  eval.seed = programs::kEvalSeed;
  vae::EvalResult r = vae::evaluate(model, rd.test, eval);
  row.nelbo = r.nelbo;
  row.kl = r.kl;
  row.active_units = r.active_units;
  if (o.iw) std::tie(row.iw_nll, row.mixture_nll) = iw_nlls(model, rd.test, o.iw_limit, o.iw);

  // Conditional generation: does the classifier see the class that was asked for? A VAE's
  // samples are grouped by the class the classifier sees, for the diversity and the picture.
  const std::size_t classes = class_names.size(), d = mc.input_dim;
  Rng rng(o.seed + 101);
  std::vector<float> samples = vae::sample_by_class(model, classes, o.per_class, rng);
  const std::vector<std::uint8_t> seen = classifier.predict(samples.data(), classes * o.per_class);
  std::vector<std::vector<std::size_t>> groups(classes);
  std::size_t right = 0;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    const std::size_t asked = i / o.per_class;
    right += seen[i] == asked;
    groups[v.conditional ? asked : seen[i]].push_back(i);
  }
  if (v.conditional) row.accuracy = double(right) / double(seen.size());
  double diversity = 0;
  std::size_t counted = 0;
  constexpr std::size_t kShown = 10;
  std::vector<float> shown(classes * kShown * d, 0.f), group;
  for (std::size_t y = 0; y < classes; ++y) {
    group.clear();
    for (std::size_t i : groups[y]) group.insert(group.end(), samples.begin() + i * d, samples.begin() + (i + 1) * d);
    std::copy_n(group.begin(), std::min(group.size(), kShown * d), shown.begin() + y * kShown * d);
    if (groups[y].size() < 2) continue;
    diversity += vae::mean_pairwise_distance(group.data(), groups[y].size(), d);
    ++counted;
  }
  row.diversity = counted ? diversity / double(counted) : NAN;
  std::vector<std::string> labels = class_names;
  if (!v.conditional)
    for (auto& l : labels) l = "seen as " + l;
  support::write_png(dir / "samples_by_class.png", report::labelled_rows(shown, classes, kShown, rd.test.shape(), labels));
  report::write_run_pictures(model, rd.test, class_names, dir, o.seed);
  report::write_run_report(dir);
  fmt::print(stderr, "   nelbo {:.2f}  kl {:.2f}  active {}  iw nll {:.2f}  mixture {:.2f}  accuracy {:.3f}  diversity {:.3f}  {:.1f} s\n",
             row.nelbo, row.kl, row.active_units, row.iw_nll, row.mixture_nll, row.accuracy, row.diversity, row.seconds);
  return row;
}

struct Column {
  const char* key;
  const char* title;
  int better;  // +1 higher is better, -1 lower, 0 not ranked
  double Row::*field;
};
constexpr Column kColumns[] = {
    {"test_nelbo", "test NELBO", -1, &Row::nelbo},
    {"iw_nll", "IW NLL −log p(x\\|y)", -1, &Row::iw_nll},
    {"mixture_nll", "IW NLL −log Σ_y p(y)p(x\\|y)", -1, &Row::mixture_nll},
    {"kl", "KL", 0, &Row::kl},
    {"conditional_accuracy", "conditional accuracy", +1, &Row::accuracy},
    {"diversity", "diversity", +1, &Row::diversity},
    {"train_seconds", "training s", -1, &Row::seconds},
};

std::string cell(double v) { return std::isnan(v) ? "–" : fmt::format("{:.3f}", v); }

void write_outputs(const std::vector<Row>& rows, const Options& o, double classifier_accuracy) {
  const std::filesystem::path out = o.out;
  std::string csv = "variant,likelihood,test_nelbo,iw_nll,mixture_nll,kl,active_units,conditional_accuracy,diversity,train_seconds\n";
  json j = {{"epochs", o.epochs}, {"seed", o.seed}, {"limit", o.limit}, {"iw_samples", o.iw},
            {"iw_images", o.iw_limit}, {"samples_per_class", o.per_class},
            {"classifier_test_accuracy", classifier_accuracy}, {"variants", json::array()}};
  for (const Row& r : rows) {
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", r.variant.name, vae::name(r.variant.likelihood), r.nelbo,
                       std::isnan(r.iw_nll) ? "" : fmt::format("{}", r.iw_nll),
                       std::isnan(r.mixture_nll) ? "" : fmt::format("{}", r.mixture_nll), r.kl, r.active_units,
                       std::isnan(r.accuracy) ? "" : fmt::format("{}", r.accuracy),
                       std::isnan(r.diversity) ? "" : fmt::format("{}", r.diversity), r.seconds);
    j["variants"].push_back(programs::row_json(r));
  }
  support::write_text_atomic(out / "comparison.csv", csv);
  support::write_json_atomic(out / "comparison.json", j);

  // Likelihoods of continuous (Gaussian) and binary (Bernoulli) pixels are not comparable, so
  // the best value of a column is marked within each likelihood.
  std::string md = fmt::format(
      "# CVAE variants on {} ({} epochs, seed {}{})\n\n"
      "Negative log-likelihoods in nats per image; IW with K = {} on the first {} test images. "
      "Conditional accuracy: share of {} samples per class that the classifier (test accuracy {:.4f}) "
      "labels as the class asked for. Diversity: mean pairwise Euclidean distance of the samples of a class, "
      "averaged over classes (VAE rows: grouped by the class the classifier sees). Bold: best within the "
      "likelihood (KL is not ranked).\n\n",
      o.data, o.epochs, o.seed, o.limit ? fmt::format(", first {} training images", o.limit) : "", o.iw, o.iw_limit,
      o.per_class, classifier_accuracy);
  md += "| variant | likelihood |";
  for (const Column& c : kColumns) md += fmt::format(" {} |", c.title);
  md += " active units |\n| --- | --- |";
  for (std::size_t i = 0; i <= std::size(kColumns); ++i) md += " ---: |";
  md += "\n";
  for (const Row& r : rows) {
    md += fmt::format("| {} | {} |", r.variant.name, vae::name(r.variant.likelihood));
    for (const Column& c : kColumns) {
      const double v = r.*c.field;
      bool best = c.better != 0 && !std::isnan(v);
      for (const Row& other : rows) {
        const double w = other.*c.field;
        if (other.variant.likelihood == r.variant.likelihood && !std::isnan(w) && c.better * (w - v) > 0) best = false;
      }
      md += best ? fmt::format(" **{}** |", cell(v)) : fmt::format(" {} |", cell(v));
    }
    std::size_t most = 0;
    for (const Row& other : rows)
      if (other.variant.likelihood == r.variant.likelihood) most = std::max(most, other.active_units);
    md += r.active_units == most ? fmt::format(" **{}** |\n", r.active_units) : fmt::format(" {} |\n", r.active_units);
  }
  support::write_text_atomic(out / "comparison.md", md);
}

int compare(const Options& o) {
  const std::vector<Variant> variants = programs::select_variants(o.variants);
  if (o.epochs == 0) throw std::invalid_argument("--epochs must be at least 1");
  if (o.per_class < 2) throw std::invalid_argument("--per-class must be at least 2");
  if (o.batch == 0) throw std::invalid_argument("--batch must be at least 1");
  if (o.latent == 0) throw std::invalid_argument("--latent must be at least 1");
  if (o.embedding == 0) throw std::invalid_argument("--embedding must be at least 1");
  if (!(o.lr > 0)) throw std::invalid_argument("--lr must be positive");
  if (o.classifier_epochs == 0) throw std::invalid_argument("--classifier-epochs must be at least 1");
  if (o.iw > 0 && o.iw_limit == 0) throw std::invalid_argument("--iw-limit must be at least 1 when --iw is given");
  programs::parse_widths(o.hidden);
  if (o.resume && !std::filesystem::is_directory(o.out))
    throw std::invalid_argument(fmt::format("--resume: {} holds no comparison to continue", o.out));
  blas::set_threads(o.threads);
  if (dist::is_root()) support::ensure_run_dir(o.out);
  dist::barrier();
  const programs::RunData gauss = programs::load_run_data(o.data, o.limit, data::Binarize::none);
  const programs::RunData binary = programs::load_run_data(o.data, o.limit, data::Binarize::dynamic);
  const std::vector<std::string>& class_names = gauss.dataset.class_names;

  // The judge sees every training image (not only --limit of them): its accuracy bounds what
  // conditional accuracy can show.
  const data::Dataset full = data::load_dataset(o.data);
  vae::Classifier classifier(full.train.dim(), full.train.classes, {256}, o.seed);
  data::Batcher<float> train(full.train, {.batch = 128, .seed = o.seed});
  for (std::size_t e = 1; e <= o.classifier_epochs; ++e) {
    const double loss = classifier.train_epoch(train);
    if (dist::is_root()) fmt::print(stderr, "classifier epoch {}/{}: cross-entropy {:.4f}\n", e, o.classifier_epochs, loss);
  }
  data::Batcher<float> test(full.test, {.batch = 1000, .shuffle = false});
  const double accuracy = classifier.accuracy(test);
  if (dist::is_root()) fmt::print(stderr, "classifier test accuracy {:.4f}\n", accuracy);

  // Under mpirun rank r of N trains variants r, r + N, ... (each rank trained the same classifier
  // from the same seed), each variant on its own process; rank 0 then reads every row.json.
  const std::size_t rank = std::size_t(dist::rank()), ranks = std::size_t(dist::size());
  std::vector<Row> rows;
  const json settings = settings_json(o);
  {
    dist::Alone alone;  // a variant trains on this process alone
    for (std::size_t i = rank; i < variants.size(); i += ranks) {
      const Variant& v = variants[i];
      const std::filesystem::path dir = std::filesystem::path(o.out) / v.name;
      if (o.resume)
        if (std::optional<Row> done = programs::finished_row(v, dir, settings)) {
          fmt::print(stderr, "== {}: finished before, kept\n", v.name);
          rows.push_back(*done);
          continue;
        }
      rows.push_back(run_variant(v, o, gauss, binary, classifier, class_names));
      support::write_json_atomic(dir / "row.json", {{"settings", settings}, {"row", programs::row_json(rows.back())}});
      if (ranks > 1) continue;
      write_outputs(rows, o, accuracy);  // a partial table survives an interrupted comparison
      report::write_comparison_report(o.out);
    }
  }
  if (ranks > 1) {
    dist::barrier();
    if (rank != 0) return 0;
    rows.clear();
    for (const Variant& v : variants) {
      std::optional<Row> row = programs::finished_row(v, std::filesystem::path(o.out) / v.name, settings);
      if (!row) throw std::runtime_error(fmt::format("{}: another rank left no row.json for {}", o.out, v.name));
      rows.push_back(*row);
    }
  }
  write_outputs(rows, o, accuracy);  // also when every variant was kept from before
  report::write_comparison_report(o.out);
  fmt::print(stderr, "results in {}/ (report.html, comparison.md, comparison.csv, comparison.json, <variant>/)\n", o.out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string names;
  for (const Variant& v : programs::all_variants()) names += (names.empty() ? "" : ", ") + v.name;
  support::Command cmd("cvae-compare", "Train and compare conditional VAE variants and an unconditional baseline.",
      "Variants: " + names + ".\n"
      "Example: cvae-compare --epochs 5 --out runs/cvae-compare\n"
      "Writes comparison.csv, comparison.md, comparison.json and per variant a run folder with\n"
      "samples_by_class.png, config.json and checkpoint/ into --out.");
  Options o;
  cmd.option("--variants", o.variants, "comma list of variants (default: all)");
  cmd.option("--epochs", o.epochs, "training epochs of every variant");
  cmd.option("--seed", o.seed, "seed of every variant");
  cmd.option("--data", o.data, data::data_help);
  cmd.option("--limit", o.limit, "train the VAEs on the first N training images (0: all)");
  cmd.option("--iw", o.iw, "importance samples K of the NLL estimates (0: skip)").range(0, 100000);
  cmd.option("--iw-limit", o.iw_limit, "test images of the NLL estimates");
  cmd.option("--per-class", o.per_class, "samples per class for accuracy and diversity");
  cmd.option("--hidden", o.hidden, "hidden widths, a comma list (the decoder mirrors them)");
  cmd.option("--latent", o.latent, "dimension of z");
  cmd.option("--embedding", o.embedding, "label embedding width of the embedding variant");
  cmd.option("--batch", o.batch, "images per step").range(1, 65536);
  cmd.option("--lr", o.lr, "Adam learning rate");
  cmd.option("--classifier-epochs", o.classifier_epochs, "training epochs of the judging classifier");
  cmd.option("--threads", o.threads, "OpenBLAS threads").range(1, 256);
  cmd.option("--out", o.out, "folder to write").required();
  cmd.flag("--resume", o.resume, "keep the variants an earlier run into --out finished with the same settings");
  return support::run_main(cmd, argc, argv, [&] { return compare(o); });
}
