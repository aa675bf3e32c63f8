#include "datasets/load.hpp"

#include "datasets/cifar.hpp"
#include "datasets/npy_images.hpp"

namespace vk::data {

Dataset load_dataset(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    if (path.extension() != ".npy")
      fail(path, "--data takes an .npy file or a folder (of MNIST IDX files, CIFAR-10 batches or train_images.npy)");
    return load_npy_file(path);
  }
  if (fs::exists(path / "train_images.npy", ec)) return load_npy_folder(path);
  if (fs::exists(path / "data_batch_1.bin", ec) || fs::exists(path / "test_batch.bin", ec))
    return load_cifar_folder(path);
  return load_mnist_folder(path);
}

}  // namespace vk::data
