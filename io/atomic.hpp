// Replacing a file or folder so that a reader, or a crash, never sees half of it: write a
// temporary sibling, then rename it into place.
#pragma once

#include <filesystem>
#include <string_view>

namespace vk {

// A fresh name next to path ("<name>.<tag>-<pid>-<random>"): on the same file system, so renaming
// it onto path is atomic, and unlike any other process's or an earlier interrupted run's.
std::filesystem::path temp_sibling(const std::filesystem::path& path, std::string_view tag = "tmp");

// Puts the complete file or folder tmp in place of path. A file is replaced by one rename. A
// folder cannot be renamed over a non-empty one, so an existing folder is moved aside first and
// removed last (only when tmp is a folder too): a failure at any point leaves the old or the new one at path (at worst both, the
// other as a sibling path.old-* or path.tmp-*). On failure removes tmp and throws IoError naming
// path. No fsync: this guards against crashes of the program, not of the machine.
void commit_temp(const std::filesystem::path& tmp, const std::filesystem::path& path);

}  // namespace vk
