// What the three parts of the checkpoint code share (internal to io/): the names of a
// checkpoint's files, their checksums, and the manifest's writer. checkpoint.cpp saves and loads,
// checkpoint_manifest.cpp reads and verifies manifests, checkpoint_history.cpp keeps the previous
// checkpoints and finds the newest whole one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace vk::checkpoint_files {

inline constexpr const char* kFormat = "vaekit-checkpoint";
inline constexpr int kVersion = 1;
inline constexpr const char* kManifest = "manifest.json";
inline constexpr const char* kStateInfo = "training_state.json";

// A file name taken from a parameter name or a manifest must stay inside the folder.
inline bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name.front() != '.' && name.find_first_of("/\\") == std::string::npos &&
         name.find('\0') == std::string::npos;
}
inline std::string parameter_file(const std::string& name) { return name + ".npy"; }
inline std::string state_file(const std::string& name) { return "state." + name + ".npy"; }

// "a/b/" names the folder "a/b"; without this its filename would be empty.
inline std::filesystem::path without_trailing_separator(const std::filesystem::path& dir) {
  return dir.has_filename() ? dir : dir.parent_path();
}

// zlib's crc32 of bytes, as the manifest writes it: 8 lowercase hex digits.
std::string crc32_hex(std::string_view bytes);

// Writes bytes to path (truncating it) and returns the manifest's entry fields for them:
// {"bytes": size, "crc32": crc32_hex(bytes)}. Throws IoError naming path.
nlohmann::json write_file_with_sum(const std::filesystem::path& path, std::string_view bytes);

// Writes manifest (without "manifest_crc32") to path, pretty-printed, with "manifest_crc32" the
// crc32 of the file's bytes when that field holds "00000000". Throws IoError naming path.
void write_manifest(const std::filesystem::path& path, nlohmann::json manifest);

// Puts the complete checkpoint tmp in place of target, keeping the previous `keep - 1` whole ones as
// target.1 (the newest before), target.2, ... (see save_checkpoint). Throws IoError.
void commit_checkpoint(const std::filesystem::path& tmp, const std::filesystem::path& target, std::size_t keep);

}  // namespace vk::checkpoint_files
