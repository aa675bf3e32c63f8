// Stopping and continuing training: a trainer restored from state() (mid-epoch, with every
// generator, Adam's moments and the noise model's sums) goes on bit for bit as one that never
// stopped; a state that does not fit is refused; clipped gradients move the parameters less; a
// cosine schedule anneals the learning rate from --lr to 0.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numbers>
#include <tuple>

#include "tests/vae_fixtures.hpp"

using namespace vk;
using namespace vk::vae;
using namespace vk::test_vae;

namespace {

std::vector<float> values(const ParameterStore<float>& store) { return {store.values().begin(), store.values().end()}; }

}  // namespace

TEST_CASE("a trainer restored mid-epoch from its state ends bit for bit where an uninterrupted one does") {
  const data::ImageSet set = blobs(200, 3);
  // 31 rows of 3 latents: an odd count of normal draws per step, so the distribution keeps one.
  const TrainOptions options{.batch = 31, .lr = 3e-3, .seed = 4, .dequantize = true, .warmup_epochs = 2};
  // learned: sigma^2 a parameter; optimal: its epoch sums are state; bernoulli: binarization draws;
  // logistic: the 8-bit pixels as they are; cosine: every step's learning rate follows from the
  // step count the state keeps.
  for (const auto& [lik, sigma, schedule] :
       {std::tuple{LikelihoodKind::gaussian, Sigma::learned, LrSchedule::constant},
        {LikelihoodKind::gaussian, Sigma::optimal, LrSchedule::constant},
        {LikelihoodKind::bernoulli, Sigma::learned, LrSchedule::constant},
        {LikelihoodKind::logistic, Sigma::learned, LrSchedule::constant},
        {LikelihoodKind::gaussian, Sigma::learned, LrSchedule::cosine}}) {
    CAPTURE(std::string(name(sigma)));
    CAPTURE(std::string(name(lik)));
    CAPTURE(std::string(name(schedule)));
    ModelConfig config = small_config("vae", lik, sigma);
    config.latent = 3;
    TrainOptions o = options;
    o.lr_schedule = schedule;
    o.schedule_epochs = 3;
    if (lik != LikelihoodKind::gaussian) o.dequantize = false;
    if (lik == LikelihoodKind::bernoulli) o.binarize = data::Binarize::dynamic;
    auto a_made = make_model<float>(config, 2);
    Model<float>& a = *a_made;
    Trainer<float> ta(a, set, o);
    std::vector<EpochStats> uninterrupted;
    for (int e = 0; e < 3; ++e) uninterrupted.push_back(ta.run_epoch());

    auto b_made = make_model<float>(config, 2);
    Model<float>& b = *b_made;
    Trainer<float> tb(b, set, o);
    tb.run_epoch();
    std::atomic<bool> stop{false};
    std::size_t steps = 0;
    const EpochStats part = tb.run_epoch([&](std::size_t, std::size_t, double) { stop = ++steps == 3; }, &stop);
    CHECK_FALSE(part.finished);
    CHECK(part.batch == 3);
    CHECK(tb.epochs_done() == 1);
    const TrainingState state = tb.state();

    auto c_made = make_model<float>(config, 99);
    Model<float>& c = *c_made;  // other initial values: all of them must come from the saved ones
    Trainer<float> tc(c, set, o);
    std::copy(b.params().values().begin(), b.params().values().end(), c.params().values().begin());
    tc.restore(state);
    CHECK(tc.epochs_done() == 1);
    const EpochStats second = tc.run_epoch();
    CHECK(second.finished);
    CHECK(second.epoch == 2);
    CHECK(second.loss == uninterrupted[1].loss);  // the sums of the stopped epoch carried over
    CHECK(tc.run_epoch().loss == uninterrupted[2].loss);
    CHECK(values(c.params()) == values(a.params()));
    if (lik == LikelihoodKind::gaussian) CHECK(c.sigma2() == a.sigma2());
  }
}

TEST_CASE("a state that does not fit the trainer is refused, and the trainer is left usable") {
  const data::ImageSet set = blobs(100, 3), other = blobs(60, 3);
  auto a_made = make_model<float>(small_config("vae"), 2);
    Model<float>& a = *a_made;
  Trainer<float> ta(a, set, {.batch = 32, .seed = 4});
  ta.run_epoch();
  ModelConfig wider = small_config("vae");
  wider.hidden = {24};
  auto b_made = make_model<float>(wider, 2);
    Model<float>& b = *b_made;
  Trainer<float> tb(b, set, {.batch = 32, .seed = 4});
  CHECK_THROWS_AS(tb.restore(ta.state()), std::invalid_argument);  // Adam's moments have another size
  auto c_made = make_model<float>(small_config("vae"), 2);
    Model<float>& c = *c_made;
  Trainer<float> tc(c, other, {.batch = 32, .seed = 4});
  CHECK_THROWS_AS(tc.restore(ta.state()), std::invalid_argument);  // the batch order of another data set
  TrainingState broken = ta.state();
  broken.info.erase("batches");
  CHECK_THROWS_AS(tc.restore(broken), std::invalid_argument);
  CHECK(std::isfinite(tc.run_epoch().loss));
}

TEST_CASE("--max-grad-norm: gradients clipped to a tiny norm move the parameters far less") {
  const data::ImageSet set = blobs(100, 5);
  auto moved = [&](double clip) {
    auto m_made = make_model<float>(small_config("vae"), 2);
    Model<float>& m = *m_made;
    Trainer<float> t(m, set, {.batch = 25, .lr = 1e-3, .seed = 4, .clip = clip});
    const std::vector<float> before = values(m.params());  // sigma^2 starts at the data's variance
    t.run_epoch();
    double d = 0;
    for (std::size_t i = 0; i < before.size(); ++i) d += std::abs(double(m.params().values()[i]) - before[i]);
    return d;
  };
  // Adam divides by the gradients' scale, but not below its eps = 1e-8: at a norm of 1e-12 a step
  // is about 1e-4 of an unclipped one.
  const double free = moved(0), clipped = moved(1e-12);
  CAPTURE(free);
  CAPTURE(clipped);
  CHECK(clipped < 0.01 * free);
  CHECK(moved(1e6) == free);  // a bound the gradients never reach changes nothing
}

TEST_CASE("parameters a gradient made infinite in an epoch's last step stop training before any checkpoint") {
  const data::ImageSet set = blobs(20, 5);
  auto model_made = make_model<float>(small_config("vae"), 2);
    Model<float>& model = *model_made;
  // One batch per epoch: the loss of that step is finite, the step with an infinite rate is not.
  Trainer<float> trainer(model, set, {.batch = 20, .lr = INFINITY, .seed = 4});
  CHECK_THROWS_WITH_AS(trainer.run_epoch(), doctest::Contains("after epoch 1, batch 1 of 1"), Diverged);
}

TEST_CASE("--lr-schedule cosine: from --lr to 0 over the run's epochs, and the steps take those rates") {
  TrainOptions o{.lr = 2e-3, .lr_schedule = LrSchedule::cosine, .schedule_epochs = 4};
  const std::size_t per_epoch = 10, steps = 40;
  CHECK(scheduled_lr(o, 0, per_epoch) == 2e-3);
  CHECK(scheduled_lr(o, steps / 2, per_epoch) == doctest::Approx(1e-3).epsilon(1e-12));
  CHECK(scheduled_lr(o, steps / 4, per_epoch) == doctest::Approx(1e-3 * (1 + std::cos(std::numbers::pi / 4))).epsilon(1e-12));
  CHECK(scheduled_lr(o, steps, per_epoch) == doctest::Approx(0).scale(1));
  CHECK(scheduled_lr(o, steps + 7, per_epoch) == doctest::Approx(0).scale(1));  // past the span: stays at 0
  for (std::size_t s = 1; s < steps; ++s) CHECK(scheduled_lr(o, s, per_epoch) < scheduled_lr(o, s - 1, per_epoch));
  o.lr_schedule = LrSchedule::constant;
  CHECK(scheduled_lr(o, steps / 2, per_epoch) == 2e-3);

  // A run annealed over one epoch ends at rate 0: its last steps barely move the parameters, so it
  // moves them less than the same run at the constant rate.
  const data::ImageSet set = blobs(100, 5);
  auto moved = [&](LrSchedule schedule) {
    auto m_made = make_model<float>(small_config("vae"), 2);
    Model<float>& m = *m_made;
    Trainer<float> t(m, set, {.batch = 10, .lr = 1e-2, .seed = 4, .lr_schedule = schedule, .schedule_epochs = 1});
    const std::vector<float> before = values(m.params());
    t.run_epoch();
    double d = 0;
    for (std::size_t i = 0; i < before.size(); ++i) d += std::abs(double(m.params().values()[i]) - before[i]);
    return d;
  };
  CHECK(moved(LrSchedule::cosine) < moved(LrSchedule::constant));
  CHECK(parse_lr_schedule("cosine") == LrSchedule::cosine);
  CHECK_THROWS_WITH_AS(parse_lr_schedule("step"), "unknown --lr-schedule 'step' (expected constant or cosine)", std::invalid_argument);
}

TEST_CASE("--ema: the average follows the steps, changes no step, is swapped in and out exactly, and resumes") {
  const data::ImageSet set = blobs(100, 3);
  const TrainOptions plain{.batch = 16, .lr = 3e-3, .seed = 4, .dequantize = true};
  TrainOptions o = plain;
  o.ema = 0.9;
  auto a_made = make_model<float>(small_config("vae"), 2);
  Model<float>& a = *a_made;
  Trainer<float> ta(a, set, o);
  // An independent average in double, from the parameters after every step.
  std::vector<double> mine(a.params().values().begin(), a.params().values().end());
  std::size_t t = 0;
  auto follow = [&](std::size_t, std::size_t, double) {
    ++t;
    const double keep = std::min(0.9, (1.0 + double(t)) / (10.0 + double(t)));
    for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = keep * mine[i] + (1 - keep) * a.params().values()[i];
  };
  for (int e = 0; e < 2; ++e) ta.run_epoch(follow);
  REQUIRE(t == 14);  // 7 batches of an epoch of 100 images
  const std::vector<float> last = values(a.params());
  {
    const auto averaged = ta.averaged();
    double furthest = 0, moved = 0;
    for (std::size_t i = 0; i < mine.size(); ++i) {
      furthest = std::max(furthest, std::abs(a.params().values()[i] - mine[i]));
      moved = std::max(moved, std::abs(double(last[i]) - mine[i]));
    }
    CHECK(furthest < 1e-5);
    CHECK(moved > 100 * furthest);  // the average is not the last step's parameters
  }
  CHECK(values(a.params()) == last);

  // The same steps without an average: the average changes no step.
  auto b_made = make_model<float>(small_config("vae"), 2);
  Trainer<float> tb(*b_made, set, plain);
  for (int e = 0; e < 2; ++e) tb.run_epoch();
  CHECK(values(b_made->params()) == last);
  {
    const auto averaged = tb.averaged();  // nothing to swap in
    CHECK(values(b_made->params()) == last);
  }

  // Stopped in the second epoch and restored into another trainer: the same average to the bit.
  auto c_made = make_model<float>(small_config("vae"), 2);
  Trainer<float> tc(*c_made, set, o);
  tc.run_epoch();
  std::atomic<bool> stop{false};
  std::size_t steps = 0;
  tc.run_epoch([&](std::size_t, std::size_t, double) { stop = ++steps == 3; }, &stop);
  const TrainingState state = tc.state();
  auto d_made = make_model<float>(small_config("vae"), 7);
  Trainer<float> td(*d_made, set, o);
  std::copy(c_made->params().values().begin(), c_made->params().values().end(), d_made->params().values().begin());
  td.restore(state);
  td.run_epoch();
  CHECK(values(d_made->params()) == last);
  std::vector<float> averaged_a, averaged_d;
  {
    const auto averaged = ta.averaged();
    averaged_a = values(a.params());
  }
  {
    const auto averaged = td.averaged();
    averaged_d = values(d_made->params());
  }
  CHECK(averaged_d == averaged_a);

  // A state with an average and a trainer without one (or the other way round) do not fit.
  CHECK_THROWS_WITH_AS(tb.restore(state), doctest::Contains("which the run's settings do not ask for"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(td.restore(tb.state()), doctest::Contains("which the run's --ema asks for"), std::invalid_argument);
  o.ema = 1;
  CHECK_THROWS_WITH_AS(validate_training(o, small_config("vae")), "--ema must be in [0, 1) (0: no average)", std::invalid_argument);
}
