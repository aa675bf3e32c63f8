#include "experiments/run/classifier_cache.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <zlib.h>

#include "datasets/batcher.hpp"
#include "io/checkpoint.hpp"

namespace vk::programs {
namespace {

constexpr const char* kPurpose = "vaekit feature classifier (vae-eval --fid)";

// What identifies the training images: a path can name other files later, the bytes cannot.
std::string crc32_hex(const std::vector<std::uint8_t>& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  constexpr std::size_t kBlock = 1u << 30;  // zlib's length is a uInt
  for (std::size_t at = 0; at < bytes.size(); at += kBlock)
    crc = crc32(crc, bytes.data() + at, uInt(std::min(kBlock, bytes.size() - at)));
  return fmt::format("{:08x}", crc);
}

nlohmann::json wanted(const data::ImageSet& train, const FeatureClassifierSettings& s) {
  return {{"purpose", kPurpose},
          {"train_images", train.count},
          {"train_crc32", crc32_hex(train.pixels)},
          {"image", train.shape().text()},
          {"classes", train.classes},
          {"hidden", s.hidden},
          {"epochs", s.epochs},
          {"batch", s.batch},
          {"seed", s.seed}};
}

bool same_training(const nlohmann::json& have, const nlohmann::json& want) {
  for (const auto& [key, value] : want.items())
    if (!have.contains(key) || have[key] != value) return false;
  return true;
}

}  // namespace

FeatureClassifier cached_classifier(const std::filesystem::path& dir, const data::Dataset& data, std::size_t held_out,
                                    const FeatureClassifierSettings& s) {
  if (data.train.classes < 2)
    throw std::invalid_argument("--fid: the feature classifier needs labelled images of 2 or more classes; these data "
                                "have one class (no labels)");
  if (data.train.count < held_out + 2 * s.batch)
    throw std::invalid_argument(fmt::format("--fid: {} training images leave too few for the classifier beside the {} "
                                            "held out for the floor", data.train.count, held_out));
  const data::ImageSet train = data::take_first(data.train, data.train.count - held_out);
  const nlohmann::json want = wanted(train, s);
  auto classifier = std::make_unique<vae::Classifier>(train.dim(), train.classes, std::vector<std::size_t>{s.hidden},
                                                      s.seed);
  if (std::filesystem::exists(dir / "manifest.json")) {
    const nlohmann::json have = read_checkpoint_manifest(dir).value("metadata", nlohmann::json::object());
    if (!have.is_object() || !same_training(have, want))
      throw std::invalid_argument(fmt::format(
          "--classifier {}: holds a classifier trained on other images or settings ({} training images, crc32 {}; "
          "these data: {}, {}); give another folder", dir.string(), have.value("train_images", nlohmann::json()).dump(),
          have.value("train_crc32", nlohmann::json()).dump(), want["train_images"].dump(), want["train_crc32"].dump()));
    load_checkpoint(dir, classifier->params());
    return {std::move(classifier), have};
  }
  if (std::filesystem::exists(dir) && !std::filesystem::is_empty(dir))
    throw std::invalid_argument(fmt::format("--classifier {}: not a classifier's folder (no manifest.json) and not "
                                            "empty; give another folder", dir.string()));
  data::Batcher<float> batches(train, {.batch = s.batch, .seed = s.seed});
  for (std::size_t e = 1; e <= s.epochs; ++e) {
    const double loss = classifier->train_epoch(batches);
    fmt::print(stderr, "feature classifier epoch {}/{}: cross-entropy {:.4f}\n", e, s.epochs, loss);
  }
  data::Batcher<float> test(data.test, {.batch = 1000, .shuffle = false});
  nlohmann::json info = want;
  info["test_accuracy"] = classifier->accuracy(test);
  save_checkpoint(dir, classifier->params(), info);
  fmt::print(stderr, "feature classifier: test accuracy {:.4f}, saved in {}\n", info["test_accuracy"].get<double>(),
             dir.string());
  return {std::move(classifier), info};
}

}  // namespace vk::programs
