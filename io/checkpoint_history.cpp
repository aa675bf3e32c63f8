// A checkpoint's history beside it: the previous checkpoints a save keeps (dir.1, dir.2, ...), what
// an interrupted save leaves (dir.tmp-*, dir.old-*), and finding the newest whole one among them.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "io/atomic.hpp"
#include "io/checkpoint.hpp"
#include "io/checkpoint_files.hpp"

namespace vk {

namespace fs = std::filesystem;
using namespace checkpoint_files;

namespace {

fs::path parent_of(const fs::path& target) { return target.has_parent_path() ? target.parent_path() : fs::path("."); }

fs::path numbered(const fs::path& target, std::size_t n) {
  fs::path p = target;
  p += ".";  // two appends, not "." + to_string(n): GCC 12 warns falsely (-Wrestrict) on the latter
  p += std::to_string(n);
  return p;
}

// dir.1, dir.2, ...: the previous checkpoints a save keeps, by number.
std::map<std::size_t, fs::path> previous_checkpoints(const fs::path& target) {
  std::map<std::size_t, fs::path> found;
  std::error_code ec;
  const std::string prefix = target.filename().string() + ".";
  for (const auto& e : fs::directory_iterator(parent_of(target), ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() <= prefix.size() || name.size() > prefix.size() + 6 || name.rfind(prefix, 0) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.front() != '0' && std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      found[std::stoul(digits)] = e.path();
  }
  return found;
}

// Siblings that an interrupted save leaves, dir.<kind>-*: "tmp" (a new checkpoint) or "old" (a
// previous one moved aside to be removed), the newest manifest first.
std::vector<fs::path> save_leftovers(const fs::path& target, const std::string& kind) {
  std::vector<std::pair<fs::file_time_type, fs::path>> found;
  std::error_code ec;
  const std::string prefix = target.filename().string() + "." + kind + "-";
  for (const auto& e : fs::directory_iterator(parent_of(target), ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) {
      std::error_code no_time;
      const auto t = fs::last_write_time(e.path() / kManifest, no_time);
      found.emplace_back(no_time ? fs::file_time_type::min() : t, e.path());
    }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<fs::path> paths;
  for (auto& [t, p] : found) paths.push_back(std::move(p));
  return paths;
}

// "" when dir is a whole checkpoint, otherwise one line saying what is wrong with it.
std::string what_is_wrong(const fs::path& dir) {
  try {
    verify_checkpoint(dir);
    return "";
  } catch (const IoError& e) {
    return e.what();
  }
}

// Whether a killed save or a damaged checkpoint left something at target (an empty folder is nothing).
bool something_at(const fs::path& target) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(target, ec))) return false;
  return !fs::is_directory(fs::symlink_status(target, ec)) || !fs::is_empty(target, ec);
}

}  // namespace

namespace checkpoint_files {

void commit_checkpoint(const fs::path& tmp, const fs::path& target, std::size_t keep) {
  std::error_code ec, ignored;
  auto give_up = [&](const fs::path& where, const std::string& what) {
    fs::remove_all(tmp, ignored);
    fail(where, what + ec.message());
  };
  // Oldest first out of the way: renamed aside before it is removed, so a kill never leaves a
  // half-removed dir.N that looks like a checkpoint; then the rest move up one number.
  const auto previous = previous_checkpoints(target);
  for (auto it = previous.rbegin(); it != previous.rend(); ++it) {
    const auto& [n, path] = *it;
    if (n + 1 >= keep) {
      const fs::path old = temp_sibling(target, "old");
      fs::rename(path, old, ec);
      if (ec) give_up(path, "cannot remove an old checkpoint: ");
      fs::remove_all(old, ignored);
    } else {
      fs::rename(path, numbered(target, n + 1), ec);
      if (ec) give_up(path, "cannot rename it to " + numbered(target, n + 1).filename().string() + ": ");
    }
  }
  if (keep <= 1 || !fs::exists(fs::symlink_status(target, ignored))) return commit_temp(tmp, target);
  const fs::path first = numbered(target, 1);
  fs::rename(target, first, ec);
  if (ec) give_up(target, "cannot keep the previous checkpoint as " + first.filename().string() + ": ");
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::rename(first, target, ignored);
    give_up(target, "cannot replace: ");
  }
}

}  // namespace checkpoint_files

fs::path find_checkpoint(const fs::path& dir, std::string* why) {
  const fs::path target = without_trailing_separator(dir);
  if (why) why->clear();
  const bool present = something_at(target);
  const std::string wrong = present ? what_is_wrong(target) : "";
  if (present && wrong.empty()) return target;
  // A save killed between its renames left the newest as dir.tmp-*; then the kept ones in order;
  // dir.old-* is what older builds (or a save with keep = 1) moved aside.
  std::vector<fs::path> candidates = save_leftovers(target, "tmp");
  for (const auto& [n, path] : previous_checkpoints(target)) candidates.push_back(path);
  for (fs::path& p : save_leftovers(target, "old")) candidates.push_back(std::move(p));
  for (const fs::path& p : candidates)
    if (what_is_wrong(p).empty()) {
      if (why) *why = wrong;
      return p;
    }
  if (present) throw IoError(wrong + "; and no whole checkpoint is kept beside it");
  fail(target, "no checkpoint (no manifest.json here or in a sibling an interrupted save left)");
}

std::string recover_checkpoint(const fs::path& dir) {
  const fs::path target = without_trailing_separator(dir);
  std::string why, note;
  const fs::path found = find_checkpoint(target, &why);
  std::error_code ec;
  if (found != target) {
    if (something_at(target)) {  // damaged: kept to look at, never loaded again
      const fs::path aside = temp_sibling(target, "damaged");
      fs::rename(target, aside, ec);
      if (ec) fail(target, "cannot move the damaged checkpoint aside: " + ec.message());
      note = why + "; falling back to " + found.string() + ", the newest whole checkpoint beside it (the damaged one is kept as " +
             aside.filename().string() + ")";
    } else {
      fs::remove(target, ec);  // an empty folder, if any
    }
    fs::rename(found, target, ec);
    if (ec) fail(target, "cannot put the checkpoint " + found.filename().string() + " in place: " + ec.message());
  }
  std::error_code ignored;
  for (const char* kind : {"tmp", "old"})
    for (const fs::path& p : save_leftovers(target, kind)) fs::remove_all(p, ignored);
  return note;
}

}  // namespace vk
