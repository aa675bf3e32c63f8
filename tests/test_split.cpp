// --split batch: a step's batch in one shard per thread, each on its own tape and copy of the
// model. In double the parameters after an epoch are those of the whole-batch step up to rounding
// for every kind and objective; in float two runs give the same bits; the settings whose loss
// takes figures of the whole batch are refused; the thread count need not divide the batch.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "autodiff/blas.hpp"
#include "tests/vae_fixtures.hpp"

using namespace vk;
using namespace vk::vae;
using namespace vk::test_vae;

namespace {

template <class T>
std::vector<T> trained(const ModelConfig& config, TrainOptions o, Split split, int threads, std::size_t epochs = 1) {
  const data::ImageSet set = blobs(70, 3);
  blas::set_threads(threads);
  o.split = split;
  auto model = make_model<T>(config, 2);
  Trainer<T> trainer(*model, set, o);
  for (std::size_t e = 0; e < epochs; ++e) trainer.run_epoch();
  blas::set_threads(1);
  return {model->params().values().begin(), model->params().values().end()};
}

TrainOptions options_for(const ModelConfig& c) {
  TrainOptions o{.batch = 23, .lr = 3e-3, .seed = 4};  // 23 rows: shards of 11 and 12, a last batch of 1
  if (c.likelihood == LikelihoodKind::bernoulli && !c.exact_density()) o.binarize = data::Binarize::dynamic;
  else if (c.likelihood == LikelihoodKind::gaussian || c.exact_density()) o.dequantize = true;
  return o;
}

}  // namespace

TEST_CASE("--split batch: in double, every kind's parameters after an epoch are the whole-batch step's") {
  for (const Variant& v : all_variants()) {
    CAPTURE(v.name);
    TrainOptions o = options_for(v.config);
    if (v.config.has_sigma() && v.config.sigma == Sigma::optimal) continue;  // refused, below
    const std::vector<double> whole = trained<double>(v.config, o, Split::ops, 1);
    const std::vector<double> sharded = trained<double>(v.config, o, Split::batch, 2);
    double worst = 0, moved = 0;
    const std::vector<double> start = trained<double>(v.config, o, Split::ops, 1, 0);
    for (std::size_t i = 0; i < whole.size(); ++i) {
      worst = std::max(worst, std::abs(whole[i] - sharded[i]));
      moved = std::max(moved, std::abs(whole[i] - start[i]));
    }
    INFO("differs by " << worst << ", training moved a parameter by " << moved);
    CHECK(moved > 1e-3);
    CHECK(worst < 1e-9);
  }
  // The iwae bound, whose k samples per row stay in their row's shard.
  ModelConfig c = small_config("vae", LikelihoodKind::bernoulli);
  TrainOptions o = options_for(c);
  o.bound = Bound::iwae;
  o.k = 3;
  const std::vector<double> whole = trained<double>(c, o, Split::ops, 1), sharded = trained<double>(c, o, Split::batch, 2);
  double worst = 0;
  for (std::size_t i = 0; i < whole.size(); ++i) worst = std::max(worst, std::abs(whole[i] - sharded[i]));
  CHECK(worst < 1e-9);
}

TEST_CASE("--split batch: the same bits every run in float, on three threads too; refusals name the flag") {
  const ModelConfig c = small_config("hvae", LikelihoodKind::bernoulli);
  const TrainOptions o = options_for(c);
  CHECK(trained<float>(c, o, Split::batch, 2, 2) == trained<float>(c, o, Split::batch, 2, 2));
  CHECK(trained<float>(c, o, Split::batch, 3, 2) == trained<float>(c, o, Split::batch, 3, 2));
  CHECK(trained<float>(c, o, Split::batch, 2, 2) != trained<float>(c, o, Split::ops, 1, 2));  // other sums, other rounding

  TrainOptions free_bits = o;
  free_bits.split = Split::batch;
  free_bits.free_bits = 0.5;
  free_bits.binarize = data::Binarize::none;
  CHECK_THROWS_WITH_AS(validate_training(free_bits, small_config("vae")), doctest::Contains("not with --free-bits"), std::invalid_argument);
  TrainOptions optimal{.split = Split::batch};
  CHECK_THROWS_WITH_AS(validate_training(optimal, small_config("vae", LikelihoodKind::gaussian, Sigma::optimal)),
                       doctest::Contains("not with --sigma optimal"), std::invalid_argument);
  CHECK(parse_split("batch") == Split::batch);
  CHECK_THROWS_WITH_AS(parse_split("rows"), "unknown --split 'rows' (expected ops or batch)", std::invalid_argument);
}
