// Claim 5: what is left of an isotropic Gaussian conditioned on a surface, by Monte Carlo in thin
// slabs around a plane and around paraboloids of growing curvature. No model is trained.
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "autodiff/random.hpp"
#include "experiments/claims/claims.hpp"
#include "experiments/draw/charts.hpp"

namespace vk::claims {

namespace {

// The surfaces x3 = kHeight + c ((x1 - 1)^2 + x2^2) / 2: c = 0 is a plane; off-centre, so that a
// curved surface moves the conditional mean as well as its covariance.
constexpr std::array<double, 5> kCurvatures = {0.0, 0.1, 0.3, 1.0, 3.0};
constexpr double kHeight = 1.0, kHalfWidth = 0.02;
// "Approximately Gaussian": the empirical CDF within this of the fitted normal's, everywhere.
constexpr double kApproxKs = 0.02;
constexpr std::size_t kLowCurvatures = 2;  // kCurvatures[1..2] count as low curvature

struct SlabStats {
  double mean1, lambda_max, lambda_min, ks_fitted, ks_standard;
  std::size_t kept;
};

SlabStats stats_of(const std::vector<double>& pts) {
  const std::size_t n = pts.size() / 2;
  std::vector<double> a(n), b(n);
  for (std::size_t i = 0; i < n; ++i) a[i] = pts[2 * i], b[i] = pts[2 * i + 1];
  const std::vector<double> eig = measure::symmetric_eigenvalues(covariance(pts, n, 2), 2);
  return {mean_of(a), eig[0], eig[1], std::max(ks_fitted_normal(a), ks_fitted_normal(b)),
          std::max(ks_normal(a), ks_normal(b)), n};
}

// Draws z ~ N(0, I_3) and keeps, for every surface, (x1, x2) of the draws within the slab
// |x3 - s(x1, x2)| < kHalfWidth.
std::vector<SlabStats> slabs(std::size_t draws, std::uint64_t seed) {
  std::vector<std::vector<double>> kept(kCurvatures.size());
  Rng rng(seed);
  std::normal_distribution<double> normal;
  for (std::size_t i = 0; i < draws; ++i) {
    const double x1 = normal(rng), x2 = normal(rng), x3 = normal(rng);
    const double q = ((x1 - 1) * (x1 - 1) + x2 * x2) / 2;
    for (std::size_t s = 0; s < kCurvatures.size(); ++s)
      if (std::abs(x3 - kHeight - kCurvatures[s] * q) < kHalfWidth) kept[s].insert(kept[s].end(), {x1, x2});
  }
  std::vector<SlabStats> out;
  for (const auto& k : kept) out.push_back(stats_of(k));
  return out;
}

}  // namespace

Claim slab_claim(const Settings& settings) {
  fmt::print(stderr, "claim 5: conditioning a Gaussian on slabs\n");
  Claim c{5, "conditioning-on-surfaces",
          "Conditioning an isotropic Gaussian on a hyperplane gives an isotropic Gaussian; on a surface of low "
          "curvature, approximately a Gaussian whose mean and covariance depend on the surface."};
  c.rule = fmt::format("z ~ N(0, I_3), {} draws per seed, kept within ±{} of x3 = {} + c((x1 - 1)² + x2²)/2 for c in "
                       "{{0, 0.1, 0.3, 1, 3}}; the kept (x1, x2) are measured. Per seed: the plane (c = 0) holds if "
                       "both coordinates pass KS against N(0, 1) at 5% together (each at 2.5%, 1.48/√n); low curvature (c = 0.1, 0.3) holds if both "
                       "coordinates are within KS distance {} of their fitted normal and the mean of x1 is more than "
                       "4 standard errors from the plane's 0. Each part supported if it holds in every seed; both "
                       "supported: supported, both not: not supported, else mixed.",
                       settings.slab_draws, kHalfWidth, kHeight, kApproxKs);
  c.settings = {{"draws", settings.slab_draws}, {"half_width", kHalfWidth}, {"height", kHeight},
                {"curvatures", kCurvatures}, {"approx_ks", kApproxKs}};
  std::vector<std::vector<double>> mean1(kCurvatures.size()), lmax(kCurvatures.size()), lmin(kCurvatures.size()),
      ks(kCurvatures.size()), kept(kCurvatures.size());
  std::vector<double> plane_ks;
  std::vector<bool> plane_ok, low_ok;
  for (std::size_t seed = 1; seed <= settings.seeds; ++seed) {
    const std::vector<SlabStats> st = slabs(settings.slab_draws, seed + 600);
    for (std::size_t s = 0; s < st.size(); ++s) {
      mean1[s].push_back(st[s].mean1);
      lmax[s].push_back(st[s].lambda_max);
      lmin[s].push_back(st[s].lambda_min);
      ks[s].push_back(st[s].ks_fitted);
      kept[s].push_back(double(st[s].kept));
    }
    plane_ks.push_back(st[0].ks_standard);
    // Two coordinates tested at once: each at 2.5% (Bonferroni), critical value 1.48 / sqrt n.
    plane_ok.push_back(st[0].ks_standard < 1.48 / std::sqrt(double(st[0].kept)));
    bool low = true;
    for (std::size_t s = 1; s <= kLowCurvatures; ++s)
      low = low && st[s].ks_fitted < kApproxKs &&
            std::abs(st[s].mean1) > 4 * std::sqrt(st[s].lambda_max / double(st[s].kept));
    low_ok.push_back(low);
  }
  c.add("plane: KS distance to N(0, 1), larger of x1, x2", plane_ks);
  for (std::size_t s = 0; s < kCurvatures.size(); ++s) {
    const std::string at = fmt::format("c = {}", kCurvatures[s]);
    c.add("mean of x1, " + at, mean1[s]);
    c.add("covariance eigenvalues (larger), " + at, lmax[s]);
    c.add("covariance eigenvalues (smaller), " + at, lmin[s]);
    c.add("KS distance to fitted normal, " + at, ks[s]);
    c.add("points kept, " + at, kept[s]);
  }
  c.verdict = both(by_seeds(plane_ok), by_seeds(low_ok));
  c.summary = fmt::format("on the plane the kept points have covariance eigenvalues {:.3f} and {:.3f} (KS {:.4f} to "
                          "N(0, 1)); at curvature 0.3 their mean moves to {:.3f}, the eigenvalues to {:.3f} and {:.3f}, "
                          "still within {:.4f} of a fitted normal; at curvature 3 that distance is {:.4f}",
                          mean_of(lmax[0]), mean_of(lmin[0]), mean_of(plane_ks), mean_of(mean1[2]), mean_of(lmax[2]),
                          mean_of(lmin[2]), mean_of(ks[2]), mean_of(ks[4]));
  std::vector<double> curv(kCurvatures.begin(), kCurvatures.end()), m, a, b, k;
  for (std::size_t s = 0; s < kCurvatures.size(); ++s)
    m.push_back(mean_of(mean1[s])), a.push_back(mean_of(lmax[s])), b.push_back(mean_of(lmin[s])), k.push_back(mean_of(ks[s]));
  c.pictures.push_back({"claim5-moments", "Mean of x1 and the covariance eigenvalues of (x1, x2) on the surface, "
                        "against its curvature (mean over seeds).",
                        report::line_chart({{"mean of x1", curv, m}, {"larger eigenvalue", curv, a},
                                            {"smaller eigenvalue", curv, b}}, {"curvature c", "value", false, false}), {}});
  c.pictures.push_back({"claim5-ks", "KS distance of the kept points to their fitted normal, against curvature.",
                        report::line_chart({{"KS to fitted normal", curv, k},
                                            {"'approximately' threshold", curv, std::vector<double>(curv.size(), kApproxKs)}},
                                           {"curvature c", "KS distance", false, false}), {}});
  return c;
}

}  // namespace vk::claims
