// How long loading a data set (train + test, e.g. the 70,000 images of an MNIST-layout folder) takes.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/load.hpp"
#include "experiments/support/cli.hpp"

int main(int argc, char** argv) {
  vk::support::Command cmd("data-bench", "Time loading a data set (train + test) as --data names it.",
                           "Example: data-bench --repeat 5\nPrints one JSON line.");
  std::string dir = vk::data::default_data_dir;
  int repeat = 3;
  cmd.option("--data", dir, vk::data::data_help);
  cmd.option("--repeat", repeat, "number of timed loads").range(1, 1000);
  return vk::support::run_main(cmd, argc, argv, [&] {
    std::vector<double> seconds;
    std::size_t images = 0;
    for (int r = 0; r < repeat; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      vk::data::Dataset d = vk::data::load_dataset(dir);
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
  });
}
