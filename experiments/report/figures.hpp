// The pictures of a model, each drawn by one call, for every program that shows what a model does
// (vae-train, vae-sample, cvae-compare; the reports embed the PNG files they leave). They are
// support::Image canvases laid out by support/plots; curves and bars are SVG (report/charts).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "datasets/mnist.hpp"
#include "experiments/draw/image.hpp"
#include "vae/model.hpp"

namespace vk::report {

// A picture a run folder may hold: its file name and what it shows (the report's caption).
struct PictureKind {
  const char* file;
  const char* caption;
};
// In the order a report shows them.
extern const std::vector<PictureKind> kRunPictures;

// mu(x) of the first n images of a set, [n, latent].
std::vector<float> encode_means(vae::Model<float>& model, const data::ImageSet& set, std::size_t n);
// The decoder means E[x|z] of n codes z [n, latent] (a conditional model's rows labelled 0, 1, 2, ...).
std::vector<float> decode_means(vae::Model<float>& model, const float* z, std::size_t n);
// The first n images of a set as floats in [0, 1], [n, dim].
std::vector<float> pixels_of(const data::ImageSet& set, std::size_t n);

// n decoder means of z ~ p(z) (labels 0, 1, 2, ... for a conditional model, z ~ p(z|y); an hvae
// draws ancestrally), with the noise e ~ N(0, sigma^2 I) added when with_noise, in a square-ish
// grid of images of that shape (grey or RGB).
support::Image samples(vae::Model<float>& model, std::size_t n, Shape image, std::uint64_t seed, bool with_noise);
// The first n test images in the first row, their decodings through mu(x) below.
support::Image reconstructions(vae::Model<float>& model, const data::ImageSet& test, std::size_t n = 16);
// Rows from test image 2r to 2r + 1 through mu in `steps` steps (unconditional models).
support::Image interpolations(vae::Model<float>& model, const data::ImageSet& test, std::size_t rows = 8,
                              std::size_t steps = 10);
// mu(x) of the first n test images coloured by class (a 2-D latent space).
support::Image latent_scatter(vae::Model<float>& model, const data::ImageSet& test,
                              const std::vector<std::string>& class_names, std::size_t n = 5000);
// D(z) on a g x g grid over [-3, 3]^2 (a 2-D latent space).
support::Image manifold(vae::Model<float>& model, Shape image, std::size_t g = 20);
// rows x per_row images of shape `image`, row r labelled row_labels[r] (samples by class).
support::Image labelled_rows(const std::vector<float>& images, std::size_t rows, std::size_t per_row, Shape image,
                             const std::vector<std::string>& row_labels);

// The pictures of kRunPictures that fit the model (interpolations for an unconditional model,
// latent and manifold for an unconditional 2-D latent space) as PNG files in dir.
void write_run_pictures(vae::Model<float>& model, const data::ImageSet& test,
                        const std::vector<std::string>& class_names, const std::filesystem::path& dir,
                        std::uint64_t seed);

}  // namespace vk::report
