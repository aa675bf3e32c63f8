// An MLP classifier of images, trained with the framework itself: the judge of conditional
// generation (does a CVAE asked for class y draw something a classifier calls y?).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "autodiff/sequential.hpp"
#include "autodiff/optim.hpp"
#include "autodiff/params.hpp"
#include "datasets/batcher.hpp"
#include "vae/model.hpp"

namespace vk::vae {

class Classifier {
 public:
  // input_dim -> hidden... -> classes with ReLU between, trained by Adam with learning rate lr.
  Classifier(std::size_t input_dim, std::size_t classes, const std::vector<std::size_t>& hidden,
             std::uint64_t seed, double lr = 1e-3);
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  // One pass over `batches` (which must carry labels); returns the mean softmax cross-entropy.
  double train_epoch(data::Batcher<float>& batches);
  // Softmax class probabilities of each of the n rows of x [n, input_dim]: [n, classes].
  std::vector<float> probabilities(const float* x, std::size_t n);
  // The most probable class of each of the n rows of x [n, input_dim].
  std::vector<std::uint8_t> predict(const float* x, std::size_t n);
  // The last hidden layer's activations of each of the n rows of x [n, input_dim]:
  // [n, feature_width()] (the inputs themselves without a hidden layer). What vae-eval --fid compares
  // generated and real images by, as FID compares Inception's last pooling features.
  std::vector<float> features(const float* x, std::size_t n);
  std::size_t feature_width() const { return hidden_.empty() ? input_dim_ : hidden_.back(); }
  // The share of a pass over `batches` that predict labels correctly.
  double accuracy(data::Batcher<float>& batches);

  std::size_t classes() const { return classes_; }
  ParameterStore<float>& params() { return store_; }

 private:
  // Runs the network on x in chunks of rows, bounding the tape's storage for large n: fills out
  // [n, width] from each chunk's output.
  template <class Forward>
  std::vector<float> in_chunks(const float* x, std::size_t n, std::size_t width, Forward forward);

  std::size_t input_dim_, classes_;
  std::vector<std::size_t> hidden_;
  ParameterStore<float> store_;
  Perceptron net_;
  std::optional<Adam<float>> adam_;  // made once the parameters are registered
  Tape<float> tape_;
};

// Mean over rows of logsumexp(logits) - <onehot, logits>: the softmax cross-entropy in nats.
template <class T>
Var<T> softmax_cross_entropy(Var<T> logits, Var<T> onehot);

// Mean images E[x|z] of per_class draws z ~ p(z|y) for each class y = 0 .. classes-1 in turn,
// [classes * per_class, input_dim]; an unconditional model draws them all from p(z).
std::vector<float> sample_by_class(Model<float>& model, std::size_t classes, std::size_t per_class, Rng& rng);

// Mean Euclidean distance over the n (n - 1) / 2 pairs of the rows of x [n, d] (NaN for n < 2):
// the diversity of a set of samples. One Gram-matrix GEMM, in double so that near-identical
// images do not lose their distance to cancellation.
double mean_pairwise_distance(const float* x, std::size_t n, std::size_t d);

}  // namespace vk::vae
