// How long loading an MNIST-layout folder (train + test, e.g. 70,000 images) takes.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "datasets/mnist.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Time loading an MNIST-layout folder (train + test); prints one JSON line."};
  std::string dir = vk::data::default_data_dir;
  int repeat = 3;
  app.add_option("--data", dir, "folder with train/t10k images and labels (raw or .gz)")->capture_default_str();
  app.add_option("--repeat", repeat, "number of timed loads")->capture_default_str()->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);

  try {
    std::vector<double> seconds;
    std::size_t images = 0;
    for (int r = 0; r < repeat; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      vk::data::Dataset d = vk::data::load_mnist_folder(dir);
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      images = d.train.count + d.test.count;
    }
    std::vector<double> sorted = seconds;
    std::sort(sorted.begin(), sorted.end());
    std::size_t n = sorted.size();
    double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    nlohmann::json out = {{"images", images},     {"seconds", seconds.front()}, {"median_seconds", median},
                          {"min_seconds", sorted.front()}, {"repeat", repeat},         {"data", dir}};
    std::cout << out.dump() << '\n';
  } catch (const vk::data::DataError& e) {
    std::cerr << "data-bench: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
