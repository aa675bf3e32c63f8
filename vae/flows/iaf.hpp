// The inverse autoregressive flow step (Kingma et al. 2016) on a masked autoencoder (MADE,
// Germain et al. 2015): output j of the network sees only the inputs before j in the step's order,
// and the context h(x) the encoder gives. A step maps z to
//   z' = sigma * z + (1 - sigma) * m,   [m, s] = MADE(z, h),  sigma = sigmoid(s),
// whose Jacobian is triangular: log|det| = sum_j log sigma_j, one pass in the forward direction.
// The inverse needs one pass per dimension (each fixes one more column); it serves checks.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "vae/distributions.hpp"

namespace vk::vae::flows {

template <class T>
class IafStep {
 public:
  // dim columns, `hidden` units, `context` columns of h(x) (0: none); `reversed` takes the
  // columns in reverse order, so that stacked steps alternate.
  IafStep(ParameterStore<T>& store, const std::string& name, std::size_t dim, std::size_t hidden,
          std::size_t context, bool reversed, Rng& rng);
  Pushed<T> forward(ParameterStore<T>& store, Var<T> z, std::optional<Var<T>> context) const;
  Pushed<T> inverse(ParameterStore<T>& store, Var<T> y, std::optional<Var<T>> context) const;

  // Whether output column `out` may depend on input column `in` (the autoregressive order).
  bool connected(std::size_t in, std::size_t out) const { return degree_[in] < degree_[out]; }

 private:
  struct Gate {
    Var<T> mean, s;
  };
  Gate made(ParameterStore<T>& store, Var<T> z, std::optional<Var<T>> context) const;
  Var<T> masked(ParameterStore<T>& store, Var<T> x, ParamId w, ParamId b, const std::vector<T>& mask) const;

  std::size_t dim_, hidden_, context_;
  std::vector<std::size_t> degree_;  // of each input column, 1..dim
  std::vector<T> mask_in_, mask_out_;
  ParamId w_in_, b_in_, w_mean_, b_mean_, w_s_, b_s_;
  std::optional<ParamId> w_context_;
};

extern template class IafStep<float>;
extern template class IafStep<double>;

}  // namespace vk::vae::flows
