// The training loop: shuffled mini-batches, one tape reused for every step, Adam, KL weighting,
// the model's hooks (its noise model's sigma^2), and a clear error when the loss stops being finite.
//
// Data parallel over the ranks of mpirun (distributed/comm.hpp): every rank holds the same
// parameters and takes its shard of each batch; the gradients of the shards, each weighted by its
// share of the batch's rows, are summed over the ranks, so every rank takes the same step as one
// process with the whole batch would, up to the order of float sums. The noise (binarization,
// dequantization, eps) is keyed by (seed, epoch, example index), so it does not depend on how a
// batch is split either. With one process nothing is exchanged.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <random>
#include <string>

#include "autodiff/optim.hpp"
#include "datasets/batcher.hpp"
#include "io/checkpoint.hpp"
#include "vae/model.hpp"

namespace vk::vae {

// How Adam's learning rate moves over a run: constant, or cosine annealing from --lr to 0 over the
// run's epochs (Loshchilov & Hutter 2017, without restarts).
enum class LrSchedule { constant, cosine };
LrSchedule parse_lr_schedule(const std::string& s);
const char* name(LrSchedule s);

// How a step uses the pool's threads: every op split over them (ops), or the batch split into
// one shard per thread, each on a tape and a copy of the model of its own, the shards' gradients
// summed in shard order (batch): two hand-overs a step instead of one or more per op.
enum class Split { ops, batch };
inline constexpr std::size_t kMaxShards = 64;  // the sharded step's per-shard sums live on the stack
Split parse_split(const std::string& s);  // "ops" | "batch" (--split auto: auto_split)
const char* name(Split s);

struct TrainOptions {
  std::size_t batch = 128;
  double lr = 1e-3;
  std::uint64_t seed = 1;
  data::Binarize binarize = data::Binarize::none;  // of the training images
  bool dequantize = false;          // x = (v + u) / 256, u ~ U(0, 1) afresh for every batch
  double beta = 1;                  // weight of the KL term
  std::size_t warmup_epochs = 0;    // the KL weight rises linearly from 0 to beta over these
  double clip = 0;                  // --max-grad-norm: clip gradients to this global norm (0: none)
  Bound bound = Bound::elbo;
  std::size_t k = 1;                // samples of z per image of the iwae bound (1: the ELBO)
  double free_bits = 0;             // --free-bits: nats per latent dimension of the ELBO's KL that are free
  LrSchedule lr_schedule = LrSchedule::constant;
  std::size_t schedule_epochs = 0;  // the epochs a cosine schedule spans: the run's --epochs
  // --ema: the decay of the parameters' exponential moving average (Polyak averaging; 0: none),
  // which a run's evaluation and samples use in place of the last step's parameters.
  double ema = 0;
  Split split = Split::ops;
};

// The learning rate of step `step` (0-based) of a run with `per_epoch` steps an epoch.
double scheduled_lr(const TrainOptions& o, std::size_t step, std::size_t per_epoch);

// Throws std::invalid_argument naming the flag when the options do not fit the model.
void validate_training(const TrainOptions& options, const ModelConfig& model);
// --split auto, the programs' default: the batch in shards on more than one thread (1.4-1.7x the op
// split on 2 threads here), every op split where a figure of the whole batch enters the step
// (--free-bits, --sigma optimal) or where there is one thread (the two are then the same step).
Split auto_split(const TrainOptions& options, const ModelConfig& model, int threads);

struct EpochStats {
  std::size_t epoch = 0;     // 1-based
  double loss = 0;           // mean over the epoch's examples of the optimised objective
  double rec = 0, kl = 0;    // their parts (unweighted KL)
  double seconds = 0;
  double images_per_second = 0;
  double reduce_seconds = 0; // of seconds, spent summing gradients over the ranks (0 on one process)
  bool finished = true;      // false: stopped within the epoch (see run_epoch)
  std::size_t batch = 0;     // batches done of this epoch
};

// The loss stopped being finite; what() names the epoch and batch.
struct Diverged : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class T>
class Trainer {
 public:
  // The training set must outlive the trainer. Tells the model the data's pixel variance (where
  // a noise model starts sigma^2).
  Trainer(Model<T>& model, const data::ImageSet& train, const TrainOptions& options);

  // One pass over the training set, or the rest of one that was stopped. on_batch(done, total,
  // running mean loss) may be empty. When *stop turns true, returns after the step it is in with
  // finished false; state() then holds the middle of the epoch, and the next call continues it.
  // Throws Diverged naming the epoch and batch if the loss is not finite (the parameters are
  // left as they were before that step), or if the parameters are not at the end of the epoch
  // or where it stops.
  EpochStats run_epoch(const std::function<void(std::size_t, std::size_t, double)>& on_batch = {},
                       const std::atomic<bool>* stop = nullptr);

  std::size_t epochs_done() const { return in_epoch_ ? epoch_ - 1 : epoch_; }
  // Images of the epoch under way already trained (by a run this one resumed); 0 between epochs.
  std::size_t seen_in_epoch() const { return in_epoch_ ? seen_ : 0; }
  std::size_t batches_per_epoch() const { return batches_.batches_per_epoch(); }

  // Everything but the parameters that makes the rest of a run the same as if it had not
  // stopped: Adam's moments and step, the noise model's epoch sums, and how far the epoch got
  // (its order and noise follow from the seed and the epoch). The same on every rank, and for any
  // number of ranks: a collective, called by every rank.
  TrainingState state() const;
  // From state() of a trainer with the same model, data and options (the parameters are loaded
  // apart). Throws std::invalid_argument saying what does not fit.
  void restore(const TrainingState& state);

  // While it lives, the model holds the parameters' moving average (with --ema; without, it
  // changes nothing): what evaluation and pictures use. The next step needs it gone.
  class Averaged {
   public:
    explicit Averaged(Trainer& t) : t_(t) { t_.swap_average(); }
    ~Averaged() { t_.swap_average(); }
    Averaged(const Averaged&) = delete;
    Averaged& operator=(const Averaged&) = delete;

   private:
    Trainer& t_;
  };
  [[nodiscard]] Averaged averaged() { return Averaged(*this); }

 private:
  // The loss of the next step catches a gradient that was not finite within an epoch; at its
  // end, or where it stops, this does, so that no checkpoint keeps such parameters.
  void require_finite_parameters(std::size_t batches_per_epoch) const;
  // eps of sample s of the example in row i of the shard: a function of (seed, epoch, example, s).
  void fill_eps(Var<T> eps, std::size_t k, std::size_t first, std::size_t rows);
  // The loss of the batch's rows [first, first + rows) on `model` recorded on `tape` and its
  // gradient added into the model's; sums gets loss x rows, rec and kl summed over the rows.
  void shard_step(Model<T>& model, Tape<T>& tape, std::size_t first, std::size_t rows, const Objective& objective,
                  std::span<double, 3> sums);
  // The batch in shards, one per thread (--split batch); the gradient of the batch's mean into model_'s.
  void sharded_step(std::size_t m, const Objective& objective, std::span<double, 3> sums);
  // The gradients of this shard's mean loss, weighted by its share of the batch and summed over
  // the ranks, and the step's sums over the ranks in place.
  void reduce_step(std::size_t rows, std::size_t global_rows, std::span<double> sums);
  void update_average();
  void swap_average();

  Model<T>& model_;
  TrainOptions options_;
  data::Batcher<T> batches_;
  Adam<T> adam_;
  Tape<T> tape_;
  std::vector<T> average_;     // of the parameters, with --ema
  // --split batch: shards 1.. of each step (shard 0 is model_ on tape_); each model's parameter
  // values are model_'s, copied before its shard's step.
  struct Shard {
    std::unique_ptr<Model<T>> model;
    std::unique_ptr<Tape<T>> tape;
  };
  std::vector<Shard> shards_;
  std::uint64_t eps_key_ = 0;  // of this epoch's eps
  std::size_t epoch_ = 0, step_ = 0;
  // The epoch in progress: what its EpochStats sums so far.
  bool in_epoch_ = false;
  double loss_sum_ = 0, rec_sum_ = 0, kl_sum_ = 0, seconds_ = 0, reduce_seconds_ = 0;
  std::size_t seen_ = 0, batch_index_ = 0;
};

extern template class Trainer<float>;
extern template class Trainer<double>;

// Mean over pixels of the per-pixel variance of the images in [0, 1].
double pixel_variance(const data::ImageSet& set);

}  // namespace vk::vae
