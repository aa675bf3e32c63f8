// Writes the fuzz targets' seed corpora from real files: a few Fashion-MNIST test images and
// labels as raw and gzip IDX, .npy files and a checkpoint written by the project's own writers.
//   make_seeds DATA_DIR OUT_DIR   (DATA_DIR holds t10k-images-idx3-ubyte.gz and the labels)
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xadapt.hpp>
#include <xtensor/xnpy.hpp>

#include "fuzz/packed_folder.hpp"
#include "fuzz/scratch.hpp"
#include "datasets/cifar.hpp"
#include "io/checkpoint.hpp"
#include "io/idx.hpp"
#include "io/npy.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first `count` entries of a real IDX file, as a complete IDX file of its own.
std::string idx_prefix(const vk::data::IdxArray& a, std::size_t count) {
  std::vector<std::size_t> dims = a.dims;
  dims[0] = count;
  std::string out{0, 0, 8, char(dims.size())};
  std::size_t per_entry = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    for (int s = 24; s >= 0; s -= 8) out += char((dims[i] >> s) & 0xFF);
    if (i > 0) per_entry *= dims[i];
  }
  return out + std::string(a.data.begin(), a.data.begin() + std::ptrdiff_t(count * per_entry));
}

void write_gzip(const fs::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb9");
  if (!f || gzwrite(f, bytes.data(), unsigned(bytes.size())) != int(bytes.size()) || gzclose(f) != Z_OK)
    vk::fail(path, "cannot write gzip");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_seeds DATA_DIR OUT_DIR\n");
    return 2;
  }
  const fs::path data = argv[1], out = argv[2];
  try {
    for (const char* target : {"idx", "npy", "checkpoint", "images"}) fs::create_directories(out / target);

    const auto images = vk::data::read_idx(data / "t10k-images-idx3-ubyte.gz", 3);
    const auto labels = vk::data::read_idx(data / "t10k-labels-idx1-ubyte.gz", 1);
    const std::string image_file = idx_prefix(images, 2), label_file = idx_prefix(labels, 16);
    vk::fuzz::write_file(out / "idx/images", image_file);
    vk::fuzz::write_file(out / "idx/labels", label_file);
    write_gzip(out / "idx/images.gz", image_file);
    write_gzip(out / "idx/labels.gz", label_file);

    // A small model's parameters, valued from the images so the floats are not all alike.
    vk::ParameterStore<float> store;
    store.add("encoder.0.weight", 4, 3);
    store.add("encoder.0.bias", 1, 3);
    store.add("decoder.weight", 3, 2);
    for (std::size_t i = 0; i < store.size(); ++i) store.values()[i] = float(images.data[200 + i]) / 255.f - 0.5f;
    const fs::path checkpoint = vk::fuzz::scratch_dir() / "seed-checkpoint";
    vk::save_checkpoint(checkpoint, store, {{"arch", "mlp"}, {"hidden", {4}}, {"latent", 2}});
    std::vector<vk::fuzz::PackedFile> files{{"manifest.json", read_file(checkpoint / "manifest.json")}};
    for (const auto& e : store.entries()) {
      files.push_back({e.name + ".npy", read_file(checkpoint / (e.name + ".npy"))});
      vk::fuzz::write_file(out / "npy" / (e.name + ".npy"), files.back().bytes);
    }
    vk::fuzz::write_file(out / "checkpoint/mlp", vk::fuzz::pack(files));
    fs::remove_all(vk::fuzz::scratch_dir());

    // The other shapes and the float64 dtype the reader accepts.
    const float scalar = 0.25f;
    vk::write_npy(out / "npy/scalar.npy", &scalar, std::vector<std::size_t>{});
    xt::xarray<double> doubles = {1.5, -2.0, 1e-300, 3.0};
    vk::fuzz::write_file(out / "npy/doubles.npy", xt::dump_npy(doubles));

    // --data's other forms: grey images as bytes, an RGB image as float32, labels as int64 and as
    // uint8 [N, 1], and a CIFAR-10 record.
    xt::xarray<std::uint8_t> grey = xt::adapt(std::vector<std::uint8_t>(images.data.begin(), images.data.begin() + 2 * 784),
                                              std::vector<std::size_t>{2, 28, 28});
    vk::fuzz::write_file(out / "images/grey.npy", xt::dump_npy(grey));
    xt::xarray<float> rgb = xt::adapt(std::vector<float>(images.data.begin() + 2 * 784, images.data.begin() + 2 * 784 + 4 * 4 * 3),
                                      std::vector<std::size_t>{1, 4, 4, 3}) / 255.f;
    vk::fuzz::write_file(out / "images/rgb.npy", xt::dump_npy(rgb));
    xt::xarray<std::int64_t> wide_labels = xt::adapt(std::vector<std::int64_t>(labels.data.begin(), labels.data.begin() + 16),
                                                     std::vector<std::size_t>{16});
    vk::fuzz::write_file(out / "images/labels.npy", xt::dump_npy(wide_labels));
    xt::xarray<std::uint8_t> byte_labels = xt::adapt(std::vector<std::uint8_t>(labels.data.begin(), labels.data.begin() + 16),
                                                     std::vector<std::size_t>{16, 1});
    vk::fuzz::write_file(out / "images/labels_u1.npy", xt::dump_npy(byte_labels));
    std::string record(1, char(labels.data[0]));
    record.append(images.data.begin(), images.data.begin() + std::ptrdiff_t(vk::data::kCifarRecord - 1));
    vk::fuzz::write_file(out / "images/cifar.bin", record);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
