#include "vae/classifier.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "autodiff/ops.hpp"

namespace vk::vae {

template <class T>
Var<T> softmax_cross_entropy(Var<T> logits, Var<T> onehot) {
  return mean(sub(logsumexp(logits, 1), sum(mul(onehot, logits), 1)));
}

template Var<float> softmax_cross_entropy(Var<float>, Var<float>);
template Var<double> softmax_cross_entropy(Var<double>, Var<double>);

Classifier::Classifier(std::size_t input_dim, std::size_t classes, const std::vector<std::size_t>& hidden,
                       std::uint64_t seed, double lr)
    : input_dim_(input_dim), classes_(classes), hidden_(hidden) {
  if (input_dim == 0 || classes < 2) throw std::invalid_argument("a classifier needs inputs and at least 2 classes");
  net_ = perceptron(hidden, classes, Op::relu);
  Rng rng(seed);
  build_network(net_, store_, "classifier", rng, vk::features(input_dim));
  adam_.emplace(store_, AdamOptions<float>{.lr = float(lr)});
}

double Classifier::train_epoch(data::Batcher<float>& batches) {
  if (batches.dim() != input_dim_ || batches.classes() != classes_)
    throw std::invalid_argument(fmt::format("the classifier takes {} inputs and {} classes, the data has {} and {}",
                                            input_dim_, classes_, batches.dim(), batches.classes()));
  double loss_sum = 0;
  std::size_t seen = 0;
  batches.start_epoch();
  while (batches.next()) {
    tape_.reset();
    Var<float> loss = softmax_cross_entropy(net_.forward(store_, tape_.constant(batches.x())),
                                            tape_.constant(batches.y_onehot()));
    const double l = loss.item();
    if (!std::isfinite(l)) throw std::runtime_error(fmt::format("classifier training diverged (loss {})", l));
    adam_->zero_grad();
    tape_.backward(loss);
    adam_->step();
    loss_sum += l * double(batches.size());
    seen += batches.size();
  }
  tape_.reset();
  return loss_sum / double(seen);
}

template <class Forward>
std::vector<float> Classifier::in_chunks(const float* x, std::size_t n, std::size_t width, Forward forward) {
  std::vector<float> out(n * width);
  constexpr std::size_t kChunk = 1000;
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t m = std::min(kChunk, n - start);
    tape_.reset();
    NoGradGuard guard(tape_);
    const Var<float> y = forward(tape_.constant(x + start * input_dim_, m, input_dim_));
    std::copy_n(y.node().value, m * width, out.data() + start * width);
  }
  tape_.reset();
  return out;
}

std::vector<float> Classifier::probabilities(const float* x, std::size_t n) {
  std::vector<float> out = in_chunks(x, n, classes_, [&](Var<float> in) { return net_.forward(store_, in); });
  for (std::size_t i = 0; i < n; ++i) {
    float* p = out.data() + i * classes_;
    const float top = *std::max_element(p, p + classes_);
    float total = 0;
    for (std::size_t k = 0; k < classes_; ++k) total += p[k] = std::exp(p[k] - top);
    for (std::size_t k = 0; k < classes_; ++k) p[k] /= total;
  }
  return out;
}

std::vector<float> Classifier::features(const float* x, std::size_t n) {
  return in_chunks(x, n, feature_width(), [&](Var<float> in) { return net_.layer<0>().forward(store_, in); });
}

std::vector<std::uint8_t> Classifier::predict(const float* x, std::size_t n) {
  const std::vector<float> p = probabilities(x, n);
  std::vector<std::uint8_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = p.data() + i * classes_;
    out[i] = std::uint8_t(std::max_element(row, row + classes_) - row);
  }
  return out;
}

double Classifier::accuracy(data::Batcher<float>& batches) {
  std::size_t right = 0, seen = 0;
  batches.start_epoch();
  while (batches.next()) {
    const auto predicted = predict(batches.x().data(), batches.size());
    const auto labels = batches.labels();
    for (std::size_t i = 0; i < predicted.size(); ++i) right += predicted[i] == labels[i];
    seen += predicted.size();
  }
  return seen ? double(right) / double(seen) : 0.0;
}

std::vector<float> sample_by_class(Model<float>& model, std::size_t classes, std::size_t per_class, Rng& rng) {
  const ModelConfig& c = model.config();
  if (c.conditional() && classes != c.classes)
    throw std::invalid_argument(fmt::format("the model has {} classes, not {}", c.classes, classes));
  std::vector<float> out(classes * per_class * c.input_dim);
  Tape<float> tape;
  for (std::size_t y = 0; y < classes; ++y) {
    tape.reset();
    NoGradGuard guard(tape);
    std::optional<Var<float>> yv;
    if (c.conditional()) yv = one_hot_rows(tape, per_class, classes, [y](std::size_t) { return y; });
    model.sample(tape, yv, per_class, rng, std::span(out).subspan(y * per_class * c.input_dim));  // p(z|y), or p(z)
  }
  return out;
}

double mean_pairwise_distance(const float* x, std::size_t n, std::size_t d) {
  if (n < 2) return std::nan("");
  const std::vector<double> xd(x, x + n * d);
  std::vector<double> gram(n * n);
  blas::gemm<double>(false, true, n, n, d, 1.0, xd.data(), d, xd.data(), d, 0.0, gram.data(), n);
  double total = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      total += std::sqrt(std::max(0.0, gram[i * n + i] + gram[j * n + j] - 2.0 * gram[i * n + j]));
  return total / (double(n) * double(n - 1) / 2);
}

}  // namespace vk::vae
