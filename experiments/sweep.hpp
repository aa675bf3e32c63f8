// A sweep: a grid of vae-train flags (models x likelihoods x seeds x any flag), its runs in a
// fixed order, and the table of their final numbers with mean and spread over seeds.
//
//   {"flags": {"--epochs": 5, "--limit": 10000},
//    "grid":  {"--model": ["vae", "ae"], "--likelihood": ["gaussian", "bernoulli"], "--seed": [1, 2, 3]}}
//
// Every combination of the grid's values is one run, with the fixed flags; the runs that differ
// only in --seed form one row of the table.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vk::programs {

struct SweepRun {
  std::string name;                // folder under the sweep's, e.g. "model-vae_likelihood-bernoulli_seed-2"
  std::string group;               // the name without the seed: the table's row
  std::vector<std::string> flags;  // vae-train's arguments, without --out
};

// The runs of a grid file's contents, in order (the grid's keys in the file's order, the last
// varying fastest). Throws std::invalid_argument naming what is wrong.
std::vector<SweepRun> sweep_runs(const nlohmann::ordered_json& grid);

// The combined table of the runs' final.json files under dir (the runs not finished are counted
// and left out): sweep.json (every run) and sweep.md (per group, mean +- sample standard
// deviation over seeds).
void write_sweep_table(const std::filesystem::path& dir, const std::vector<SweepRun>& runs);

}  // namespace vk::programs
