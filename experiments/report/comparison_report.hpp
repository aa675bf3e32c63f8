// report.html of a cvae-compare folder: its settings and table (comparison.json) and each
// variant's samples by class, linked to the variant's own run report. Built from the folder's
// files alone, as the run report is, so vae-report rebuilds it.
#pragma once

#include <filesystem>

#include "experiments/draw/html.hpp"

namespace vk::report {

// Throws IoError naming the file when comparison.json is missing or malformed.
Page comparison_report(const std::filesystem::path& dir);
// Writes comparison_report(dir) to dir/report.html atomically.
void write_comparison_report(const std::filesystem::path& dir);

}  // namespace vk::report
