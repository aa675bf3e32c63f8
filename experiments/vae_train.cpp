// vae-train: trains an AE, regularized AE, VAE or CVAE on MNIST-format data and leaves a run
// folder with its settings, per-epoch metrics, final numbers, checkpoint and pictures.
#include <chrono>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "autodiff/blas.hpp"
#include "io/checkpoint.hpp"
#include "experiments/support/cli.hpp"
#include "experiments/support/files.hpp"
#include "experiments/support/progress.hpp"
#include "experiments/vae_run.hpp"
#include "vae/evaluate.hpp"
#include "vae/train.hpp"

using namespace vk;
using nlohmann::json;

namespace {

struct Options {
  std::string model = "vae", likelihood = "gaussian", sigma = "learned", binarize = "none";
  std::string arch = "mlp", objective = "elbo", dequantize, hidden, hidden2 = "50,50", activation, condition = "encoder-decoder", data = data::default_data_dir, out;
  double sigma2 = 0.01, lambda = 1e-3, lr = 1e-3, beta = 1, clip = 0;
  std::size_t k = 1, latent = 0, latent2 = 50, embedding = 16, epochs = 10, batch = 128, limit = 0, warmup = 0, iw = 0;
  std::uint64_t seed = 1;
  int threads = 2;
};

int train(const Options& o) {
  vae::ModelConfig mc;
  mc.objective = vae::parse_objective(o.model);
  mc.likelihood = vae::parse_likelihood(o.likelihood);
  mc.sigma = vae::parse_sigma(o.sigma);
  mc.fixed_sigma2 = o.sigma2;
  mc.lambda = o.lambda;
  mc.architecture = vae::parse_architecture(o.arch);
  const bool conv = mc.architecture == vae::Architecture::conv;
  if (conv && !o.hidden.empty()) throw std::invalid_argument("--hidden is for --arch mlp; conv has fixed widths");
  // An hvae defaults to Burda et al.'s networks: 784-100-100-z(100), 100-50-50-z2(50), tanh.
  const bool hvae = mc.objective == vae::Objective::hvae;
  const std::string hidden = !o.hidden.empty() ? o.hidden : hvae ? "100,100" : "400";
  mc.hidden = conv ? std::vector<std::size_t>{} : programs::parse_widths(hidden);
  mc.latent = o.latent ? o.latent : conv ? 32 : hvae ? 100 : 20;
  mc.hidden2 = programs::parse_widths(o.hidden2);
  mc.latent2 = o.latent2;
  mc.activation = parse_activation(!o.activation.empty() ? o.activation : hvae && !conv ? "tanh" : "relu");
  mc.condition = vae::parse_condition(o.condition);
  mc.embedding = o.embedding;
  const data::Binarize binarize = programs::parse_binarize(o.binarize);
  if (o.epochs == 0) throw std::invalid_argument("--epochs must be at least 1");
  if (!(o.lr > 0)) throw std::invalid_argument("--lr must be positive");
  if (o.threads < 1) throw std::invalid_argument("--threads must be at least 1");

  programs::RunData rd = programs::load_run_data(o.data, o.limit, binarize);
  const data::ImageSet& train_set = rd.dataset.train;
  mc.input_dim = train_set.dim();
  if (mc.conditional()) mc.classes = train_set.classes;
  mc.validate();
  // Greyscale images as a density's data need dequantizing; the AEs' squared error and the
  // Bernoulli likelihood take the pixels as they are unless asked.
  const bool dequantize =
      o.dequantize.empty() ? mc.has_sigma() && binarize == data::Binarize::none : programs::parse_dequantize(o.dequantize);
  const vae::TrainOptions training{.batch = o.batch, .lr = o.lr, .seed = o.seed, .binarize = binarize,
                                   .dequantize = dequantize,
                                   .beta = o.beta, .warmup_epochs = o.warmup, .clip = o.clip,
                                   .bound = vae::parse_bound(o.objective), .k = o.k};
  vae::validate_training(training, mc);

  blas::set_threads(o.threads);
  const std::filesystem::path out = o.out;
  support::ensure_run_dir(out);
  json config = {{"model", vae::to_json(mc)},
                 {"training", {{"epochs", o.epochs}, {"batch", o.batch}, {"lr", o.lr}, {"seed", o.seed},
                               {"binarize", programs::name(binarize)}, {"beta", o.beta},
                               {"warmup_epochs", o.warmup}, {"clip", o.clip},
                               {"objective", o.objective}, {"k", o.k},
                               {"dequantize", dequantize ? "uniform" : "none"}, {"threads", o.threads}}},
                 {"data", {{"dir", std::filesystem::absolute(o.data).string()}, {"train_count", train_set.count},
                           {"test_count", rd.test.count}, {"limit", o.limit}}},
                 {"eval", {{"seed", programs::kEvalSeed}, {"test_binarize_seed", programs::kTestBinarizeSeed},
                           {"iw_samples", o.iw}}},
                 {"blas", support::blas_json()}};
  support::write_json_atomic(out / "config.json", config);
  support::JsonLines metrics(out / "metrics.jsonl", true);

  vae::Model<float> model(mc, o.seed);
  vae::Trainer<float> trainer(model, train_set, training);
  const std::string loss_name =
      !mc.variational() ? "squared error"
      : mc.has_sigma()  ? fmt::format("gaussian likelihood, {} sigma^2", vae::name(mc.sigma))
                        : "bernoulli likelihood";
  fmt::print(stderr, "{} ({}) {}-[{}]-{}: {} parameters, {} training images\n", vae::name(mc.objective),
             loss_name, mc.input_dim, conv ? "conv 32-64-256" : hidden, mc.latent, model.params().size(),
             train_set.count);

  const json meta = {{"model", vae::to_json(mc)}};
  double train_seconds = 0;
  std::size_t trained = 0;
  for (std::size_t e = 1; e <= o.epochs; ++e) {
    support::Progress bar(fmt::format("epoch {}/{}", e, o.epochs), train_set.count, "img");
    vae::EpochStats s = trainer.run_epoch([&](std::size_t done, std::size_t, double loss) {
      bar.update(done, fmt::format("loss {:.2f}", loss));
    });
    train_seconds += s.seconds;
    trained += train_set.count;
    vae::EvalResult r = vae::evaluate(model, rd.test, programs::eval_options(dequantize));
    bar.finish(fmt::format("train {:.2f}  test {:.2f} (rec {:.2f} + kl {:.2f}){}", s.loss, r.nelbo, r.rec,
                           r.kl, mc.has_sigma() ? fmt::format("  sigma^2 {:.4g}", r.sigma2) : ""));
    json line = programs::eval_json(r, mc.input_dim, dequantize);
    line.update({{"epoch", e}, {"train_loss", s.loss}, {"train_rec", s.rec}, {"train_kl", s.kl},
                 {"images_per_second", s.images_per_second}, {"seconds", s.seconds}});
    metrics.append(line);
    save_checkpoint(out / "checkpoint", model.params(), meta);
  }

  vae::EvalResult r = vae::evaluate(model, rd.test, programs::eval_options(dequantize, o.iw));
  json final = programs::eval_json(r, mc.input_dim, dequantize);
  final.update({{"train_seconds", train_seconds}, {"images_per_second", double(trained) / train_seconds},
                {"epochs", o.epochs}, {"peak_rss_mb", programs::peak_rss_mb()}});
  support::write_json_atomic(out / "final.json", final);
  programs::write_pictures(model, rd.test, rd.dataset.class_names, out, o.seed);
  fmt::print("{}\n", final.dump());
  fmt::print(stderr, "results in {}/ (final.json, metrics.jsonl, config.json, checkpoint/, *.png)\n", out.string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  support::Command cmd("vae-train",
                       "Train an autoencoder, regularized AE, VAE or conditional VAE on MNIST-format images.",
      "Example: vae-train --model vae --likelihood gaussian --sigma learned --epochs 10 --out runs/vae\n"
      "Writes config.json, metrics.jsonl, final.json, checkpoint/ and PNG pictures into --out.");
  Options o;
  cmd.option("--model", o.model, "ae | rae | vae | cvae | hvae (two stochastic layers: the prior of z is a VAE over z2)");
  cmd.option("--likelihood", o.likelihood, "p(x|z) of a VAE: gaussian | bernoulli");
  cmd.option("--sigma", o.sigma, "Gaussian noise model: learned | per-pixel | optimal | fixed");
  cmd.option("--sigma2", o.sigma2, "sigma^2 of --sigma fixed");
  cmd.option("--lambda", o.lambda, "weight of ||E(x)||^2 in the regularized AE");
  cmd.option("--condition", o.condition,
                 "where --model cvae sees the label: encoder-decoder | decoder | embedding | prior");
  cmd.option("--embedding", o.embedding, "label embedding width of --condition embedding");
  cmd.option("--dequantize", o.dequantize,
             "none | uniform: x = (v + u) / 256, u ~ U(0, 1) afresh each batch (the test set once, with a fixed "
             "seed); default uniform for a Gaussian likelihood on greyscale images, none otherwise");
  cmd.option("--binarize", o.binarize, "none | static | dynamic (training images; the test set is binarized once)");
  cmd.option("--arch", o.arch,
             "networks: mlp (widths from --hidden) | conv (28x28 images: convolutions 32, 64, then 256; "
             "the decoder mirrors them with transposed convolutions)");
  cmd.option("--hidden", o.hidden, "hidden widths of --arch mlp, a comma list (the decoder mirrors them; default 400)");
  cmd.option("--latent", o.latent, "dimension of z (0: 20 for mlp, 32 for conv, 100 for hvae)");
  cmd.option("--hidden2", o.hidden2, "hvae: hidden widths of q(z2|z), mirrored by p(z|z2)");
  cmd.option("--latent2", o.latent2, "hvae: dimension of z2");
  cmd.option("--activation", o.activation, "an element-wise op of the list: relu (default; tanh for hvae), tanh, elu, swish, ...");
  cmd.option("--epochs", o.epochs, "passes over the training set");
  cmd.option("--batch", o.batch, "images per step");
  cmd.option("--lr", o.lr, "Adam learning rate");
  cmd.option("--objective", o.objective,
             "elbo | iwae (the importance-weighted bound of Burda et al. with --k samples of z per image)");
  cmd.option("--k", o.k, "samples per image of --objective iwae (1: the ELBO)");
  cmd.option("--beta", o.beta, "weight of the KL term (of log q - log p in the iwae bound)");
  cmd.option("--warmup", o.warmup, "epochs of linear KL warm-up (0: none)");
  cmd.option("--clip", o.clip, "clip gradients to this global norm (0: none)");
  cmd.option("--seed", o.seed, "seed of initialisation, batch order, noise");
  cmd.option("--threads", o.threads, "OpenBLAS threads");
  cmd.option("--data", o.data, "folder of MNIST-format IDX files (raw or .gz)");
  cmd.option("--limit", o.limit, "use the first N training images (0: all)");
  cmd.option("--iw", o.iw, "importance samples K for the final -log p(x) estimate (0: skip)");
  cmd.option("--out", o.out, "run folder to write").required();
  return support::run_main(cmd, argc, argv, [&] { return train(o); });
}
