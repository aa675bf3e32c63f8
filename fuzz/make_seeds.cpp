// Writes the fuzz targets' seed corpora from real files: a few Fashion-MNIST test images and
// labels as raw and gzip IDX, .npy files and a checkpoint written by the project's own writers;
// config.json files of new runs of every kind that vae-train's own flag parsing makes, a tiny
// run's manifest.json and training_state.json (fuzz/tiny_run.hpp), the sweep grids of the README
// and the tests, and command lines of the tests.
//   make_seeds DATA_DIR OUT_DIR   (DATA_DIR holds t10k-images-idx3-ubyte.gz and the labels)
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xadapt.hpp>
#include <xtensor/xnpy.hpp>

#include "experiments/support/files.hpp"
#include "experiments/train_flags.hpp"
#include "fuzz/packed_folder.hpp"
#include "fuzz/scratch.hpp"
#include "datasets/cifar.hpp"
#include "fuzz/tiny_run.hpp"
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

// vae-train's arguments (without the program name), some of them refused by its checks.
const std::vector<std::vector<std::string>> kCommandLines = {
    {"--limit", "1000", "--epochs", "1", "--hidden", "32", "--latent", "2", "--threads", "1", "--out", "runs/two"},
    {"--arch", "conv", "--limit", "256", "--epochs", "1", "--latent", "4", "--likelihood", "bernoulli", "--binarize", "dynamic", "--out", "runs/conv"},
    {"--objective", "iwae", "--k", "5", "--limit", "500", "--epochs", "1", "--hidden", "32", "--latent", "4", "--likelihood", "bernoulli", "--out", "runs/iwae"},
    {"--model", "hvae", "--hidden", "32", "--latent", "8", "--hidden2", "16", "--latent2", "4", "--limit", "500", "--epochs", "1", "--out", "runs/hvae"},
    {"--model", "hvae", "--latents", "16,8,4", "--out", "runs/hvae3"},
    {"--model", "cvae", "--condition", "embedding", "--embedding", "8", "--hidden", "64,32", "--out", "runs/cvae"},
    {"--model", "cvae", "--condition", "prior", "--free-bits", "0.5", "--out", "runs/cvae-prior"},
    {"--model", "mog", "--components", "3", "--sigma", "per-pixel", "--dequantize", "uniform", "--out", "runs/mog"},
    {"--model", "rae", "--lambda", "0.01", "--activation", "tanh", "--warmup", "2", "--beta", "0.5", "--out", "runs/rae"},
    {"--sigma", "fixed", "--sigma2", "0.05", "--max-grad-norm", "1", "--batch-per-rank", "32", "--out", "runs/fixed"},
    {"--resume", "runs/two", "--epochs", "4", "--lr", "1e-4"},
    {"--batch", "64", "--batch-per-rank", "32", "--out", "runs/bad"},
    {"--arch", "conv", "--hidden", "64", "--out", "runs/x"},
    {"--objective", "iwae", "--k", "0", "--out", "runs/k0"},
    {"--hidden", "400,x", "--out", "runs/x"},
    {"--help"},
};

std::string joined(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out += (out.empty() ? "" : std::string(1, '\0')) + a;
  return out;
}

// config.json of a new run with these flags on 28x28 images, as vae-train writes it; "" when
// the flags are refused.
std::string new_run_config_text(const std::vector<std::string>& args) {
  if (std::find(args.begin(), args.end(), "--help") != args.end()) return "";  // prints, makes no run
  std::vector<std::string> all = {"vae-train"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  vk::support::Command cmd("vae-train", "seeds");
  vk::programs::TrainFlags o;
  vk::programs::declare_train_flags(cmd, o);
  try {
    if (cmd.parse(int(argv.size()), argv.data()) || !o.resume.empty()) return "";
    vk::programs::check_new_run_flags(o, cmd.given());
    vk::programs::RunData rd;
    rd.dataset.train.height = rd.dataset.train.width = 28;
    rd.dataset.train.count = 60000;
    return vk::programs::new_run_config(o, rd, cmd.given()).dump(2) + "\n";
  } catch (const std::invalid_argument&) {
    return "";
  }
}

void write_text_seeds(const fs::path& out) {
  for (const char* target : {"config", "manifest", "state", "grid", "cli"}) fs::create_directories(out / target);
  vk::fuzz::write_file(out / "config/tiny", vk::fuzz::tiny_run_config().dump(2) + "\n");
  for (std::size_t i = 0; i < kCommandLines.size(); ++i) {
    vk::fuzz::write_file(out / "cli" / std::to_string(i), joined(kCommandLines[i]));
    if (const std::string config = new_run_config_text(kCommandLines[i]); !config.empty())
      vk::fuzz::write_file(out / "config" / std::to_string(i), config);
  }

  const fs::path checkpoint = vk::fuzz::scratch_dir() / "tiny-run" / "checkpoint";
  vk::fuzz::write_tiny_checkpoint(checkpoint);
  vk::fuzz::write_file(out / "manifest/tiny", read_file(checkpoint / "manifest.json"));
  vk::fuzz::write_file(out / "state/tiny", read_file(checkpoint / "training_state.json"));

  // The README's grid and the tests' (tests/test_mpi.sh, tests/test_full_disk.sh).
  vk::fuzz::write_file(out / "grid/readme", R"({"flags": {"--epochs": 5, "--limit": 10000},
 "grid":  {"--model": ["vae", "ae"], "--likelihood": ["gaussian", "bernoulli"], "--seed": [1, 2, 3]}}
)");
  vk::fuzz::write_file(out / "grid/mpi", R"({"flags": {"--limit": 300, "--hidden": 32, "--latent": 4, "--threads": 1, "--epochs": 1},
 "grid": {"--likelihood": ["gaussian", "bernoulli"], "--seed": [1, 2]}}
)");
  vk::fuzz::write_file(out / "grid/full-disk", R"({"flags": {"--limit": 300, "--hidden": 16, "--latent": 2, "--threads": 1, "--epochs": 1}, "grid": {"--seed": [1, 2]}}
)");
  vk::fuzz::write_file(out / "grid/floats", R"({"grid": {"--lr": [0.001, 3e-4, 1.5e-05], "--beta": [0.5, 1], "--hidden": ["64,32", "128"]}}
)");
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
    write_text_seeds(out);
    fs::remove_all(vk::fuzz::scratch_dir());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
