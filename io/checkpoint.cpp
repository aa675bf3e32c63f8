// Saving and loading checkpoints; their manifests are read and verified in checkpoint_manifest.cpp,
// the previous checkpoints kept and the newest whole one found in checkpoint_history.cpp.
#include "io/checkpoint.hpp"

#include <array>
#include <fstream>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "io/atomic.hpp"
#include "io/checkpoint_files.hpp"
#include "io/json_read.hpp"
#include "io/npy.hpp"

namespace vk {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace checkpoint_files;

namespace {

std::string shape_text(std::size_t rows, std::size_t cols) {
  // Appending, not "[" + to_string(...): GCC 12 warns falsely (-Wrestrict) on the latter.
  std::string s = "[";
  s += std::to_string(rows);
  s += ", ";
  s += std::to_string(cols);
  s += "]";
  return s;
}

// Refuses to delete something that is not a checkpoint (e.g. a run folder given by mistake).
void check_replaceable(const fs::path& target) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(target))) return;
  if (!fs::is_directory(fs::symlink_status(target)))
    fail(target, "exists and is not a folder; refusing to replace it with a checkpoint");
  if (!fs::exists(target / kManifest) && !fs::is_empty(target, ec))
    fail(target, "exists and is not a checkpoint (no manifest.json); refusing to replace it");
}

// A float32 [rows, cols] array as an .npy file of the folder, and its manifest entry.
json write_array(const fs::path& folder, const std::string& name, const std::string& file, const float* data,
                 std::size_t rows, std::size_t cols) {
  const std::array<std::size_t, 2> shape{rows, cols};
  json entry = {{"name", name}, {"file", file}, {"shape", json::array({rows, cols})}, {"dtype", "float32"}};
  entry.update(write_file_with_sum(folder / file, npy_bytes(folder / file, data, shape)));
  return entry;
}

json write_training_state(const fs::path& tmp, const TrainingState& state) {
  json arrays = json::array();
  for (const auto& [name, values] : state.arrays) {
    if (!is_plain_file_name(name)) fail(tmp, "state array name '" + name + "' cannot be used as a file name");
    arrays.push_back(write_array(tmp, name, state_file(name), values.data(), 1, values.size()));
  }
  json entry = {{"file", kStateInfo}, {"arrays", std::move(arrays)}};
  entry.update(write_file_with_sum(tmp / kStateInfo,
                                   state.info.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"));
  return entry;
}

}  // namespace

template <class T>
void save_checkpoint(const fs::path& dir, const ParameterStore<T>& store, const json& metadata,
                     const TrainingState* state, std::size_t keep) {
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
      parameters.push_back(write_array(tmp, e.name, parameter_file(e.name), data, e.rows, e.cols));
    }
    json manifest = {{"format", kFormat},
                     {"version", kVersion},
                     {"parameters", std::move(parameters)},
                     {"metadata", metadata}};
    if (state) manifest["training_state"] = write_training_state(tmp, *state);
    write_manifest(tmp / kManifest, std::move(manifest));
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  commit_checkpoint(tmp, target, keep);
}

template <class T>
json load_checkpoint(const fs::path& dir, ParameterStore<T>& store) {
  json manifest = verify_checkpoint(dir);
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
  const json manifest = verify_checkpoint(dir);
  const fs::path path = dir / kManifest;
  const json& entry = manifest.value("training_state", json());
  if (!entry.is_object())
    fail(dir, "the checkpoint holds no training state (saved by a program that does not continue runs)");
  if (entry.value("file", json()) != kStateInfo || !entry.contains("arrays") || !entry["arrays"].is_array())
    fail(path, "invalid checkpoint manifest: \"training_state\" is not {\"file\", \"arrays\"}");
  TrainingState state;
  std::ifstream in(dir / kStateInfo);
  if (!in) fail(dir / kStateInfo, "cannot open");
  state.info = parse_json(in, (dir / kStateInfo).string());
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

template void save_checkpoint<float>(const fs::path&, const ParameterStore<float>&, const json&, const TrainingState*,
                                     std::size_t);
template void save_checkpoint<double>(const fs::path&, const ParameterStore<double>&, const json&, const TrainingState*,
                                      std::size_t);
template json load_checkpoint<float>(const fs::path&, ParameterStore<float>&);
template json load_checkpoint<double>(const fs::path&, ParameterStore<double>&);

}  // namespace vk
