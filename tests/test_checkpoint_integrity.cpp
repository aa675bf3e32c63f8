// Checkpoints that prove they are whole: every file of one with a flipped byte, truncated, or
// swapped with another checkpoint's is found and named in one line, and the previous whole
// checkpoint kept beside it (--keep-checkpoints) is taken instead.
#include <doctest/doctest.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "io/checkpoint.hpp"
#include "tests/checkpoint_fixtures.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace vk::test;

namespace {

vk::TrainingState state_of(unsigned seed) {
  return {{{"epoch", seed}, {"in_epoch", false}},
          {{"adam.m", tricky_floats(6, seed)}, {"adam.v", tricky_floats(9, seed + 1)}}};
}

// Saves checkpoint `seed` into dir, keeping `keep` (the previous ones as dir.1, ...).
void save(const fs::path& dir, unsigned seed, std::size_t keep = 2) {
  const vk::TrainingState state = state_of(seed);
  vk::save_checkpoint(dir, make_store(seed), json{{"seed", seed}}, &state, keep);
}

// The seed of the checkpoint at dir, read through both loaders.
unsigned seed_of(const fs::path& dir) {
  auto store = make_store(0);
  const unsigned seed = vk::load_checkpoint(dir, store)["seed"];
  CHECK(same_bits(store.values().data(), make_store(seed).values().data(), store.size()));
  CHECK(vk::load_training_state(dir).info["epoch"] == seed);
  return seed;
}

// XORs one byte of the file in place (no truncation: rewriting a file from empty makes ext4 flush
// it on close, which takes 17 s here for the thousands of flips below).
void flip(const fs::path& file, std::size_t at, unsigned char mask) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(std::streamoff(at));
  const char byte = char(f.get() ^ mask);
  f.seekp(std::streamoff(at));
  f.put(byte);
}

std::map<std::string, std::string> files_of(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files[e.path().filename().string()] = read_bytes(e.path());
  return files;
}

// With file of dir damaged: every loader refuses in one line that starts with the file's path
// (the manifest's, for a manifest from another checkpoint), and find_checkpoint takes dir.1 (seed
// 1), saying why.
void check_found(const fs::path& dir, const std::string& file) {
  CAPTURE(file);
  const std::string named = (dir / file).string() + ": ";
  const std::string e = io_error_of([&] { vk::verify_checkpoint(dir); });
  CHECK(e.rfind(named, 0) == 0);
  CHECK(e.find('\n') == std::string::npos);
  auto store = make_store(0);
  CHECK(io_error_of([&] { vk::load_checkpoint(dir, store); }) == e);
  CHECK(io_error_of([&] { vk::load_training_state(dir); }) == e);
  std::string why;
  CHECK(vk::find_checkpoint(dir, &why) == fs::path(dir.string() + ".1"));
  CHECK(why == e);
}

}  // namespace

TEST_CASE("every file of a checkpoint: a flipped byte, a truncation or another checkpoint's copy is named, the previous one found") {
  TempDir tmp;
  const fs::path dir = tmp / "checkpoint";
  save(dir, 1);
  save(dir, 2);  // dir.1 keeps seed 1
  save(tmp / "other", 3, 1);
  CHECK(seed_of(dir) == 2);
  CHECK(seed_of(tmp / "checkpoint.1") == 1);
  CHECK(vk::find_checkpoint(dir) == dir);
  const auto whole = files_of(dir), other = files_of(tmp / "other");
  REQUIRE(whole.size() == 7);  // 3 parameters, 2 state arrays, training_state.json, manifest.json
  std::size_t flips = 0;
  for (const auto& [file, bytes] : whole) {
    for (std::size_t at = 0; at < bytes.size(); ++at)
      for (unsigned char mask : {0x01, 0x80}) {
        flip(dir / file, at, mask);
        const std::string e = io_error_of([&] { vk::verify_checkpoint(dir); });
        if (e.rfind((dir / file).string() + ": ", 0) != 0) FAIL_CHECK(file << " byte " << at << " ^ " << int(mask) << ": " << e);
        if (at + 1 == bytes.size() && mask == 0x80) check_found(dir, file);  // the last flip, through every loader
        flip(dir / file, at, mask);
        ++flips;
      }
    for (std::size_t size : {std::size_t(0), bytes.size() / 2, bytes.size() - 1}) {
      write_bytes(dir / file, bytes.substr(0, size));
      check_found(dir, file);
    }
    write_bytes(dir / file, other.at(file));
    check_found(dir, file);
    write_bytes(dir / file, bytes);
  }
  MESSAGE(flips << " flipped bytes, each named");
  CHECK(seed_of(dir) == 2);
  CHECK(vk::find_checkpoint(dir) == dir);
}

TEST_CASE("a manifest and files from different checkpoints name the manifest, and the files") {
  TempDir tmp;
  save(tmp / "a", 1, 1);
  save(tmp / "b", 2, 1);
  const std::string manifest = read_bytes(tmp / "a" / "manifest.json");
  write_bytes(tmp / "b" / "manifest.json", manifest);
  const std::string e = io_error_of([&] { vk::verify_checkpoint(tmp / "b"); });
  CHECK(e.rfind((tmp / "b" / "manifest.json").string() + ": 6 of the 6 files it lists do not match", 0) == 0);
  CHECK(contains(e, "encoder.0.weight.npy"));
  CHECK(contains(e, "training_state.json"));
  // A manifest that lists checksums but lost its own (a flip in its key) is damaged too.
  json m = json::parse(manifest);
  m.erase("manifest_crc32");
  write_bytes(tmp / "a" / "manifest.json", m.dump(2));
  CHECK(contains(io_error_of([&] { vk::read_checkpoint_manifest(tmp / "a"); }), "no \"manifest_crc32\" of its own"));
}

TEST_CASE("the damaged newest is moved aside and the previous whole one put in its place, in one line") {
  TempDir tmp;
  const fs::path dir = tmp / "checkpoint";
  save(dir, 1);
  save(dir, 2);
  fs::resize_file(dir / "state.adam.v.npy", 10);
  const std::string note = vk::recover_checkpoint(dir);
  CHECK(note.rfind((dir / "state.adam.v.npy").string() + ": truncated: 10 bytes but the manifest says", 0) == 0);
  CHECK(contains(note, "falling back to " + (tmp / "checkpoint.1").string()));
  CHECK(note.find('\n') == std::string::npos);
  CHECK(seed_of(dir) == 1);
  std::set<std::string> names = tmp.names();
  REQUIRE(names.size() == 2);
  CHECK(names.count("checkpoint"));
  CHECK(names.rbegin()->rfind("checkpoint.damaged-", 0) == 0);
  CHECK(vk::recover_checkpoint(dir) == "");  // whole now: nothing to say
  save(dir, 3);
  CHECK(seed_of(tmp / "checkpoint.1") == 1);

  // Nothing whole left: the error names what is wrong with the newest.
  save(tmp / "alone", 4, 1);
  fs::remove(tmp / "alone" / "encoder.0.bias.npy");
  const std::string e = io_error_of([&] { vk::recover_checkpoint(tmp / "alone"); });
  CHECK(e.rfind((tmp / "alone" / "encoder.0.bias.npy").string() + ": cannot open", 0) == 0);
  CHECK(contains(e, "no whole checkpoint is kept beside it"));
}

TEST_CASE("--keep-checkpoints N keeps the newest and the N-1 before it, by number") {
  TempDir tmp;
  const fs::path dir = tmp / "checkpoint";
  for (unsigned seed = 1; seed <= 5; ++seed) save(dir, seed, 3);
  CHECK(tmp.names() == std::set<std::string>{"checkpoint", "checkpoint.1", "checkpoint.2"});
  CHECK(seed_of(dir) == 5);
  CHECK(seed_of(tmp / "checkpoint.1") == 4);
  CHECK(seed_of(tmp / "checkpoint.2") == 3);
  save(dir, 6, 1);  // fewer kept from now on: the older ones go
  CHECK(tmp.names() == std::set<std::string>{"checkpoint"});
  CHECK(seed_of(dir) == 6);
}

TEST_CASE("a save killed between its renames with a kept checkpoint: the new one is found, the kept one stays") {
  TempDir tmp;
  const fs::path dir = tmp / "checkpoint";
  save(dir, 1);
  save(tmp / "new", 2, 1);
  fs::rename(dir, tmp / "checkpoint.1");  // as the save does before renaming the new one in
  fs::rename(tmp / "new", tmp / "checkpoint.tmp-1-aaaa");
  std::string why = "left from before";
  CHECK(vk::find_checkpoint(dir, &why) == tmp / "checkpoint.tmp-1-aaaa");
  CHECK(why == "");  // nothing was wrong with dir: it was not there
  CHECK(vk::recover_checkpoint(dir) == "");
  CHECK(tmp.names() == std::set<std::string>{"checkpoint", "checkpoint.1"});
  CHECK(seed_of(dir) == 2);
  CHECK(seed_of(tmp / "checkpoint.1") == 1);
}

TEST_CASE("a checkpoint of an older build, without checksums, loads as before") {
  TempDir tmp;
  save(tmp / "c", 7, 1);
  without_checksums(tmp / "c");
  CHECK(!vk::read_checkpoint_manifest(tmp / "c").contains("manifest_crc32"));
  CHECK(seed_of(tmp / "c") == 7);
  CHECK(vk::find_checkpoint(tmp / "c") == tmp / "c");
}
