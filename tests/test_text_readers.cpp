// The text readers against what their fuzz targets found (fuzz/fuzz_config.cpp, fuzz_state.cpp,
// fuzz_grid.cpp): every input kept in fuzz/regressions/ is refused in one line, and each fix is
// checked on its own: whole numbers read from JSON, nesting bounded, a batch position that wrapped,
// and sweep grids whose runs would share a folder, leave the sweep's or get a rounded value.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "experiments/report/run_report.hpp"
#include "experiments/support/files.hpp"
#include "experiments/sweep.hpp"
#include "fuzz/grid_checks.hpp"
#include "fuzz/tiny_run.hpp"
#include "io/checkpoint_files.hpp"
#include "io/json_number.hpp"
#include "io/json_read.hpp"
#include "tests/files.hpp"

using namespace vk;
using test::contains;
using test::read_text;
using test::write_text;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> regressions(const char* target) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(VAEKIT_FUZZ_REGRESSIONS) / target)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// What a program prints of the exception f throws (run_main's one line), "" when it throws none.
template <class F>
std::string refusal(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == std::string::npos; }

// A tiny run's checkpoint (fuzz/tiny_run.hpp) with `text` as its training_state.json and the
// manifest's size and crc32 of it rewritten, as fuzz_state does.
void put_training_state(const fs::path& checkpoint, const std::string& text) {
  json manifest = read_checkpoint_manifest(checkpoint);
  manifest.erase("manifest_crc32");
  write_text(checkpoint / "training_state.json", text);
  manifest["training_state"].update({{"bytes", text.size()}, {"crc32", checkpoint_files::crc32_hex(text)}});
  checkpoint_files::write_manifest(checkpoint / "manifest.json", manifest);
}

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

TEST_CASE("config.json: every fuzz regression is refused in one line naming the file; vae-report's page survives it") {
  for (const fs::path& input : regressions("config")) {
    CAPTURE(input.filename().string());
    test::TempDir dir;
    write_text(dir / "config.json", read_text(input));
    const std::string why = refusal([&] { programs::run_settings(programs::read_run_config(dir.path), dir / "config.json"); });
    CHECK(one_line(why));
    CHECK(contains(why, (dir / "config.json").string() + ": "));
    try {
      report::run_report(dir.path);
    } catch (const IoError&) {  // a refusal, not a crash
    }
  }
}

TEST_CASE("training_state.json: every fuzz regression is refused in one line when the run continues") {
  test::TempDir dir;
  const fs::path checkpoint = dir / "checkpoint";
  fuzz::write_tiny_checkpoint(checkpoint);
  for (const fs::path& input : regressions("state")) {
    CAPTURE(input.filename().string());
    put_training_state(checkpoint, read_text(input));
    CHECK(one_line(refusal([&] { fuzz::resume_tiny_run(checkpoint); })));
  }
}

TEST_CASE("sweep grid: every fuzz regression is refused in one line, or gives runs the sweep can hold") {
  for (const fs::path& input : regressions("grid")) {
    CAPTURE(input.filename().string());
    std::vector<programs::SweepRun> runs;
    nlohmann::ordered_json grid;
    const std::string why = refusal([&] {
      grid = parse_json<nlohmann::ordered_json>(read_text(input), input.string());
      runs = programs::sweep_runs(grid);
    });
    if (!why.empty()) CHECK(one_line(why));
    else CHECK(fuzz::grid_problem(grid, runs) == "");
  }
}

TEST_CASE("whole numbers from JSON: a float out of range, a negative count or a fraction is refused naming the key") {
  CHECK(whole_number<std::size_t>(json(5), "k") == 5);
  CHECK(whole_number<std::size_t>(json(5.0), "k") == 5);  // a hand edit may write one
  CHECK(whole_number<int>(json(-3), "k") == -3);
  CHECK(whole_number<std::uint64_t>(json(std::numeric_limits<std::uint64_t>::max()), "seed") == std::numeric_limits<std::uint64_t>::max());
  CHECK(whole_number_or<std::size_t>(json::object(), "k", 7) == 7);
  // 4e25 and 2^64 as floats: get<std::size_t>() was undefined behaviour for both.
  for (const json& bad : {json(4.4e25), json(18446744073709551616.0), json(-1), json(2.5), json("5"), json(nullptr)}) {
    CAPTURE(bad.dump());
    const std::string why = refusal([&] { whole_number<std::size_t>(bad, "keep_checkpoints"); });
    CHECK(contains(why, "\"keep_checkpoints\" is"));
    CHECK(contains(why, "not a whole number"));
  }
  CHECK(refusal([&] { whole_number<int>(json(3e9), "threads"); }) ==
        "\"threads\" is 3000000000.0, not a whole number from -2147483648 to 2147483647");
}

TEST_CASE("config.json: a count a float overflows, or a negative width, is refused naming the file and the key") {
  test::TempDir dir;
  json config = fuzz::tiny_run_config();
  config["keep_checkpoints"] = 4.4e25;  // what the fuzzer found
  CHECK(contains(refusal([&] { programs::run_settings(config, dir / "config.json"); }),
                 (dir / "config.json").string() + ": \"keep_checkpoints\" is 4.4e+25, not a whole number"));
  config = fuzz::tiny_run_config();
  config["model"]["hidden"] = {8, -1};
  CHECK(contains(refusal([&] { programs::run_settings(config, dir / "config.json"); }), "\"hidden\" is -1"));
  config = fuzz::tiny_run_config();
  config["training"]["batch"] = 1e300;
  CHECK(contains(refusal([&] { programs::run_settings(config, dir / "config.json"); }), "\"batch\" is 1e+300"));
  CHECK_NOTHROW(programs::run_settings(fuzz::tiny_run_config(), dir / "config.json"));
}

TEST_CASE("JSON nested deeper than 64 levels is refused by the text readers instead of overflowing the stack") {
  test::TempDir dir;
  // 100,000 levels overflowed the stack of vae-report, vae-train --resume and vae-sweep.
  write_text(dir / "deep.json", "{\"notes\": " + nested(100000) + "}");
  CHECK(contains(test::io_error_of([&] { support::read_json_file(dir / "deep.json"); }),
                 "deep.json: nested more than 64 levels deep"));
  write_text(dir / "lines.jsonl", "{}\n" + nested(100) + "\n");
  CHECK(contains(test::io_error_of([&] { support::read_json_lines(dir / "lines.jsonl"); }), "lines.jsonl:2: nested more than 64"));
  write_text(dir / "ok.json", nested(63));
  CHECK_NOTHROW(support::read_json_file(dir / "ok.json"));
  CHECK(contains(test::io_error_of([&] { parse_json<nlohmann::ordered_json>(std::string("{\"grid\": ") + nested(65) + "}", "g.json"); }),
                 "g.json: nested more than 64"));

  const fs::path checkpoint = dir / "checkpoint";
  fuzz::write_tiny_checkpoint(checkpoint);
  put_training_state(checkpoint, "{\"run\": {\"metrics\": " + nested(100000) + "}}");
  CHECK(contains(test::io_error_of([&] { load_training_state(checkpoint); }), "training_state.json: nested more than 64"));
}

TEST_CASE("training state: a batch position that wraps past 2^64, metrics that are no list, an epoch before the first") {
  test::TempDir dir;
  const fs::path checkpoint = dir / "checkpoint";
  fuzz::write_tiny_checkpoint(checkpoint);
  CHECK_NOTHROW(fuzz::resume_tiny_run(checkpoint));
  const json info = load_training_state(checkpoint).info;

  // start + size wrapped to 4 and passed the check: the run went on from row 4 of 12.
  json wraps = info;
  wraps["batches"]["start"] = std::numeric_limits<std::uint64_t>::max();
  put_training_state(checkpoint, wraps.dump());
  CHECK(contains(refusal([&] { fuzz::resume_tiny_run(checkpoint); }), "does not fit a set of 12"));

  // vae-train trained an epoch and then failed appending to them.
  json metrics = info;
  metrics["run"]["metrics"] = 5;
  put_training_state(checkpoint, metrics.dump());
  CHECK(contains(test::io_error_of([&] { fuzz::resume_tiny_run(checkpoint); }),
                 "training_state.json: \"run\": \"metrics\" is not an array"));

  // The epochs done were 0 - 1, 2^64 - 1.
  json before = info;
  before["epoch"] = 0;
  put_training_state(checkpoint, before.dump());
  CHECK(contains(test::io_error_of([&] { fuzz::resume_tiny_run(checkpoint); }), "\"in_epoch\" is true of epoch 0"));
}

TEST_CASE("sweep grid: runs that would share a folder or leave the sweep's are refused; numbers reach vae-train whole") {
  using ojson = nlohmann::ordered_json;
  auto runs = [](const char* text) { return programs::sweep_runs(ojson::parse(text)); };
  auto why = [&](const char* text) { return refusal([&] { runs(text); }); };
  CHECK(contains(why(R"({"grid": {"--moded": [2, 2, 3]}})"), "two runs would share the folder moded-2"));
  CHECK(contains(why(R"({"grid": {"--hidden": ["64,32", "64_32"]}})"), "share the folder hidden-64_32"));
  CHECK(contains(why(R"({"grid": {"--seed": [1, "1"]}})"), "share the folder seed-1"));
  CHECK(contains(why(R"({"grid": {"--/licelihood": ["gaussian"]}})"), "'--/licelihood' is not a flag"));
  CHECK(contains(why(R"({"flags": {"--..": 1}})"), "is not a flag"));
  CHECK(contains(why(R"({"grid": {"--": [1]}})"), "is not a flag"));
  // 10,000 runs are a sweep; 10,001 are refused before one is made (the fuzzer's grid named millions).
  CHECK(runs(R"({"grid": {"--a": [1,2,3,4,5,6,7,8,9,10], "--b": [1,2,3,4,5,6,7,8,9,10], "--c": [1,2,3,4,5,6,7,8,9,10],
                 "--d": [1,2,3,4,5,6,7,8,9,10]}})").size() == 10000);
  CHECK(contains(why(R"({"grid": {"--a": [1,2,3,4,5,6,7,8,9,10], "--b": [1,2,3,4,5,6,7,8,9,10], "--c": [1,2,3,4,5,6,7,8,9,10],
                 "--d": [1,2,3,4,5,6,7,8,9,10], "--e": [1, 2]}})"), "more than 10000 runs"));

  // {:g} kept 6 digits: 1.67777e+29 and 0.000123457 went to vae-train instead.
  CHECK(runs(R"({"flags": {"--hidden": 167777777777777777777777777777}})")[0].flags[1] == "1.677777777777778e+29");
  const auto lr = runs(R"({"grid": {"--lr": [0.00012345678, 0.001, 1.5e-05]}})");
  REQUIRE(lr.size() == 3);
  CHECK(lr[0].flags[1] == "0.00012345678");
  CHECK(lr[0].name == "lr-0.00012345678");
  CHECK(lr[1].name == "lr-0.001");  // the names sweeps have always given stay
  CHECK(lr[2].name == "lr-1.5e-05");
}
