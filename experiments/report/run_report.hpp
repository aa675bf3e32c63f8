// report.html of a run folder: the settings (config.json), the final figures (final.json, and
// eval.json once vae-eval has run), the curves per epoch (metrics.jsonl) as inline SVG, and the
// pictures the folder holds (report/figures' kRunPictures) embedded. It is built from those files
// alone, so `vae-report --run DIR` rebuilds the page of any run, and rebuilding an unchanged
// folder gives the same bytes.
#pragma once

#include <filesystem>

#include "experiments/draw/html.hpp"

namespace vk::report {

// Throws IoError naming the file when the folder has no config.json or a file does not parse.
Page run_report(const std::filesystem::path& dir);
// Writes run_report(dir) to dir/report.html atomically.
void write_run_report(const std::filesystem::path& dir);

}  // namespace vk::report
