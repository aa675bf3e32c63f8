#include "experiments/report/comparison_report.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "experiments/support/files.hpp"

namespace vk::report {

namespace fs = std::filesystem;
using nlohmann::json;

Page comparison_report(const fs::path& dir) {
  const fs::path path = dir / "comparison.json";
  if (!fs::exists(path)) fail(dir, "not a cvae-compare folder (no comparison.json)");
  const json j = support::read_json_file(path);
  Page page("Conditional VAE variants");
  try {
    page.paragraph(fmt::format(
        "{} epochs, seed {}. Negative log-likelihoods in nats per image, IW with K = {} on the first {} test images; "
        "conditional accuracy is the share of {} samples per class that the classifier (test accuracy {:.4f}) "
        "labels as the class asked for; diversity is the mean pairwise distance of a class's samples.",
        j.at("epochs").dump(), j.at("seed").dump(), j.at("iw_samples").dump(), j.at("iw_images").dump(),
        j.at("samples_per_class").dump(), j.at("classifier_test_accuracy").get<double>()));
    static constexpr const char* kColumns[] = {"test_nelbo", "iw_nll", "mixture_nll", "kl", "active_units",
                                               "conditional_accuracy", "diversity", "train_seconds"};
    std::vector<std::string> header{"variant", "likelihood"};
    header.insert(header.end(), std::begin(kColumns), std::end(kColumns));
    std::vector<std::vector<std::string>> rows;
    for (const json& v : j.at("variants")) {
      std::vector<std::string> row{v.at("variant").get<std::string>(), v.at("likelihood").get<std::string>()};
      for (const char* key : kColumns) {
        const json x = v.value(key, json());
        row.push_back(x.is_number_float() ? fmt::format("{:.3f}", x.get<double>()) : x.is_null() ? "–" : x.dump());
      }
      rows.push_back(std::move(row));
    }
    page.table(header, rows);
    page.heading("Samples by class");
    for (const auto& row : rows) {
      const fs::path picture = dir / row[0] / "samples_by_class.png";
      if (!fs::exists(picture)) continue;
      page.png(row[0], support::read_file_bytes(picture),
               row[0] + ": ten samples of each class (rows); its run folder has its own report.html.");
    }
    page.heading("Run folders");
    for (const auto& row : rows) page.link(row[0] + "/report.html", row[0] + "/report.html");
  } catch (const json::exception& e) {
    fail(path, std::string("not a comparison: ") + e.what());
  }
  return page;
}

void write_comparison_report(const fs::path& dir) { write_page(dir / "report.html", comparison_report(dir)); }

}  // namespace vk::report
