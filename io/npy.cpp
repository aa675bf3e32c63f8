#include "io/npy.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <string_view>

#include <xtensor/xadapt.hpp>
#include <xtensor/xnpy.hpp>

#include "io/atomic.hpp"

namespace vk {

// Data is copied byte for byte; a big-endian host would need swaps everywhere.
static_assert(std::endian::native == std::endian::little, "npy I/O assumes a little-endian host");

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

std::string shape_text(std::span<const std::size_t> shape) {
  // Python's repr of a tuple: "()", "(3,)", "(784, 400)".
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// Product of the dimensions, or nullopt when it does not fit a size_t.
std::optional<std::size_t> element_count(std::span<const std::size_t> shape) {
  std::size_t n = 1;
  for (std::size_t d : shape) {
    if (d != 0 && n > std::numeric_limits<std::size_t>::max() / d) return std::nullopt;
    n *= d;
  }
  return n;
}

// The header dict is a Python literal; this reads just the subset numpy writes
// (string keys; string, True/False and integer-tuple values).
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::filesystem::path& path)
      : text_(text), path_(path) {}

  void parse(std::string& descr, bool& fortran_order, std::vector<std::size_t>& shape) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (!peek('}')) {
      std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        shape = tuple();
        have_shape = true;
      } else {
        bad("unexpected key '" + key + "'");
      }
      if (!peek('}')) expect(',');
    }
    expect('}');
    if (!have_descr || !have_order || !have_shape)
      bad("header lacks one of 'descr', 'fortran_order', 'shape'");
  }

 private:
  [[noreturn]] void bad(const std::string& what) { fail(path_, "malformed npy header: " + what); }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
      bad("expected a string");
    char quote = text_[pos_++];
    std::size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (auto [word, value] : {std::pair{std::string_view("True"), true}, {"False", false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    bad("expected True or False");
  }
  std::vector<std::size_t> tuple() {
    std::vector<std::size_t> dims;
    expect('(');
    while (!peek(')')) {
      std::size_t start = pos_;
      std::size_t d = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        std::size_t digit = std::size_t(text_[pos_] - '0');
        if (d > (std::numeric_limits<std::size_t>::max() - digit) / 10) bad("dimension too large");
        d = d * 10 + digit;
        ++pos_;
      }
      if (pos_ == start) bad("expected a dimension");
      // numpy may write "3L" for a Python 2 long.
      if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;
      dims.push_back(d);
      if (!peek(')')) expect(',');
    }
    expect(')');
    return dims;
  }

  std::string_view text_;
  const std::filesystem::path& path_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string npy_bytes(const std::filesystem::path& path, const float* data, std::span<const std::size_t> shape) {
  auto count = element_count(shape);
  if (!count) fail(path, "shape " + shape_text(shape) + " is too large");
  // xt::dump_npy writes the bytes our former writer wrote for every shape of rank <= 2 (see
  // tests/test_checkpoint.cpp) but reports no failed write: it fills memory, the file is ours.
  const std::vector<std::size_t> dims(shape.begin(), shape.end());
  return xt::dump_npy(xt::adapt(data, *count, xt::no_ownership(), dims));
}

void write_npy(const std::filesystem::path& path, const float* data,
               std::span<const std::size_t> shape) {
  const std::string bytes = npy_bytes(path, data, shape);
  // Whole or not at all: a temporary sibling renamed into place.
  const std::filesystem::path tmp = temp_sibling(path);
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, "cannot open for writing: " + std::string(std::strerror(errno)));
  out.write(bytes.data(), std::streamsize(bytes.size()));
  out.close();
  if (!out) {
    const std::string why = std::strerror(errno);
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    fail(path, "write failed: " + why);
  }
  commit_temp(tmp, path);
}

std::size_t NpyBytes::count() const { return *element_count(shape); }

namespace {

// "'<f4' or '<f8'", "'|u1', '<f4' or '<f8'".
std::string dtype_list(std::span<const std::string_view> dtypes) {
  std::string s;
  for (std::size_t i = 0; i < dtypes.size(); ++i) {
    if (i > 0) s += i + 1 == dtypes.size() ? " or " : ", ";
    s += '\'';
    s += dtypes[i];
    s += '\'';
  }
  return s;
}

}  // namespace

NpyBytes read_npy_bytes(const std::filesystem::path& path, std::span<const std::string_view> dtypes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: " + std::string(std::strerror(errno)));
  NpyBytes array;
  std::string& bytes = array.file;
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "read failed");

  if (bytes.size() < kMagic.size() + 2 || std::string_view(bytes).substr(0, kMagic.size()) != kMagic)
    fail(path, "not an npy file (bad magic)");
  auto byte = [&](std::size_t i) { return std::size_t(static_cast<unsigned char>(bytes[i])); };
  std::size_t major = byte(6), minor = byte(7);
  std::size_t length_size = major == 1 ? 2 : 4;
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    fail(path, "unsupported npy format version " + std::to_string(major) + "." +
                   std::to_string(minor));
  std::size_t prefix = 8 + length_size;
  if (bytes.size() < prefix) fail(path, "truncated npy header");
  std::size_t header_len = 0;
  for (std::size_t i = 0; i < length_size; ++i) header_len |= byte(8 + i) << (8 * i);
  if (bytes.size() < prefix + header_len) fail(path, "truncated npy header");

  bool fortran_order = false;
  HeaderParser(std::string_view(bytes).substr(prefix, header_len), path)
      .parse(array.descr, fortran_order, array.shape);
  const std::string& descr = array.descr;
  if (std::find(dtypes.begin(), dtypes.end(), descr) == dtypes.end())
    fail(path, "unsupported dtype '" + descr + "' (expected " + dtype_list(dtypes) + ")");
  // Every accepted dtype ends in its size in bytes: '|u1', '<f4', '<i8'.
  array.item_size = std::size_t(descr.back() - '0');
  if (fortran_order) fail(path, "fortran_order True is not supported");

  const std::vector<std::size_t>& shape = array.shape;
  auto count = element_count(shape);
  if (!count || *count > std::numeric_limits<std::size_t>::max() / array.item_size)
    fail(path, "shape " + shape_text(shape) + " is too large");
  std::size_t expected = *count * array.item_size;
  std::size_t found = bytes.size() - prefix - header_len;
  if (found < expected)
    fail(path, "truncated data: shape " + shape_text(shape) + " needs " + std::to_string(expected) +
                   " bytes, file holds " + std::to_string(found));
  if (found > expected)
    fail(path, "size mismatch: shape " + shape_text(shape) + " needs " + std::to_string(expected) +
                   " bytes, file holds " + std::to_string(found));
  array.offset = prefix + header_len;
  return array;
}

NpyArray read_npy(const std::filesystem::path& path) {
  static constexpr std::string_view kFloats[] = {"<f4", "<f8"};
  const NpyBytes raw = read_npy_bytes(path, kFloats);
  const std::size_t count = raw.count();
  NpyArray array{raw.shape, std::vector<float>(count)};
  const char* src = raw.data();
  if (raw.item_size == 4) {
    // An empty vector's data() may be null, which memcpy must not get even for 0 bytes.
    if (count > 0) std::memcpy(array.data.data(), src, count * 4);
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      double v;
      std::memcpy(&v, src + 8 * i, 8);
      array.data[i] = static_cast<float>(v);
    }
  }
  return array;
}

}  // namespace vk
