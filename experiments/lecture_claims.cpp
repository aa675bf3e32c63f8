// lecture-claims: runs the experiments behind twelve claims of the lecture and writes claims.json,
// report.md and report.html (experiments/claims/ holds one file per group of claims).
#include <algorithm>
#include <chrono>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "experiments/claims/claims.hpp"
#include "experiments/support/cli.hpp"
#include "experiments/support/files.hpp"

using namespace vk;

namespace {

constexpr int kClaims = 12;

struct Options {
  bool quick = false;
  int seeds = -1;  // -1: the default of the run's size
  std::string out, data = data::default_data_dir, only;
  int threads = 2;
};

// "12" or "1,8,12": the claims to run; every claim when empty.
std::set<int> parse_only(const std::string& text) {
  std::set<int> out;
  if (text.empty()) {
    for (int id = 1; id <= kClaims; ++id) out.insert(id);
    return out;
  }
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    std::size_t used = 0;
    int id = 0;
    try {
      id = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || id < 1 || id > kClaims)
      throw std::invalid_argument(fmt::format("--only takes claim numbers 1 to {} separated by commas, not '{}'", kClaims, text));
    out.insert(id);
    start = comma + 1;
  }
  return out;
}

// A group of claims measured together (they share models), and the ids it yields.
struct Group {
  std::set<int> ids;
  bool seed_models;  // reads Context::seeds
  std::function<std::vector<claims::Claim>(claims::Context&)> run;
};

std::vector<Group> groups(const claims::Settings& s) {
  auto one = [](claims::Claim (*f)(claims::Context&)) {
    return [f](claims::Context& c) { return std::vector<claims::Claim>{f(c)}; };
  };
  return {{{1, 3, 4}, true, claims::geometry_claims},
          {{2, 6}, true, claims::sample_claims},
          {{5}, false, [s](claims::Context&) { return std::vector<claims::Claim>{claims::slab_claim(s)}; }},
          {{7, 8}, true, claims::image_claims},
          {{9}, false, one(claims::cvae_claim)},
          {{10}, false, one(claims::posterior_gap_claim)},
          {{11}, true, one(claims::exact_density_claim)},
          {{12}, false, one(claims::depth_claim)}};
}

int run(const Options& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.threads < 1) throw std::invalid_argument("--threads must be at least 1");
  if (o.seeds != -1 && o.seeds < 1) throw std::invalid_argument("--seeds must be at least 1");
  const std::set<int> only = parse_only(o.only);
  claims::Settings s = claims::make_settings(o.quick, o.seeds == -1 ? (o.quick ? 2 : 3) : o.seeds);
  s.data = o.data;
  blas::set_threads(o.threads);
  support::ensure_run_dir(o.out);
  std::vector<Group> chosen;
  for (Group& g : groups(s))
    if (std::any_of(g.ids.begin(), g.ids.end(), [&](int id) { return only.contains(id); })) chosen.push_back(std::move(g));
  // The AE, RAE and VAE of every seed take most of a quick run: trained only for a claim that reads them.
  const bool seed_models = std::any_of(chosen.begin(), chosen.end(), [](const Group& g) { return g.seed_models; });
  if (seed_models) fmt::print(stderr, "training the shared models ({} seed(s))\n", s.seeds);
  else fmt::print(stderr, "training the classifier\n");
  claims::Context ctx = claims::make_context(s, seed_models);
  std::vector<claims::Claim> all;
  for (const Group& g : chosen)
    for (claims::Claim& c : g.run(ctx))
      if (only.contains(c.id)) all.push_back(std::move(c));
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  claims::write_outputs(o.out, all, s, seconds);
  for (const claims::Claim& c : all) fmt::print("{}. {}: {}\n", c.id, c.slug, claims::name(c.verdict));
  fmt::print("{:.0f} s; claims.json, report.md and report.html in {}\n", seconds, o.out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  support::Command cmd("lecture-claims", "Measure the lecture's twelve claims and report them",
                       "Example: lecture-claims --quick --out runs/claims-quick\n"
                       "         lecture-claims --only 8,12 --out runs/claims-8-12\n"
                       "Writes OUT/claims.json, OUT/report.md and OUT/report.html.");
  Options o;
  cmd.flag("--quick", o.quick, "small models and samples (about a minute)");
  cmd.option("--seeds", o.seeds, "seeds per experiment (-1: 3, or 2 with --quick)");
  cmd.option("--only", o.only, "the claims to run, e.g. 12 or 1,8,12 (default: all twelve)");
  cmd.option("--out", o.out, "output folder").required();
  cmd.option("--data", o.data, "grey images: an MNIST-format folder or .npy data (see vae-train --help)");
  cmd.option("--threads", o.threads, "BLAS threads");
  return support::run_main(cmd, argc, argv, [&] { return run(o); });
}
