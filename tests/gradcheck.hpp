// Finite-difference gradient checks in double precision.
//
// The scalar checked is <f(inputs), R> for a fixed random R, so every output element counts.
// Before backward, each input gradient is filled with random values that are subtracted
// afterwards: a backward that overwrites instead of adding, or skips an element, fails.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "autodiff/ops.hpp"
#include "autodiff/params.hpp"
#include "autodiff/random.hpp"

namespace vk::test {

using Build = std::function<Var<double>(Tape<double>&, const std::vector<Var<double>>&)>;

struct GradInput {
  Matrix<double> value;
  bool differentiable = true;
};

// Five-point central difference of f at x0: truncation error O(h^4), so h can be large enough
// that rounding in objectives of a thousand terms stays far below the tolerance.
inline double central_difference(const std::function<double(double)>& f, double x0, double h = 1e-4) {
  return (-f(x0 + 2 * h) + 8 * f(x0 + h) - 8 * f(x0 - h) + f(x0 - 2 * h)) / (12 * h);
}

// The largest |analytic - numeric| / max(|analytic|, |numeric|, floor) seen, and where (NaN counts
// as infinitely wrong).
struct WorstError {
  double error = 0;
  std::string where;
  void add(double analytic, double numeric, const std::string& at, double floor = 1e-3) {
    const double err = std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), floor});
    if (!(err <= error)) {
      error = std::isnan(err) ? INFINITY : err;
      where = fmt::format("{}: analytic {:.10g} numeric {:.10g}", at, analytic, numeric);
    }
  }
};

using LossOn = std::function<Var<double>(Tape<double>&)>;

// The gradient of loss_on with respect to every parameter, as backward adds it: the gradients are
// pre-filled with noise that is subtracted afterwards, so a backward that overwrites fails.
inline std::vector<double> added_gradients(ParameterStore<double>& ps, const LossOn& loss_on, Rng& rng) {
  std::vector<double> prefill(ps.size());
  fill_uniform<double>(rng, std::span<double>(prefill), -1.0, 1.0);
  std::copy(prefill.begin(), prefill.end(), ps.grads().begin());
  {
    Tape<double> tape;
    tape.backward(loss_on(tape));
  }
  std::vector<double> analytic(ps.size());
  for (std::size_t e = 0; e < ps.size(); ++e) analytic[e] = ps.grads()[e] - prefill[e];
  return analytic;
}

// Compares analytic[e] with a five-point difference of the loss for each chosen element e.
inline WorstError compare_with_differences(ParameterStore<double>& ps, const std::vector<double>& analytic,
                                           const std::vector<std::size_t>& elements, const LossOn& loss_on,
                                           double h = 1e-4, double floor = 1e-3) {
  WorstError worst;
  for (std::size_t e : elements) {
    double& p = ps.values()[e];
    const double p0 = p;
    const double numeric = central_difference(
        [&](double value) {
          p = value;
          Tape<double> tape;
          NoGradGuard guard(tape);
          return loss_on(tape).item();
        },
        p0, h);
    p = p0;
    worst.add(analytic[e], numeric, "element " + std::to_string(e), floor);
  }
  return worst;
}

struct GradcheckReport {
  double max_error = 0;  // |analytic - numeric| / max(|analytic|, |numeric|, floor)
  std::size_t checked = 0;
  std::string worst;     // where the largest error is
};

inline Matrix<double> random_matrix(Rng& rng, std::size_t rows, std::size_t cols, double lo = -1,
                                    double hi = 1) {
  Matrix<double> m = Matrix<double>::from_shape({rows, cols});
  fill_uniform<double>(rng, std::span<double>(m.data(), m.size()), lo, hi);
  return m;
}

// Values in ±[lo, hi]: away from the kink at zero of relu-like functions.
inline Matrix<double> away_from_zero(Rng& rng, std::size_t rows, std::size_t cols, double lo = 0.1,
                                     double hi = 1) {
  Matrix<double> m = random_matrix(rng, rows, cols, lo, hi);
  std::bernoulli_distribution sign(0.5);
  for (double& x : m) x = sign(rng) ? x : -x;
  return m;
}

// `max_elements`: at most this many elements of each input are perturbed (a seeded sample).
inline GradcheckReport gradcheck(std::vector<GradInput> inputs, const Build& f,
                                 std::size_t max_elements = 400, double h = 1e-4,
                                 double floor = 1e-3) {
  Rng rng(1234);
  Tape<double> tape;
  std::vector<Matrix<double>> grads, prefill;
  std::vector<Var<double>> vars;
  for (GradInput& in : inputs) {
    prefill.push_back(random_matrix(rng, in.value.shape(0), in.value.shape(1)));
    grads.push_back(prefill.back());
  }
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    Matrix<double>& v = inputs[k].value;
    vars.push_back(inputs[k].differentiable
                       ? tape.variable(v.data(), grads[k].data(), v.shape(0), v.shape(1))
                       : tape.constant(v));
  }
  Var<double> out = f(tape, vars);
  Matrix<double> r = random_matrix(rng, out.rows(), out.cols());
  Var<double> loss = sum(mul(out, tape.constant(r)));
  tape.backward(loss);

  auto objective = [&]() {
    Tape<double> t;
    NoGradGuard guard(t);
    std::vector<Var<double>> vs;
    for (GradInput& in : inputs) vs.push_back(t.constant(in.value));
    Var<double> y = f(t, vs);
    double s = 0;
    for (std::size_t e = 0; e < y.rows() * y.cols(); ++e) s += y.node().value[e] * r.data()[e];
    return s;
  };

  GradcheckReport report;
  WorstError worst;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].differentiable) continue;
    Matrix<double>& v = inputs[k].value;
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    if (order.size() > max_elements) {
      std::shuffle(order.begin(), order.end(), rng);
      order.resize(max_elements);
    }
    for (std::size_t e : order) {
      const double x0 = v.data()[e];
      const double numeric = central_difference(
          [&](double x) {
            v.data()[e] = x;
            return objective();
          },
          x0, h);
      v.data()[e] = x0;
      const double analytic = grads[k].data()[e] - prefill[k].data()[e];
      worst.add(analytic, numeric, fmt::format("input {} element {}", k, e), floor);
      ++report.checked;
    }
  }
  report.max_error = worst.error;
  report.worst = worst.where;
  return report;
}

}  // namespace vk::test
