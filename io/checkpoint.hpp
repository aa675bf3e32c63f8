// Checkpoints: a folder holding one float32 .npy per parameter (named after it, e.g.
// "encoder.0.weight.npy") and a manifest.json, so weights can be read with numpy alone:
//   {"format": "vaekit-checkpoint", "version": 1,
//    "parameters": [{"name": ..., "file": ..., "shape": [rows, cols], "dtype": "float32"}, ...],
//    "metadata": <free-form, e.g. the architecture>,
//    "training_state": {"file": "training_state.json", "arrays": [<entries as parameters'>]}}
// The last is optional: what a training run needs to continue exactly (see TrainingState).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "autodiff/params.hpp"
#include "io/error.hpp"

namespace vk {

// Writes every parameter of store (as float32) and the manifest into a temporary sibling folder,
// then renames it to dir. An existing dir is moved aside and removed only once the new folder is
// in place, so an interrupted save leaves either the old or the new checkpoint (at worst both, as
// siblings named dir.old-* / dir.tmp-*), never a half-written one. Parent folders are created.
// Parameter names must be usable as file names (no '/', '\\', not starting with '.').
// Throws IoError.
// The state beside the parameters that continuing a training run needs: float32 arrays (an
// optimizer's moments), each written as "state.<name>.npy" of shape [1, n], and free-form JSON
// (generators, counters, the metrics so far) written as training_state.json.
struct TrainingState {
  nlohmann::json info;
  std::vector<std::pair<std::string, std::vector<float>>> arrays;
};

// With state, its files are written before the manifest, so a checkpoint with a manifest is whole.
template <class T>
void save_checkpoint(const std::filesystem::path& dir, const ParameterStore<T>& store,
                     const nlohmann::json& metadata, const TrainingState* state = nullptr);

// The training state of a checkpoint; throws IoError when it has none or a file is damaged.
TrainingState load_training_state(const std::filesystem::path& dir);

// The latest whole checkpoint of dir: dir itself, or, when a save was killed between moving the
// previous one aside and renaming the new one into place, the newest sibling dir.tmp-* / dir.old-*
// with a valid manifest. Throws IoError naming dir when there is none.
std::filesystem::path find_checkpoint(const std::filesystem::path& dir);
// Puts find_checkpoint(dir) in place at dir and removes the siblings that killed saves left.
void recover_checkpoint(const std::filesystem::path& dir);

// Reads and validates dir/manifest.json (format, version, parameter entries with plain file
// names, 2-D shapes, dtype float32, unique names). Returns the whole manifest; "metadata" is null
// when absent. Throws IoError.
nlohmann::json read_checkpoint_manifest(const std::filesystem::path& dir);

// Fills the value of every parameter registered in store from the checkpoint and returns its
// metadata. Parameters of the checkpoint that store lacks are ignored (e.g. loading only a
// decoder). Throws IoError naming the folder or file and the parameter when one is missing, a
// shape differs (model vs manifest, or manifest vs .npy) or a file is unreadable; store is left
// unchanged in that case.
template <class T>
nlohmann::json load_checkpoint(const std::filesystem::path& dir, ParameterStore<T>& store);

extern template void save_checkpoint<float>(const std::filesystem::path&, const ParameterStore<float>&,
                                            const nlohmann::json&, const TrainingState*);
extern template void save_checkpoint<double>(const std::filesystem::path&, const ParameterStore<double>&,
                                             const nlohmann::json&, const TrainingState*);
extern template nlohmann::json load_checkpoint<float>(const std::filesystem::path&,
                                                      ParameterStore<float>&);
extern template nlohmann::json load_checkpoint<double>(const std::filesystem::path&,
                                                       ParameterStore<double>&);

}  // namespace vk
