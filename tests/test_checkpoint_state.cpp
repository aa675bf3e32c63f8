// A checkpoint's training state (its arrays and JSON, written before the manifest) and finding
// the whole checkpoint that a save killed between its two renames leaves beside the folder.
#include <doctest/doctest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "io/checkpoint.hpp"
#include "tests/files.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using vk::test::contains;
using vk::test::io_error_of;
using vk::test::TempDir;

namespace {

vk::ParameterStore<float> store_of(float v) {
  vk::ParameterStore<float> s;
  s.add("w", 2, 3);
  for (float& x : s.values()) x = v;
  return s;
}

vk::TrainingState state_of(int epoch) {
  return {{{"epoch", epoch}, {"rng", "1 2 3"}}, {{"adam.m", {0.5f, -1e-30f, 3.f}}, {"adam.v", {}}}};
}

float first_value(const fs::path& dir) {
  auto s = store_of(0);
  vk::load_checkpoint(dir, s);
  return s.values()[0];
}

}  // namespace

TEST_CASE("the training state comes back as saved, listed in the manifest") {
  TempDir tmp;
  const fs::path dir = tmp / "checkpoint";
  const vk::TrainingState saved = state_of(4);
  vk::save_checkpoint(dir, store_of(1), json{{"k", 1}}, &saved);
  const json manifest = vk::read_checkpoint_manifest(dir);
  CHECK(manifest["training_state"]["file"] == "training_state.json");
  CHECK(manifest["training_state"]["arrays"][0]["file"] == "state.adam.m.npy");
  const vk::TrainingState loaded = vk::load_training_state(dir);
  CHECK(loaded.info == saved.info);
  CHECK(loaded.arrays == saved.arrays);

  vk::save_checkpoint(tmp / "plain", store_of(1), json{});
  CHECK(contains(io_error_of([&] { vk::load_training_state(tmp / "plain"); }), "holds no training state"));
  std::ofstream(dir / "training_state.json") << "{\"epoch\": ";  // as if cut short
  CHECK(contains(io_error_of([&] { vk::load_training_state(dir); }), "training_state.json: truncated"));
}

TEST_CASE("a save killed between its renames: the newest whole sibling is found and put back in place") {
  TempDir tmp;
  const fs::path dir = tmp / "checkpoint";
  CHECK(contains(io_error_of([&] { vk::find_checkpoint(dir); }), "no checkpoint"));
  const vk::TrainingState s1 = state_of(1), s2 = state_of(2);
  vk::save_checkpoint(dir, store_of(1), json{}, &s1);
  CHECK(vk::find_checkpoint(dir) == dir);
  // What commit_temp leaves when killed after moving the old folder aside: the old one, the new
  // whole one (its manifest written last) and an older save cut short before its manifest.
  vk::save_checkpoint(tmp / "new", store_of(2), json{}, &s2);
  fs::create_directory(tmp / "checkpoint.tmp-1-cut");
  std::ofstream(tmp / "checkpoint.tmp-1-cut" / "w.npy") << "half";
  fs::rename(dir, tmp / "checkpoint.old-2-aaaa");
  fs::rename(tmp / "new", tmp / "checkpoint.tmp-3-bbbb");
  fs::last_write_time(tmp / "checkpoint.old-2-aaaa" / "manifest.json", fs::file_time_type::clock::now() - std::chrono::hours(1));
  CHECK(vk::find_checkpoint(dir) == tmp / "checkpoint.tmp-3-bbbb");
  CHECK(first_value(vk::find_checkpoint(dir)) == 2.f);

  vk::recover_checkpoint(dir);
  CHECK(tmp.names() == std::set<std::string>{"checkpoint"});
  CHECK(first_value(dir) == 2.f);
  CHECK(vk::load_training_state(dir).info["epoch"] == 2);
  vk::recover_checkpoint(dir);  // nothing to do: stays
  CHECK(first_value(dir) == 2.f);
}
