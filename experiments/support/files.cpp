#include "experiments/support/files.hpp"

#include <cerrno>
#include <cstring>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "io/json_read.hpp"
#include "io/run_lock.hpp"

namespace vk::support {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

void write_text_atomic(const fs::path& path, std::string_view text) {
  const fs::path tmp = temp_sibling(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(path, "cannot open for writing: " + errno_text());
    out.write(text.data(), std::streamsize(text.size()));
    out.close();
    if (!out) {
      const std::string why = errno_text();  // before remove() may change errno
      std::error_code ignored;
      fs::remove(tmp, ignored);
      fail(path, "write failed: " + why + " (the previous file, if any, is unchanged)");
    }
  }
  commit_temp(tmp, path);
}

void write_json_atomic(const fs::path& path, const nlohmann::json& value) {
  // Invalid UTF-8 in a string (say, a file name) is replaced rather than losing the file.
  write_text_atomic(path, value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

std::vector<std::uint8_t> read_file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: " + errno_text());
  std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) fail(path, "read failed");
  return bytes;
}

json read_json_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: " + errno_text());
  return parse_json(in, path.string());
}

std::vector<json> read_json_lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: " + errno_text());
  std::vector<json> lines;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    lines.push_back(parse_json(line, path.string() + ":" + std::to_string(number)));
  }
  return lines;
}

void ensure_run_dir(const fs::path& path) {
  std::error_code ec;
  if (fs::exists(path, ec) && !fs::is_directory(path, ec))
    fail(path, "exists and is not a folder");
  fs::create_directories(path, ec);
  if (ec) fail(path, "cannot create folder: " + ec.message());
}

namespace {

const char* const kRunLock = "run.lock";

}  // namespace

void hold_run_lock(const fs::path& dir) {
  static std::vector<FileLock> held;  // until the process ends
  std::optional<FileLock> lock = FileLock::try_lock(dir / kRunLock);
  if (!lock) {
    const long pid = FileLock::holder(dir / kRunLock);
    fail(dir, "another process" + (pid ? " (pid " + std::to_string(pid) + ")" : std::string()) +
                  " is writing this run; refusing to write it too (a process that ended, even by kill -9, "
                  "holds no lock)");
  }
  held.push_back(std::move(*lock));
}

bool run_locked(const fs::path& dir) { return FileLock::held_elsewhere(dir / kRunLock); }

JsonLines::JsonLines(fs::path path, bool truncate) : path_(std::move(path)) {
  out_.open(path_, truncate ? std::ios::trunc : std::ios::app);
  if (!out_) fail(path_, "cannot open for writing: " + errno_text());
}

void JsonLines::append(const nlohmann::json& record) {
  std::error_code ec;
  const auto whole = fs::file_size(path_, ec);  // the file up to its last whole line
  // dump() without indent never emits a newline, so one record is one line.
  out_ << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out_.flush();
  if (!out_) {
    const std::string why = errno_text();
    out_.close();
    if (!ec) fs::resize_file(path_, whole, ec);  // no half line left behind
    fail(path_, "write failed: " + why);
  }
}

}  // namespace vk::support
