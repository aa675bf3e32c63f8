// The .npy writer and reader: the bytes numpy writes, every float kept, malformed files named.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "io/checkpoint.hpp"
#include "io/npy.hpp"
#include "tests/checkpoint_fixtures.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace vk::test;

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
