#include "io/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace vk::data {

namespace {

constexpr std::size_t read_chunk = std::size_t(1) << 18;
// Deflate cannot expand data by more than about 1032:1 (zlib FAQ), which bounds what a gzip file
// of a given size can honestly claim to hold.
constexpr std::uint64_t max_deflate_ratio = 1032;
// Without a trustworthy size, gzip output grows in steps so a lying header costs little memory.
constexpr std::size_t growth_step = std::size_t(1) << 22;

// The uncompressed size modulo 2^32 from a gzip trailer (of the last member only).
std::optional<std::uint32_t> trailer_isize(const std::filesystem::path& file) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  std::array<std::uint8_t, 4> b{};
  if (!f || std::fseek(f.get(), -4, SEEK_END) != 0 || std::fread(b.data(), 1, 4, f.get()) != 4)
    return std::nullopt;
  return std::uint32_t(b[0]) | std::uint32_t(b[1]) << 8 | std::uint32_t(b[2]) << 16 | std::uint32_t(b[3]) << 24;
}

// The bytes of a file through zlib's gz* reader, which inflates gzip content (several members
// too, as `cat a.gz b.gz` makes) and passes any other content through unchanged.
class Input {
 public:
  explicit Input(const std::filesystem::path& file) : file_(file) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) fail(file, "is a directory, not a file");
    gz_.reset(gzopen(file.c_str(), "rb"));
    if (!gz_) fail(file, fmt::format("cannot open: {}", std::strerror(errno)));
    size_ = std::filesystem::file_size(file, ec);
    if (ec) fail(file, "cannot determine size: " + ec.message());
    gzbuffer(gz_.get(), read_chunk);  // must precede gzdirect, which reads
    gzip_ = !gzdirect(gz_.get());
    if (gzip_ && size_ >= 18) isize_ = trailer_isize(file);
  }

  bool gzip() const { return gzip_; }
  std::uint64_t file_size() const { return size_; }
  std::optional<std::uint32_t> gzip_isize() const { return isize_; }
  // True when the gzip input ended inside a stream, before its end marker and checksum.
  bool cut_off() const {
    int err = Z_OK;
    gzerror(gz_.get(), &err);
    return err == Z_BUF_ERROR;
  }

  // Reads up to n bytes; fewer only at the end of the data.
  std::size_t read(std::uint8_t* dst, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      int got = gzread(gz_.get(), dst + done, unsigned(std::min<std::size_t>(n - done, INT_MAX)));
      if (got < 0) fail(file_, error_text());
      if (got == 0) break;
      done += std::size_t(got);
    }
    return done;
  }

 private:
  std::string error_text() const {
    int err = Z_OK;
    std::string_view msg = gzerror(gz_.get(), &err);
    if (err == Z_ERRNO) return fmt::format("read error: {}", std::strerror(errno));
    // zlib puts the path it was opened with in front of its message.
    const std::string prefix = file_.string() + ": ";
    if (msg.starts_with(prefix)) msg.remove_prefix(prefix.size());
    return fmt::format("corrupt gzip stream: {}", msg);
  }

  std::filesystem::path file_;
  std::unique_ptr<gzFile_s, decltype(&gzclose)> gz_{nullptr, &gzclose};
  std::uint64_t size_ = 0;
  bool gzip_ = false;
  std::optional<std::uint32_t> isize_;
};

std::string hex_bytes(const std::uint8_t* b, std::size_t n) {
  std::string hex, text;
  for (std::size_t i = 0; i < n; ++i) {
    hex += fmt::format("{}{:02x}", i ? " " : "", b[i]);
    text += (b[i] >= 0x20 && b[i] < 0x7f) ? char(b[i]) : '.';
  }
  return fmt::format("{} (\"{}\")", hex, text);
}

const char* element_type_name(std::uint8_t t) {
  switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
  }
}

const char* kind_of_rank(std::size_t rank) {
  return rank == 1 ? "a labels file" : rank == 3 ? "an images file" : "an IDX array";
}

const char* payload_name(std::size_t rank) {
  return rank == 1 ? "label data" : rank == 3 ? "pixel data" : "data";
}

// "60000 images of 28x28 (47040000 bytes)" and the like, for messages about the payload size.
std::string describe(const std::vector<std::size_t>& dims, std::uint64_t total) {
  if (dims.size() == 3) return fmt::format("{} images of {}x{} ({} bytes)", dims[0], dims[1], dims[2], total);
  if (dims.size() == 1) return fmt::format("{} labels ({} bytes)", dims[0], total);
  return fmt::format("dimensions {} ({} bytes)", fmt::join(dims, "x"), total);
}

std::optional<std::uint64_t> checked_product(const std::vector<std::size_t>& dims) {
  std::uint64_t total = 1;
  for (std::size_t d : dims)
    if (__builtin_mul_overflow(total, std::uint64_t(d), &total)) return std::nullopt;
  if (total > std::uint64_t(SIZE_MAX)) return std::nullopt;
  return total;
}

}  // namespace

bool is_gzip_file(const std::filesystem::path& file) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) return false;
  std::array<unsigned char, 2> b{};
  bool gz = std::fread(b.data(), 1, 2, f) == 2 && b[0] == 0x1f && b[1] == 0x8b;
  std::fclose(f);
  return gz;
}

IdxArray read_idx(const std::filesystem::path& file, std::size_t rank) {
  Input in(file);
  if (in.file_size() == 0) fail(file, "empty file");
  // A misnamed file is the likely cause of the errors below, so say how it was read.
  std::string how;
  if (!in.gzip() && file.extension() == ".gz")
    how = "named .gz but the content is not gzip (no 1f 8b magic), so it was read raw; ";
  const char* decompressed = in.gzip() ? " (decompressed)" : "";

  std::array<std::uint8_t, 4> head{};
  std::size_t got = in.read(head.data(), 4);
  if (got == 0) fail(file, "empty file after gzip decompression");
  if ((got >= 1 && head[0] != 0) || (got >= 2 && head[1] != 0))
    fail(file, fmt::format("{}not an IDX file: it starts with {}, expected 00 00 08 {:02x}{}", how,
                           hex_bytes(head.data(), got), rank, decompressed));
  if (got < 4)
    fail(file, fmt::format("{}truncated header: {} bytes{}, an IDX header with {} dimensions needs {}",
                           how, got, decompressed, rank, 4 + 4 * rank));
  if (head[2] != 0x08)
    fail(file, fmt::format("{}element type 0x{:02x} ({}) is not supported, only unsigned byte (0x08)",
                           how, head[2], element_type_name(head[2])));
  if (head[3] != rank)
    fail(file, fmt::format("{}expected {} (an IDX header with {} dimension{}) but the header has {} "
                           "dimensions, as {} has",
                           how, kind_of_rank(rank), rank, rank == 1 ? "" : "s", head[3],
                           kind_of_rank(head[3])));

  const std::size_t header_bytes = 4 + 4 * rank;
  std::vector<std::uint8_t> raw_dims(4 * rank);
  got = in.read(raw_dims.data(), raw_dims.size());
  if (got < raw_dims.size())
    fail(file, fmt::format("{}truncated header: {} bytes{}, an IDX header with {} dimensions needs {}",
                           how, 4 + got, decompressed, rank, header_bytes));

  IdxArray out;
  for (std::size_t i = 0; i < rank; ++i) {
    const std::uint8_t* b = &raw_dims[4 * i];
    out.dims.push_back(std::size_t(b[0]) << 24 | std::size_t(b[1]) << 16 | std::size_t(b[2]) << 8 | b[3]);
  }
  if (out.dims[0] == 0)
    fail(file, fmt::format("empty data set: the header gives a count of 0 ({})", rank == 1 ? "labels" : "images"));
  if (std::find(out.dims.begin(), out.dims.end(), 0) != out.dims.end())
    fail(file, fmt::format("zero-sized elements: header dimensions {}", fmt::join(out.dims, "x")));
  std::optional<std::uint64_t> product = checked_product(out.dims);
  if (!product)
    fail(file, fmt::format("header dimensions overflow: {} elements do not fit in 64 bits",
                           fmt::join(out.dims, "x")));
  const std::uint64_t total = *product;
  auto size_error = [&](std::uint64_t have, const std::string& extra) {
    bool short_ = have < total;
    return IoError(file, fmt::format("{}: header says {} but the file has {} after the {}-byte header{}{}",
                                     short_ ? fmt::format("truncated {}", payload_name(rank)) : "trailing bytes",
                                     describe(out.dims, total), have, header_bytes, decompressed, extra));
  };

  if (!in.gzip()) {
    // Checked against the real size before allocating, so the header cannot force a big allocation.
    std::uint64_t have = in.file_size() - std::min<std::uint64_t>(in.file_size(), header_bytes);
    if (have != total) throw size_error(have, "");
    out.data.resize(total);
    got = in.read(out.data.data(), total);
    if (got != total) throw size_error(got, " (the file shrank while being read)");
    return out;
  }

  std::uint64_t bound = 0;
  if (__builtin_mul_overflow(in.file_size(), max_deflate_ratio, &bound) || total > bound)
    fail(file, fmt::format("truncated {}: header says {} but a gzip file of {} bytes cannot hold more "
                           "than about {}",
                           payload_name(rank), describe(out.dims, total), in.file_size(), bound));
  // The trailer's size (mod 2^32) confirming the header is the common case: allocate once.
  bool trusted = in.gzip_isize() == std::uint32_t(header_bytes + total);
  std::size_t have = 0;
  while (have < total) {
    std::size_t want = trusted ? total : std::min<std::size_t>(total, std::max(2 * have, growth_step));
    out.data.resize(want);
    std::size_t n = in.read(out.data.data() + have, want - have);
    have += n;
    if (have < want) break;
  }
  if (have < total) throw size_error(have, in.cut_off() ? "; the gzip stream is cut off" : "");

  std::array<std::uint8_t, 4096> scratch{};
  std::uint64_t extra = 0;
  while (std::size_t n = in.read(scratch.data(), scratch.size())) extra += n;
  if (extra > 0) throw size_error(total + extra, "");
  if (in.cut_off())
    fail(file, "truncated gzip stream: it ends after the data but before its end marker and checksum");
  return out;
}

}  // namespace vk::data
