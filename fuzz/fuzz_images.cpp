// libFuzzer target: the image readers of --data beyond IDX on any bytes: an images .npy, a labels
// .npy and a CIFAR-10 batch.
#include "datasets/cifar.hpp"
#include "datasets/npy_images.hpp"
#include "fuzz/scratch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = vk::fuzz::scratch_dir() / "input";
  vk::fuzz::write_file(file, vk::fuzz::as_text(data, size));
  try {
    vk::data::read_npy_images(file);
  } catch (const vk::IoError&) {
  }
  try {
    vk::data::read_npy_labels(file, 16);  // as many as the seed's labels
  } catch (const vk::IoError&) {
  }
  try {
    vk::data::read_cifar_batch(file);
  } catch (const vk::IoError&) {
  }
  return 0;
}
