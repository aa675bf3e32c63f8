// A checkpoint's manifest: written with its own checksum, read and validated, and every file it
// lists verified against its size and crc32.
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/checkpoint.hpp"
#include "io/checkpoint_files.hpp"

namespace vk {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace checkpoint_files;

namespace {

// Copying, comparing and printing JSON recurse once per level of nesting, so a manifest nested a
// million levels deep would overflow the stack of whatever reads it next. Ours nest four.
constexpr int kMaxDepth = 64;

// The manifest's own checksum is a top-level key: in the pretty-printed text, the one line that
// starts with two spaces and this key (nested keys are indented further; a newline inside a
// string is escaped).
constexpr std::string_view kOwnSumKey = "\n  \"manifest_crc32\": \"";
constexpr std::string_view kZeros = "00000000";

std::string read_whole(const fs::path& file, const std::string& what) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, "cannot open: " + std::string(std::strerror(errno)) + what);
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) fail(file, "read failed" + what);
  return bytes;
}

// Whether an entry carries the checksum fields our writer puts on every file it lists.
bool has_sum(const json& entry) { return entry.is_object() && entry.contains("crc32"); }

bool lists_sums(const json& manifest) {
  for (const json& p : manifest.value("parameters", json::array()))
    if (has_sum(p)) return true;
  return has_sum(manifest.value("training_state", json()));
}

// The manifest's own checksum, when it has one: the crc32 of its bytes with the value read as
// "00000000". A manifest without one is an older build's, unless it lists file checksums.
void check_own_sum(const fs::path& path, const std::string& text, const json& manifest) {
  if (!manifest.contains("manifest_crc32")) {
    if (lists_sums(manifest)) fail(path, "damaged: it lists checksums of its files but has no \"manifest_crc32\" of its own");
    return;
  }
  const json& said = manifest["manifest_crc32"];
  const std::size_t at = text.find(kOwnSumKey);
  const std::size_t value = at + kOwnSumKey.size();
  if (!said.is_string() || said.get<std::string>().size() != kZeros.size() || at == std::string::npos ||
      text.compare(value, kZeros.size(), said.get<std::string>()) != 0 ||
      text.find(kOwnSumKey, value) != std::string::npos)
    fail(path, "damaged: its \"manifest_crc32\" is not where this build writes it (rewritten by another program?)");
  std::string zeroed = text;
  zeroed.replace(value, kZeros.size(), kZeros);
  const std::string found = crc32_hex(zeroed);
  if (found != said.get<std::string>())
    fail(path, "damaged: its bytes give crc32 " + found + " but it says " + said.get<std::string>());
}

// One listed file of a checkpoint: "" when it matches its entry's size and crc32 (or the entry has
// none), otherwise one line naming the file and what differs.
std::string mismatch(const fs::path& dir, const json& entry, const std::string& what) {
  const json& file = entry.value("file", json());
  const json& bytes = entry.value("bytes", json());
  const json& crc = entry["crc32"];
  if (!file.is_string() || !is_plain_file_name(file.get<std::string>()) || !bytes.is_number_unsigned() ||
      !crc.is_string() || crc.get<std::string>().size() != kZeros.size())
    fail(dir / kManifest, "invalid checkpoint manifest: " + what + " has no plain \"file\", \"bytes\" and \"crc32\"");
  const fs::path path = dir / file.get<std::string>();
  const std::string content = read_whole(path, " (" + what + ")");
  const std::size_t expected = bytes.get<std::size_t>();
  std::string line = path.string() + ": ";
  if (content.size() != expected)
    line += (content.size() < expected ? "truncated: " : "damaged: ") + std::to_string(content.size()) +
            " bytes but the manifest says " + std::to_string(expected);
  else if (const std::string found = crc32_hex(content); found != crc.get<std::string>())
    line += "damaged: crc32 " + found + " but the manifest says " + crc.get<std::string>();
  else
    return "";
  return line + " (" + what + "; a changed byte, or a file from another checkpoint)";
}

}  // namespace

namespace checkpoint_files {

std::string crc32_hex(std::string_view bytes) {
  const unsigned long crc = ::crc32_z(::crc32_z(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size());
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08lx", crc & 0xFFFFFFFFul);
  return hex;
}

json write_file_with_sum(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail(path, "cannot open for writing: " + std::string(std::strerror(errno)));
  out.write(bytes.data(), std::streamsize(bytes.size()));
  out.close();
  if (!out) fail(path, "write failed: " + std::string(std::strerror(errno)));
  return {{"bytes", bytes.size()}, {"crc32", crc32_hex(bytes)}};
}

void write_manifest(const fs::path& path, json manifest) {
  manifest["manifest_crc32"] = kZeros;
  // Replacing invalid UTF-8 in free-form metadata beats losing the whole checkpoint over it.
  std::string text = manifest.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  const std::size_t at = text.find(kOwnSumKey);
  if (at == std::string::npos) fail(path, "cannot place the manifest's checksum");  // not reached: dump(2) puts it there
  text.replace(at + kOwnSumKey.size(), kZeros.size(), crc32_hex(text));
  write_file_with_sum(path, text);
}

}  // namespace checkpoint_files

json read_checkpoint_manifest(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail(dir, "no such checkpoint folder");
  const fs::path path = dir / kManifest;
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(dir, "not a checkpoint (cannot open manifest.json)");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  json manifest;
  try {
    manifest = json::parse(text, [&](int depth, json::parse_event_t, json&) {
      if (depth > kMaxDepth)
        fail(path, "invalid checkpoint manifest: nested more than " + std::to_string(kMaxDepth) + " levels deep");
      return true;
    });
  } catch (const json::exception& e) {
    fail(path, std::string("malformed JSON: ") + e.what());
  }
  auto bad = [&](const std::string& what) { fail(path, "invalid checkpoint manifest: " + what); };

  if (!manifest.is_object()) bad("not a JSON object");
  check_own_sum(path, text, manifest);
  if (manifest.value("format", json()) != kFormat)
    bad(std::string("\"format\" is not \"") + kFormat + "\"");
  const json version = manifest.value("version", json());
  if (!version.is_number_integer()) bad("\"version\" is missing");
  if (version.get<long long>() != kVersion)
    bad("unsupported version " + version.dump() + " (this build reads version 1)");
  if (!manifest.contains("parameters") || !manifest["parameters"].is_array())
    bad("\"parameters\" is not an array");

  std::unordered_map<std::string, bool> seen;
  std::size_t index = 0;
  for (const json& p : manifest["parameters"]) {
    const std::string where = "parameters[" + std::to_string(index++) + "]";
    if (!p.is_object()) bad(where + " is not an object");
    if (!p.contains("name") || !p["name"].is_string() || p["name"].get<std::string>().empty())
      bad(where + " has no \"name\"");
    const std::string name = p["name"];
    const std::string what = "parameter '" + name + "'";
    if (seen[name]) bad(what + " is listed twice");
    seen[name] = true;
    if (!p.contains("file") || !p["file"].is_string() ||
        !is_plain_file_name(p["file"].get<std::string>()))
      bad(what + " has no plain \"file\" name");
    const json& shape = p.value("shape", json());
    if (!shape.is_array() || shape.size() != 2 || !shape[0].is_number_unsigned() ||
        !shape[1].is_number_unsigned())
      bad(what + " has no \"shape\" [rows, cols]");
    if (p.value("dtype", json()) != "float32") bad(what + " has a \"dtype\" other than float32");
  }
  if (!manifest.contains("metadata")) manifest["metadata"] = nullptr;
  return manifest;
}

json verify_checkpoint(const fs::path& dir) {
  json manifest = read_checkpoint_manifest(dir);
  std::vector<std::string> wrong, files;  // a line and a file name per file that does not match
  std::size_t listed = 0;
  auto check = [&](const json& entry, const std::string& what) {
    if (!has_sum(entry)) return;  // an older build's manifest
    ++listed;
    if (std::string line = mismatch(dir, entry, what); !line.empty()) {
      wrong.push_back(std::move(line));
      files.push_back(entry["file"].get<std::string>());
    }
  };
  for (const json& p : manifest["parameters"]) check(p, "parameter '" + p["name"].get<std::string>() + "'");
  if (const json& state = manifest.value("training_state", json()); state.is_object()) {
    check(state, "training state");
    for (const json& a : state.value("arrays", json::array()))
      check(a, "training state array '" + (a.is_object() ? a.value("name", std::string()) : std::string()) + "'");
  }
  if (wrong.size() == 1) throw IoError(wrong.front());
  if (wrong.size() > 1) {
    std::string names;
    for (const std::string& file : files) names += (names.empty() ? "" : ", ") + file;
    fail(dir / kManifest, std::to_string(wrong.size()) + " of the " + std::to_string(listed) +
                              " files it lists do not match their checksums (" + names +
                              "): they, or the manifest, come from another checkpoint or are damaged");
  }
  return manifest;
}

}  // namespace vk
