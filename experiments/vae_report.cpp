// vae-report: (re)writes a run folder's report.html from the files in it, e.g. for a run trained
// before reports existed, or after its files changed.
#include <fmt/format.h>

#include "experiments/report/comparison_report.hpp"
#include "experiments/report/run_report.hpp"
#include "experiments/support/cli.hpp"

using namespace vk;

int main(int argc, char** argv) {
  support::Command cmd("vae-report",
                       "Write RUN/report.html: settings, final figures, curves per epoch and pictures of a run, "
                       "as one self-contained page.",
                       "Example: vae-report --run runs/vae\n"
                       "Reads config.json, metrics.jsonl, final.json, eval.json and the PNG pictures of the folder;\n"
                       "an unchanged folder gives the same page, byte for byte, as vae-train wrote.");
  std::string run;
  cmd.option("--run", run, "run folder written by vae-train or cvae-compare (its --out, or a variant's folder)").required();
  return support::run_main(cmd, argc, argv, [&] {
    // A cvae-compare folder holds a comparison and its variants' run folders.
    if (std::filesystem::exists(std::filesystem::path(run) / "comparison.json")) report::write_comparison_report(run);
    else report::write_run_report(run);
    fmt::print(stderr, "wrote {}\n", (std::filesystem::path(run) / "report.html").string());
  });
}
