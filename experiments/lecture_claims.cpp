// lecture-claims: runs the experiments behind eleven claims of the lecture and writes claims.json,
// report.md and report.html (experiments/claims/ holds one file per group of claims).
#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "experiments/claims/claims.hpp"
#include "experiments/support/cli.hpp"
#include "experiments/support/files.hpp"

using namespace vk;

namespace {

struct Options {
  bool quick = false;
  int seeds = -1;  // -1: the default of the run's size
  std::string out, data = data::default_data_dir;
  int threads = 2;
};

int run(const Options& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.threads < 1) throw std::invalid_argument("--threads must be at least 1");
  if (o.seeds != -1 && o.seeds < 1) throw std::invalid_argument("--seeds must be at least 1");
  claims::Settings s = claims::make_settings(o.quick, o.seeds == -1 ? (o.quick ? 2 : 3) : o.seeds);
  s.data = o.data;
  blas::set_threads(o.threads);
  support::ensure_run_dir(o.out);
  fmt::print(stderr, "training the shared models ({} seed(s))\n", s.seeds);
  claims::Context ctx = claims::make_context(s);
  std::vector<claims::Claim> all = claims::geometry_claims(ctx);  // 1, 3, 4
  for (claims::Claim& c : claims::sample_claims(ctx)) all.push_back(std::move(c));  // 2, 6
  all.push_back(claims::slab_claim(s));                                             // 5
  for (claims::Claim& c : claims::image_claims(ctx)) all.push_back(std::move(c));   // 7, 8
  all.push_back(claims::cvae_claim(ctx));                                           // 9
  all.push_back(claims::posterior_gap_claim(ctx));                                  // 10
  all.push_back(claims::exact_density_claim(ctx));                                  // 11
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  claims::write_outputs(o.out, all, s, seconds);
  for (const claims::Claim& c : all) fmt::print("{}. {}: {}\n", c.id, c.slug, claims::name(c.verdict));
  fmt::print("{:.0f} s; claims.json, report.md and report.html in {}\n", seconds, o.out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  support::Command cmd("lecture-claims", "Measure the lecture's eleven claims and report them",
                       "Example: lecture-claims --quick --out runs/claims-quick\n"
                       "Writes OUT/claims.json, OUT/report.md and OUT/report.html.");
  Options o;
  cmd.flag("--quick", o.quick, "small models and samples (about a minute)");
  cmd.option("--seeds", o.seeds, "seeds per experiment (-1: 3, or 2 with --quick)");
  cmd.option("--out", o.out, "output folder").required();
  cmd.option("--data", o.data, "grey images: an MNIST-format folder or .npy data (see vae-train --help)");
  cmd.option("--threads", o.threads, "BLAS threads");
  return support::run_main(cmd, argc, argv, [&] { return run(o); });
}
