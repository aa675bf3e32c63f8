// Run-folder files: whole files replaced atomically (a reader or a crash never sees half of one)
// and JSON-lines logs appended a line at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "io/atomic.hpp"  // vk::temp_sibling, vk::commit_temp
#include "io/error.hpp"

namespace vk::support {

// Writes to a temporary sibling and renames it onto path (no fsync: this guards against crashes
// of the program, not of the machine). The folder must exist. Throws IoError.
void write_text_atomic(const std::filesystem::path& path, std::string_view text);
// Pretty-printed with 2-space indents and a final newline.
void write_json_atomic(const std::filesystem::path& path, const nlohmann::json& value);

// A file's bytes (a picture to embed). Throws IoError naming path.
std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path);
// A JSON file, read whole. Throws IoError naming path when it cannot be read or parsed.
nlohmann::json read_json_file(const std::filesystem::path& path);
// A JSON-lines file (one document per line; blank lines skipped). Throws IoError naming path and
// the line when a line does not parse.
std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& path);

// Creates path and its parents if needed. Throws IoError if it (or a parent) is not a folder.
void ensure_run_dir(const std::filesystem::path& path);

// The lock of a run folder, dir/run.lock, taken for the rest of the process by the one that writes
// the run (vae-train), so that a second writer refuses instead of mixing its files with the
// first's; the kernel releases it when the process ends, however it ends. Throws IoError, one line
// naming dir and the holder's pid, when another process holds it.
void hold_run_lock(const std::filesystem::path& dir);
// Whether another process holds dir's run lock now (false when dir has none).
bool run_locked(const std::filesystem::path& dir);

// A log with one JSON document per line (e.g. per-epoch metrics), flushed after each line so
// that it can be followed while a run is going and survives a crash.
class JsonLines {
 public:
  // truncate: start the file afresh; otherwise append to what is there. Throws IoError.
  JsonLines(std::filesystem::path path, bool truncate);
  void append(const nlohmann::json& record);  // throws IoError
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace vk::support
