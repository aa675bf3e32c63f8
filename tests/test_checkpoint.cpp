// Checkpoint folders: the documented layout, a bit-exact round trip, loading errors that name
// what is wrong, and saves that replace a checkpoint whole.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "io/atomic.hpp"
#include "io/checkpoint.hpp"
#include "io/npy.hpp"
#include "tests/checkpoint_fixtures.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace vk::test;

TEST_CASE("checkpoint round trip is bit-exact and writes the documented layout") {
  TempDir tmp;
  auto saved = make_store(2);
  json metadata = {{"architecture", {{"latent", 2}, {"hidden", {400}}}}, {"epoch", 7}};
  fs::path dir = tmp.path / "runs" / "ckpt";  // parent folders are created
  vk::save_checkpoint(dir, saved, metadata);

  CHECK(fs::exists(dir / "encoder.0.weight.npy"));
  CHECK(fs::exists(dir / "decoder.out.weight.npy"));
  json manifest = vk::read_checkpoint_manifest(dir);
  CHECK(manifest["format"] == "vaekit-checkpoint");
  CHECK(manifest["version"] == 1);
  REQUIRE(manifest["parameters"].size() == 3);
  CHECK(manifest["parameters"][1] == json{{"name", "encoder.0.bias"},
                                          {"file", "encoder.0.bias.npy"},
                                          {"shape", {1, 5}},
                                          {"dtype", "float32"},
                                          {"bytes", fs::file_size(dir / "encoder.0.bias.npy")},
                                          {"crc32", manifest["parameters"][1]["crc32"]}});
  CHECK(manifest["parameters"][1]["crc32"].get<std::string>().find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(manifest["parameters"][1]["crc32"].get<std::string>().size() == 8);
  CHECK(manifest["manifest_crc32"].get<std::string>().size() == 8);
  CHECK(manifest["metadata"] == metadata);
  CHECK(vk::read_npy(dir / "encoder.0.weight.npy").shape == std::vector<std::size_t>{7, 5});

  vk::ParameterStore<float> loaded;
  loaded.add("decoder.out.weight", 5, 3);  // registration order need not match
  loaded.add("encoder.0.weight", 7, 5);
  loaded.add("encoder.0.bias", 1, 5);
  CHECK(vk::load_checkpoint(dir, loaded) == metadata);
  for (const auto& e : saved.entries()) {
    auto id = loaded.find(e.name);
    REQUIRE(id);
    CHECK(same_bits(loaded.value_data(*id), saved.value_data(*saved.find(e.name)), e.size()));
  }
  CHECK(leftovers(dir.parent_path()).empty());
}

TEST_CASE("double stores are saved as float32 and loaded back") {
  TempDir tmp;
  vk::ParameterStore<double> store;
  auto id = store.add("w", 2, 2);
  double v[4] = {0.1, -1e-30, 3.0, 1.0 / 3.0};
  std::copy(v, v + 4, store.value_data(id));
  vk::save_checkpoint(tmp.path / "c", store, nullptr);

  vk::ParameterStore<double> loaded;
  auto lid = loaded.add("w", 2, 2);
  CHECK(vk::load_checkpoint(tmp.path / "c", loaded).is_null());
  for (int i = 0; i < 4; ++i) CHECK(loaded.value_data(lid)[i] == double(float(v[i])));
}

TEST_CASE("loading reports what is wrong and leaves the store unchanged") {
  TempDir tmp;
  fs::path dir = tmp.path / "ckpt";
  vk::save_checkpoint(dir, make_store(3), json::object());

  auto target = make_store(4);  // different values, so partial writes would show
  const std::vector<float> before(target.values().begin(), target.values().end());
  auto unchanged = [&] {
    return std::equal(before.begin(), before.end(), target.values().begin(),
                      [](float a, float b) { return std::bit_cast<std::uint32_t>(a) ==
                                                    std::bit_cast<std::uint32_t>(b); });
  };

  SUBCASE("parameter missing from the checkpoint") {
    target.add("encoder.1.weight", 5, 5);
    std::string e = io_error_of([&] { vk::load_checkpoint(dir, target); });
    CHECK(contains(e, dir.string()));
    CHECK(contains(e, "'encoder.1.weight'"));
  }
  SUBCASE("shape differs from the model") {
    vk::ParameterStore<float> other;
    other.add("encoder.0.weight", 5, 7);
    std::string e = io_error_of([&] { vk::load_checkpoint(dir, other); });
    CHECK(contains(e, "'encoder.0.weight'"));
    CHECK(contains(e, "[7, 5] in the checkpoint but [5, 7] in the model"));
  }
  SUBCASE("truncated npy") {
    fs::path f = dir / "encoder.0.bias.npy";
    fs::resize_file(f, fs::file_size(f) - 3);
    std::string e = io_error_of([&] { vk::load_checkpoint(dir, target); });
    CHECK(contains(e, f.string()));
    CHECK(contains(e, "truncated"));
    CHECK(contains(e, "'encoder.0.bias'"));
  }
  SUBCASE("npy file missing") {
    fs::remove(dir / "decoder.out.weight.npy");
    std::string e = io_error_of([&] { vk::load_checkpoint(dir, target); });
    CHECK(contains(e, "decoder.out.weight.npy"));
    CHECK(contains(e, "'decoder.out.weight'"));
  }
  SUBCASE("npy shape differs from the manifest") {
    without_checksums(dir);  // an older build's checkpoint: its checksums would catch this first
    std::vector<float> zeros(35, 0.f);
    const std::size_t shape[] = {5, 7};
    vk::write_npy(dir / "encoder.0.weight.npy", zeros.data(), shape);
    std::string e = io_error_of([&] { vk::load_checkpoint(dir, target); });
    CHECK(contains(e, "holds shape [5, 7] but the manifest says [7, 5]"));
  }
  SUBCASE("missing manifest") {
    fs::remove(dir / "manifest.json");
    std::string e = io_error_of([&] { vk::load_checkpoint(dir, target); });
    CHECK(contains(e, dir.string()));
    CHECK(contains(e, "manifest.json"));
  }
  SUBCASE("missing folder") {
    CHECK(contains(io_error_of([&] { vk::load_checkpoint(tmp.path / "nope", target); }),
                   "no such checkpoint folder"));
  }
  SUBCASE("malformed manifests") {
    without_checksums(dir);  // as an older build's: the checks below come after the manifest's own checksum
    const json good = vk::read_checkpoint_manifest(dir);
    auto error_with = [&](const std::string& text) {
      write_bytes(dir / "manifest.json", text);
      return io_error_of([&] { vk::load_checkpoint(dir, target); });
    };
    CHECK(contains(error_with("{\"format\": "), "malformed JSON"));
    json m = good;
    m["format"] = "other";
    CHECK(contains(error_with(m.dump()), "\"format\""));
    m = good;
    m["version"] = 2;
    CHECK(contains(error_with(m.dump()), "unsupported version 2"));
    m = good;
    m["parameters"][0]["file"] = "../escape.npy";
    CHECK(contains(error_with(m.dump()), "'encoder.0.weight' has no plain \"file\""));
    m = good;
    m["parameters"][2]["shape"] = {5};
    CHECK(contains(error_with(m.dump()), "'decoder.out.weight' has no \"shape\""));
    m = good;
    m["parameters"][1]["dtype"] = "float64";
    CHECK(contains(error_with(m.dump()), "dtype"));
    m = good;
    m["parameters"].push_back(good["parameters"][0]);
    CHECK(contains(error_with(m.dump()), "listed twice"));
    CHECK(contains(error_with(m.dump()), (dir / "manifest.json").string()));
  }
  CHECK(unchanged());
}

// Found reading the loader for its fuzz target: metadata nested a million levels deep parsed,
// then the copy load_checkpoint returns recursed once per level and overflowed the stack.
TEST_CASE("a manifest nested too deep is refused with one line, not a stack overflow") {
  TempDir tmp;
  fs::path dir = tmp.path / "ckpt";
  vk::save_checkpoint(dir, make_store(3), json::object());
  without_checksums(dir);  // edited below
  const std::string text = read_bytes(dir / "manifest.json");
  auto with_metadata_depth = [&](std::size_t depth) {
    const std::string empty = "\"metadata\": {}";
    const std::size_t at = text.rfind(empty);
    REQUIRE(at != std::string::npos);
    std::string nested = text;
    nested.replace(at, empty.size(), "\"metadata\": " + std::string(depth, '[') + std::string(depth, ']'));
    write_bytes(dir / "manifest.json", nested);
  };
  auto target = make_store(4);
  with_metadata_depth(60);  // within the limit: loads
  CHECK(io_error_of([&] { vk::load_checkpoint(dir, target); }) == "");
  with_metadata_depth(1000000);
  const std::string e = io_error_of([&] { vk::load_checkpoint(dir, target); });
  CHECK(contains(e, (dir / "manifest.json").string()));
  CHECK(contains(e, "nested more than 64 levels deep"));
}

TEST_CASE("saving over a checkpoint replaces it completely and leaves nothing behind") {
  TempDir tmp;
  fs::path dir = tmp.path / "ckpt";
  vk::save_checkpoint(dir, make_store(5), json{{"step", 1}});
  std::ofstream(dir / "stale.txt") << "from the first save";

  auto second = make_store(6);
  vk::save_checkpoint(dir, second, json{{"step", 2}});
  CHECK_FALSE(fs::exists(dir / "stale.txt"));
  auto loaded = make_store(7);
  CHECK(vk::load_checkpoint(dir, loaded) == json{{"step", 2}});
  CHECK(same_bits(loaded.values().data(), second.values().data(), second.size()));
  CHECK(leftovers(tmp.path).empty());

  // A trailing separator names the same folder.
  vk::save_checkpoint(dir.string() + "/", second, json{{"step", 3}});
  CHECK(vk::read_checkpoint_manifest(dir)["metadata"] == json{{"step", 3}});
  CHECK(leftovers(tmp.path).empty());
}

TEST_CASE("saving refuses to replace a folder that is not a checkpoint") {
  TempDir tmp;
  fs::path run = tmp.path / "run";
  fs::create_directories(run);
  std::ofstream(run / "log.jsonl") << "{}\n";
  std::string e = io_error_of([&] { vk::save_checkpoint(run, make_store(8), nullptr); });
  CHECK(contains(e, "refusing"));
  CHECK(fs::exists(run / "log.jsonl"));
  CHECK(leftovers(tmp.path).empty());

  vk::ParameterStore<float> bad;
  bad.add("../w", 1, 1);
  CHECK(contains(io_error_of([&] { vk::save_checkpoint(tmp.path / "c", bad, nullptr); }),
                 "cannot be used as a file name"));
  CHECK_FALSE(fs::exists(tmp.path / "c"));
  CHECK(leftovers(tmp.path).empty());
}

TEST_CASE("commit_temp never puts a file in place of a folder") {
  TempDir tmp;
  const fs::path run = tmp.path / "run";
  fs::create_directories(run);
  std::ofstream(run / "log.jsonl") << "{}\n";
  const fs::path file = vk::temp_sibling(run);
  std::ofstream(file) << "not a folder";
  std::string e = io_error_of([&] { vk::commit_temp(file, run); });
  CHECK(contains(e, run.string()));
  CHECK(fs::exists(run / "log.jsonl"));
  CHECK(tmp.names() == std::set<std::string>{"run"});
}
