#include "io/checkpoint.hpp"

#include <array>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "io/atomic.hpp"
#include "io/npy.hpp"

namespace vk {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "vaekit-checkpoint";
constexpr int kVersion = 1;
constexpr const char* kManifest = "manifest.json";
// Copying, comparing and printing JSON recurse once per level of nesting, so a manifest nested a
// million levels deep would overflow the stack of whatever reads it next. Ours nest four.
constexpr int kMaxDepth = 64;

std::string shape_text(std::size_t rows, std::size_t cols) {
  // Appending, not "[" + to_string(...): GCC 12 warns falsely (-Wrestrict) on the latter.
  std::string s = "[";
  s += std::to_string(rows);
  s += ", ";
  s += std::to_string(cols);
  s += "]";
  return s;
}

// "a/b/" names the folder "a/b"; without this its filename would be empty.
fs::path without_trailing_separator(const fs::path& dir) {
  return dir.has_filename() ? dir : dir.parent_path();
}

// A file name taken from a parameter name or a manifest must stay inside the folder.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name.front() != '.' &&
         name.find_first_of("/\\") == std::string::npos && name.find('\0') == std::string::npos;
}

std::string parameter_file(const std::string& name) { return name + ".npy"; }

// Refuses to delete something that is not a checkpoint (e.g. a run folder given by mistake).
void check_replaceable(const fs::path& target) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(target))) return;
  if (!fs::is_directory(fs::symlink_status(target)))
    fail(target, "exists and is not a folder; refusing to replace it with a checkpoint");
  if (!fs::exists(target / kManifest) && !fs::is_empty(target, ec))
    fail(target, "exists and is not a checkpoint (no manifest.json); refusing to replace it");
}

void write_manifest(const fs::path& path, const json& manifest) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) fail(path, "cannot open for writing");
  // Replacing invalid UTF-8 in free-form metadata beats losing the whole checkpoint over it.
  out << manifest.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
  out.close();
  if (!out) fail(path, "write failed (disk full?)");
}

std::string state_file(const std::string& name) { return "state." + name + ".npy"; }
constexpr const char* kStateInfo = "training_state.json";

json write_training_state(const fs::path& tmp, const TrainingState& state) {
  json arrays = json::array();
  for (const auto& [name, values] : state.arrays) {
    if (!is_plain_file_name(name)) fail(tmp, "state array name '" + name + "' cannot be used as a file name");
    const std::array<std::size_t, 2> shape{1, values.size()};
    write_npy(tmp / state_file(name), values.data(), shape);
    arrays.push_back({{"name", name}, {"file", state_file(name)}, {"shape", json::array({1, values.size()})},
                      {"dtype", "float32"}});
  }
  std::ofstream out(tmp / kStateInfo, std::ios::trunc);
  out << state.info.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  out.close();
  if (!out) fail(tmp / kStateInfo, "write failed (disk full?)");
  return {{"file", kStateInfo}, {"arrays", std::move(arrays)}};
}

}  // namespace

template <class T>
void save_checkpoint(const fs::path& dir, const ParameterStore<T>& store, const json& metadata,
                     const TrainingState* state) {
  const fs::path target = without_trailing_separator(dir);
  if (target.empty()) throw IoError("save_checkpoint: empty checkpoint path");
  for (const auto& e : store.entries())
    if (!is_plain_file_name(e.name))
      fail(target, "parameter name '" + e.name + "' cannot be used as a file name");

  std::error_code ec;
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) fail(target.parent_path(), "cannot create folder: " + ec.message());
  }
  check_replaceable(target);
  const fs::path tmp = temp_sibling(target);
  fs::create_directory(tmp, ec);
  if (ec) fail(tmp, "cannot create folder: " + ec.message());

  try {
    json parameters = json::array();
    std::vector<float> converted;
    for (const auto& e : store.entries()) {
      const T* values = store.values().data() + e.offset;
      const float* data;
      if constexpr (std::is_same_v<T, float>) {
        data = values;
      } else {
        converted.assign(values, values + e.size());
        data = converted.data();
      }
      const std::array<std::size_t, 2> shape{e.rows, e.cols};
      write_npy(tmp / parameter_file(e.name), data, shape);
      parameters.push_back({{"name", e.name},
                            {"file", parameter_file(e.name)},
                            {"shape", json::array({e.rows, e.cols})},
                            {"dtype", "float32"}});
    }
    json manifest = {{"format", kFormat},
                     {"version", kVersion},
                     {"parameters", std::move(parameters)},
                     {"metadata", metadata}};
    if (state) manifest["training_state"] = write_training_state(tmp, *state);
    write_manifest(tmp / kManifest, manifest);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  commit_temp(tmp, target);
}

json read_checkpoint_manifest(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail(dir, "no such checkpoint folder");
  const fs::path path = dir / kManifest;
  std::ifstream in(path);
  if (!in) fail(dir, "not a checkpoint (cannot open manifest.json)");
  std::stringstream text;
  text << in.rdbuf();

  json manifest;
  try {
    manifest = json::parse(text.str(), [&](int depth, json::parse_event_t, json&) {
      if (depth > kMaxDepth)
        fail(path, "invalid checkpoint manifest: nested more than " + std::to_string(kMaxDepth) + " levels deep");
      return true;
    });
  } catch (const json::exception& e) {
    fail(path, std::string("malformed JSON: ") + e.what());
  }
  auto bad = [&](const std::string& what) { fail(path, "invalid checkpoint manifest: " + what); };

  if (!manifest.is_object()) bad("not a JSON object");
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

template <class T>
json load_checkpoint(const fs::path& dir, ParameterStore<T>& store) {
  json manifest = read_checkpoint_manifest(dir);
  std::unordered_map<std::string, const json*> by_name;
  for (const json& p : manifest["parameters"]) by_name[p["name"].get<std::string>()] = &p;

  // Everything is read before anything is written, so a failure leaves store as it was.
  std::vector<std::vector<float>> staged;
  staged.reserve(store.count());
  for (const auto& e : store.entries()) {
    const std::string what = "parameter '" + e.name + "'";
    auto it = by_name.find(e.name);
    if (it == by_name.end())
      fail(dir, "checkpoint has no " + what + " (it holds " + std::to_string(by_name.size()) +
                    " parameters; was it saved from another architecture?)");
    const json& p = *it->second;
    const std::size_t rows = p["shape"][0], cols = p["shape"][1];
    if (rows != e.rows || cols != e.cols)
      fail(dir, what + " has shape " + shape_text(rows, cols) + " in the checkpoint but " +
                    shape_text(e.rows, e.cols) + " in the model");

    const fs::path file = dir / p["file"].get<std::string>();
    NpyArray array;
    try {
      array = read_npy(file);
    } catch (const IoError& err) {
      throw IoError(std::string(err.what()) + " (" + what + ")");
    }
    if (array.shape != std::vector<std::size_t>{rows, cols}) {
      std::string found;
      for (std::size_t d : array.shape) found += (found.empty() ? "" : ", ") + std::to_string(d);
      fail(file, "holds shape [" + found + "] but the manifest says " + shape_text(rows, cols) +
                     " (" + what + ")");
    }
    staged.push_back(std::move(array.data));
  }

  for (std::size_t i = 0; i < staged.size(); ++i) {
    T* values = store.value_data(ParamId{std::uint32_t(i)});
    for (std::size_t k = 0; k < staged[i].size(); ++k) values[k] = static_cast<T>(staged[i][k]);
  }
  return manifest["metadata"];
}

TrainingState load_training_state(const fs::path& dir) {
  const json manifest = read_checkpoint_manifest(dir);
  const fs::path path = dir / kManifest;
  const json& entry = manifest.value("training_state", json());
  if (!entry.is_object())
    fail(dir, "the checkpoint holds no training state (saved by a program that does not continue runs)");
  if (entry.value("file", json()) != kStateInfo || !entry.contains("arrays") || !entry["arrays"].is_array())
    fail(path, "invalid checkpoint manifest: \"training_state\" is not {\"file\", \"arrays\"}");
  TrainingState state;
  std::ifstream in(dir / kStateInfo);
  if (!in) fail(dir / kStateInfo, "cannot open");
  try {
    state.info = json::parse(in);
  } catch (const json::exception& e) {
    fail(dir / kStateInfo, std::string("malformed JSON: ") + e.what());
  }
  for (const json& a : entry["arrays"]) {
    if (!a.is_object() || !a.value("name", json()).is_string() || !a.value("file", json()).is_string() ||
        a["file"] != state_file(a["name"].get<std::string>()) || !is_plain_file_name(a["file"].get<std::string>()))
      fail(path, "invalid checkpoint manifest: a training state array has no plain name and file");
    const fs::path file = dir / a["file"].get<std::string>();
    NpyArray array = read_npy(file);
    if (array.shape.size() != 2 || array.shape[0] != 1) fail(file, "is not a [1, n] array");
    state.arrays.emplace_back(a["name"].get<std::string>(), std::move(array.data));
  }
  return state;
}

namespace {

// Siblings that an interrupted save leaves: dir.tmp-* (the new one) and dir.old-* (the previous).
std::vector<fs::path> save_leftovers(const fs::path& target) {
  std::vector<fs::path> found;
  std::error_code ec;
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string name = target.filename().string();
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string other = e.path().filename().string();
    if (other.rfind(name + ".tmp-", 0) == 0 || other.rfind(name + ".old-", 0) == 0) found.push_back(e.path());
  }
  return found;
}

bool is_whole(const fs::path& dir) {
  try {
    read_checkpoint_manifest(dir);
    return true;
  } catch (const IoError&) {
    return false;
  }
}

}  // namespace

fs::path find_checkpoint(const fs::path& dir) {
  const fs::path target = without_trailing_separator(dir);
  if (fs::exists(target / kManifest)) return target;
  fs::path best;
  fs::file_time_type newest{};
  std::error_code ec;
  for (const fs::path& p : save_leftovers(target)) {
    if (!is_whole(p)) continue;
    const auto t = fs::last_write_time(p / kManifest, ec);
    if (!ec && (best.empty() || t > newest)) {
      best = p;
      newest = t;
    }
  }
  if (best.empty()) fail(target, "no checkpoint (no manifest.json here or in a sibling an interrupted save left)");
  return best;
}

void recover_checkpoint(const fs::path& dir) {
  const fs::path target = without_trailing_separator(dir);
  const fs::path found = find_checkpoint(target);
  if (found != target) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(target)) && fs::is_empty(target, ec)) fs::remove(target, ec);
    fs::rename(found, target, ec);
    if (ec) fail(target, "cannot put the checkpoint " + found.filename().string() + " in place: " + ec.message());
  }
  std::error_code ignored;
  for (const fs::path& p : save_leftovers(target)) fs::remove_all(p, ignored);
}

template void save_checkpoint<float>(const fs::path&, const ParameterStore<float>&, const json&, const TrainingState*);
template void save_checkpoint<double>(const fs::path&, const ParameterStore<double>&, const json&, const TrainingState*);
template json load_checkpoint<float>(const fs::path&, ParameterStore<float>&);
template json load_checkpoint<double>(const fs::path&, ParameterStore<double>&);

}  // namespace vk
