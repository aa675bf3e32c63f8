// vae-sweep: the runs of a grid of vae-train flags, spread over the ranks of mpirun (rank r of N
// trains runs r, r + N, ...; each run is one vae-train process of its own, in its own folder), and
// rank 0's table of them all with mean and spread over seeds. Started again with the same grid,
// it skips the runs that finished (final.json) and continues those a kill interrupted from their
// checkpoint (vae-train --resume).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "distributed/comm.hpp"
#include "experiments/support/cli.hpp"
#include "experiments/support/files.hpp"
#include "experiments/sweep.hpp"
#include "io/json_read.hpp"
#include "io/run_lock.hpp"

extern char** environ;

using namespace vk;
namespace fs = std::filesystem;

namespace {

struct Options {
  std::string grid, out;
};

// The environment of a run: this one without what mpirun set, so that vae-train is a process of
// its own and not a rank of the sweep's job.
std::vector<std::string> run_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string v = *e;
    if (v.rfind("OMPI_", 0) == 0 || v.rfind("PMIX_", 0) == 0 || v.rfind("PMI_", 0) == 0) continue;
    env.push_back(v);
  }
  return env;
}

// Runs program with args, stdout and stderr into log; its exit code (128 + signal if killed).
int run_process(const fs::path& program, const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> argv_s = {program.string()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = run_environment();
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, program.c_str(), &files, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  if (err) throw std::runtime_error(fmt::format("{}: cannot start: {}", program.string(), std::strerror(err)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw std::runtime_error(fmt::format("waiting for {}: {}", program.string(), std::strerror(errno)));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// What run `r` still needs: nothing (finished), a resume from its checkpoint, or a start.
std::vector<std::string> remaining_work(const programs::SweepRun& r, const fs::path& dir) {
  if (fs::exists(dir / "final.json")) return {};
  bool checkpoint = false;  // vae-train --resume also finds one a killed save left beside it
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      checkpoint |= e.path().filename().string().rfind("checkpoint", 0) == 0;
  if (checkpoint) return {"--resume", dir.string()};
  fs::remove_all(dir);  // killed before its first checkpoint: nothing to keep
  std::vector<std::string> args = r.flags;
  args.insert(args.end(), {"--out", dir.string()});
  return args;
}

int sweep(const Options& o) {
  const fs::path out = o.out, grid_copy = out / "grid.json";
  std::ifstream in(o.grid);
  if (!in) throw std::invalid_argument(fmt::format("--grid {}: cannot read the file", o.grid));
  const auto grid = parse_json<nlohmann::ordered_json>(in, "--grid " + o.grid);
  const std::vector<programs::SweepRun> runs = programs::sweep_runs(grid);
  // Rank 0 checks the folder holds this grid's sweep (or none) before any rank starts a run.
  if (dist::is_root()) {
    if (fs::exists(grid_copy) && parse_json<nlohmann::ordered_json>(std::ifstream(grid_copy), grid_copy.string()) != grid)
      throw std::invalid_argument(fmt::format("--out {} holds a sweep of another grid ({})", o.out, grid_copy.string()));
    support::ensure_run_dir(out / "logs");
    support::write_text_atomic(grid_copy, grid.dump(2) + "\n");
  }
  dist::barrier();
  const fs::path vae_train = fs::read_symlink("/proc/self/exe").parent_path() / "vae-train";
  const int rank = dist::rank(), ranks = dist::size();
  std::size_t failed = 0;
  for (std::size_t i = std::size_t(rank); i < runs.size(); i += std::size_t(ranks)) {
    const programs::SweepRun& r = runs[i];
    // Another vae-sweep over this folder (or a vae-train) may be writing this run: leave it to that one.
    const std::optional<FileLock> mine = FileLock::try_lock(out / "logs" / (r.name + ".lock"));
    if (!mine || support::run_locked(out / r.name)) {
      fmt::print(stderr, "vae-sweep: rank {} of {}: run {}/{} {}: being written by another process, left to it\n", rank, ranks, i + 1, runs.size(), r.name);
      continue;
    }
    const std::vector<std::string> args = remaining_work(r, out / r.name);
    const char* what = args.empty() ? "finished before" : args[0] == "--resume" ? "resumed" : "started";
    fmt::print(stderr, "vae-sweep: rank {} of {}: run {}/{} {}: {}\n", rank, ranks, i + 1, runs.size(), r.name, what);
    if (args.empty()) continue;
    const int code = run_process(vae_train, args, out / "logs" / (r.name + ".log"));
    if (code == 128 + SIGINT || code == 128 + SIGTERM)  // asked to stop: the same command continues
      throw std::runtime_error(fmt::format("stopped in run {}; the same command continues the sweep", r.name));
    if (code != 0) {
      ++failed;
      fmt::print(stderr, "vae-sweep: run {} failed (exit {}); see {}\n", r.name, code, (out / "logs" / (r.name + ".log")).string());
    }
  }
  double failures = double(failed);
  dist::allreduce_sum(std::span<double>(&failures, 1));
  if (dist::is_root()) {
    programs::write_sweep_table(out, runs);
    fmt::print(stderr, "vae-sweep: {} runs, {} failed; table in {}\n", runs.size(), std::size_t(failures),
               (out / "sweep.md").string());
  }
  return failures > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  support::Command cmd("vae-sweep", "Train the runs of a grid of vae-train flags, spread over the ranks of mpirun.",
      "Example: mpirun -np 4 vae-sweep --grid grid.json --out runs/sweep\n"
      "grid.json: {\"flags\": {\"--epochs\": 5}, \"grid\": {\"--model\": [\"vae\", \"ae\"], \"--seed\": [1, 2, 3]}}\n"
      "Each run is a vae-train process in --out/<name>/ (rank r of N trains runs r, r+N, ...); rank 0 writes\n"
      "sweep.md and sweep.json: each setting's mean and sample standard deviation over the seeds. The same\n"
      "command again skips finished runs and resumes interrupted ones from their checkpoint.");
  Options o;
  cmd.option("--grid", o.grid, "JSON file: {\"flags\": {fixed flags}, \"grid\": {flag: [values], ...}}").required();
  cmd.option("--out", o.out, "folder of the sweep (one folder per run, logs/, sweep.md, sweep.json)").required();
  return support::run_main(cmd, argc, argv, [&] { return sweep(o); });
}
