#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/files.hpp"
#include "io/atomic.hpp"
#include "io/checkpoint.hpp"
#include "io/npy.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using vk::test::TempDir;

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

using vk::test::contains;
using vk::test::io_error_of;

// A hand-made npy file: header dict text as numpy would write it, padded to 64 bytes.
std::string make_npy(const std::string& dict, const std::string& data) {
  std::string body = dict;
  while ((10 + body.size() + 1) % 64 != 0) body += ' ';
  body += '\n';
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(body.size() & 0xFF);
  out += char(body.size() >> 8);
  return out + body + data;
}

// Values that catch any conversion on the way: denormals, signed zero, extremes, inf, NaN payload.
std::vector<float> tricky_floats(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 3.f);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  const float specials[] = {std::numeric_limits<float>::denorm_min(),
                            -std::numeric_limits<float>::denorm_min(),
                            std::bit_cast<float>(0x00400001u),  // denormal with low bits set
                            -0.0f,
                            std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::min(),
                            std::numeric_limits<float>::infinity(),
                            std::bit_cast<float>(0x7fc12345u)};  // NaN with a payload
  for (std::size_t i = 0; i < std::size(specials) && i < n; ++i) v[i * 3 % n] = specials[i];
  return v;
}

bool same_bits(const float* a, const float* b, std::size_t n) {
  return std::memcmp(a, b, n * sizeof(float)) == 0;
}

vk::ParameterStore<float> make_store(unsigned seed) {
  vk::ParameterStore<float> store;
  store.add("encoder.0.weight", 7, 5);
  store.add("encoder.0.bias", 1, 5);
  store.add("decoder.out.weight", 5, 3);
  auto v = tricky_floats(store.size(), seed);
  std::copy(v.begin(), v.end(), store.values().begin());
  return store;
}

std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (contains(n, ".tmp-") || contains(n, ".old-")) names.push_back(n);
  }
  return names;
}

}  // namespace

// The old writer's rule (the dict as numpy writes it, then spaces to a multiple of 64 bytes), with
// the data: what write_npy must still write now that xt::dump_npy makes the bytes.
TEST_CASE("write_npy writes format 1.0 with the old writer's bytes for scalars, vectors, matrices") {
  TempDir tmp;
  const std::pair<std::vector<std::size_t>, std::string> cases[] = {
      {{}, "()"},         {{1}, "(1,)"},         {{5}, "(5,)"},          {{784}, "(784,)"},
      {{0}, "(0,)"},      {{1, 1}, "(1, 1)"},   {{6, 9}, "(6, 9)"},    {{784, 400}, "(784, 400)"},
      {{2, 3, 4}, "(2, 3, 4)"}};
  for (const auto& [shape, text] : cases) {
    CAPTURE(text);
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    auto values = tricky_floats(n, 4);
    vk::write_npy(tmp.path / "a.npy", values.data(), shape);
    const std::string data(reinterpret_cast<const char*>(values.data()), n * sizeof(float));
    CHECK(read_bytes(tmp.path / "a.npy") ==
          make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': " + text + ", }", data));
  }
  // Where the unpadded header already ends on 64 bytes (here 21 dimensions) xtensor pads 64 spaces
  // more, as numpy's own writer does; the old writer padded none. read_npy takes both.
  std::vector<std::size_t> aligned(21, 1);
  aligned[0] = 10;
  std::vector<float> ten(10, 1.5f);
  vk::write_npy(tmp.path / "b.npy", ten.data(), aligned);
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (10";
  for (int i = 1; i < 21; ++i) dict += ", 1";
  dict += "), }";
  CHECK(read_bytes(tmp.path / "b.npy").size() == make_npy(dict, std::string(40, 'x')).size() + 64);
  CHECK(vk::read_npy(tmp.path / "b.npy").shape == aligned);
  CHECK(vk::read_npy(tmp.path / "b.npy").data == ten);
}

TEST_CASE("write_npy writes header then raw little-endian floats; read_npy reads them back") {
  TempDir tmp;
  auto values = tricky_floats(6 * 9, 1);
  const std::size_t shape[] = {6, 9};
  fs::path file = tmp.path / "a.npy";
  vk::write_npy(file, values.data(), shape);

  std::string bytes = read_bytes(file);
  std::string header = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6, 9), }", "");
  REQUIRE(bytes.size() == header.size() + values.size() * 4);
  CHECK(bytes.substr(0, header.size()) == header);
  CHECK(same_bits(reinterpret_cast<const float*>(bytes.data() + header.size()), values.data(),
                  values.size()));

  vk::NpyArray a = vk::read_npy(file);
  CHECK(a.shape == std::vector<std::size_t>{6, 9});
  REQUIRE(a.size() == values.size());
  CHECK(same_bits(a.data.data(), values.data(), values.size()));
}

TEST_CASE("read_npy accepts <f8, rank 1 and a numpy-style header") {
  TempDir tmp;
  double d[3] = {1.5, -2.25, 1e-3};
  std::string data(reinterpret_cast<const char*>(d), sizeof d);
  write_bytes(tmp.path / "d.npy",
              make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", data));
  vk::NpyArray a = vk::read_npy(tmp.path / "d.npy");
  CHECK(a.shape == std::vector<std::size_t>{3});
  REQUIRE(a.size() == 3);
  CHECK(a.data[0] == 1.5f);
  CHECK(a.data[1] == -2.25f);
  CHECK(a.data[2] == 1e-3f);
}

// Found by scripts/fuzz npy: an array with a zero dimension passed memcpy a null pointer, which
// is undefined even for 0 bytes (scripts/test --sanitize fails on it).
TEST_CASE("read_npy reads an array with a zero dimension as no values, in both dtypes") {
  TempDir tmp;
  for (const char* descr : {"<f4", "<f8"}) {
    write_bytes(tmp.path / "empty.npy",
                make_npy(std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (0, 30, 3), }", ""));
    vk::NpyArray a = vk::read_npy(tmp.path / "empty.npy");
    CHECK(a.shape == std::vector<std::size_t>{0, 30, 3});
    CHECK(a.size() == 0);
  }
}

TEST_CASE("read_npy rejects malformed files with a message naming the file") {
  TempDir tmp;
  fs::path f = tmp.path / "bad.npy";
  std::string four_floats(16, '\0');
  auto error_for = [&](const std::string& bytes) {
    write_bytes(f, bytes);
    return io_error_of([&] { vk::read_npy(f); });
  };
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
  REQUIRE(error_for(make_npy(ok_dict, four_floats)) == "");

  std::string e = error_for("\x93NUMPX" + make_npy(ok_dict, four_floats).substr(6));
  CHECK(contains(e, f.string()));
  CHECK(contains(e, "bad magic"));
  CHECK(contains(error_for(make_npy(ok_dict, four_floats.substr(0, 12))), "truncated"));
  CHECK(contains(error_for(make_npy(ok_dict, four_floats + "xxxx")), "size mismatch"));
  CHECK(contains(error_for(make_npy(ok_dict, four_floats).substr(0, 40)), "truncated"));
  CHECK(contains(
      error_for(make_npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", four_floats)),
      "unsupported dtype '<i4'"));
  CHECK(contains(
      error_for(make_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", four_floats)),
      "unsupported dtype '>f4'"));
  CHECK(contains(
      error_for(make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", four_floats)),
      "fortran_order"));
  CHECK(contains(error_for(make_npy("{'descr': '<f4', 'shape': (2, 2), }", four_floats)),
                 "malformed npy header"));
  CHECK(contains(io_error_of([&] { vk::read_npy(tmp.path / "missing.npy"); }), "missing.npy"));
}

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
                                          {"dtype", "float32"}});
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
