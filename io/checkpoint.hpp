// Checkpoints: a folder holding one float32 .npy per parameter (named after it, e.g.
// "encoder.0.weight.npy") and a manifest.json, so weights can be read with numpy alone:
//   {"format": "vaekit-checkpoint", "version": 1,
//    "parameters": [{"name": ..., "file": ..., "shape": [rows, cols], "dtype": "float32",
//                    "bytes": <file size>, "crc32": "<8 hex digits>"}, ...],
//    "metadata": <free-form, e.g. the architecture>,
//    "training_state": {"file": "training_state.json", "bytes": ..., "crc32": ...,
//                       "arrays": [<entries as parameters'>]},
//    "manifest_crc32": "<8 hex digits>"}
// The training state is optional: what a training run needs to continue exactly (see
// TrainingState). Every file carries its size and zlib crc32, and the manifest its own (the crc32
// of its bytes with this field's value read as "00000000"), so a flipped byte, a truncated file or
// a file from another checkpoint is found on loading and named. Checkpoints of older builds have no
// checksums and load as before.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "autodiff/params.hpp"
#include "io/error.hpp"

namespace vk {

// The state beside the parameters that continuing a training run needs: float32 arrays (an
// optimizer's moments), each written as "state.<name>.npy" of shape [1, n], and free-form JSON
// (generators, counters, the metrics so far) written as training_state.json.
struct TrainingState {
  nlohmann::json info;
  std::vector<std::pair<std::string, std::vector<float>>> arrays;
};

// Writes every parameter of store (as float32), state's files when given, and the manifest last
// into a temporary sibling folder, then renames it to dir. With keep = 1 an existing dir is moved
// aside and removed only once the new folder is in place; with keep = N > 1 the previous
// checkpoints are kept as dir.1 (the one before), ..., dir.<N-1>, and older ones removed. An
// interrupted save leaves the old or the new checkpoint (at worst both, the new one as a sibling
// dir.tmp-*), never a half-written one. Parent folders are created. Parameter names must be usable
// as file names (no '/', '\\', not starting with '.'). Throws IoError.
template <class T>
void save_checkpoint(const std::filesystem::path& dir, const ParameterStore<T>& store,
                     const nlohmann::json& metadata, const TrainingState* state = nullptr,
                     std::size_t keep = 1);

// The training state of a checkpoint (verified); throws IoError when it has none or a file is damaged.
TrainingState load_training_state(const std::filesystem::path& dir);

// The newest whole (verified) checkpoint of dir: dir itself; when a save was killed between moving
// the previous one aside and renaming the new one into place, the newest sibling dir.tmp-*; when
// dir is damaged, the newest whole of dir.1, dir.2, ... (and dir.old-* of older builds). *why, if
// given, is set to one line saying what is wrong with dir when dir was passed over, "" otherwise.
// Throws IoError naming dir when there is none (what is wrong with dir, when it exists).
std::filesystem::path find_checkpoint(const std::filesystem::path& dir, std::string* why = nullptr);
// Puts find_checkpoint(dir) in place at dir (a damaged dir is kept beside it as dir.damaged-*)
// and removes the siblings that killed saves left. Returns "" when dir was whole (or missing after
// a killed save), otherwise one line: what is wrong with dir and which checkpoint replaced it.
std::string recover_checkpoint(const std::filesystem::path& dir);

// Reads and validates dir/manifest.json (its own checksum when it has one, format, version,
// parameter entries with plain file names, 2-D shapes, dtype float32, unique names). Returns the
// whole manifest; "metadata" is null when absent. Does not read the other files. Throws IoError.
nlohmann::json read_checkpoint_manifest(const std::filesystem::path& dir);

// read_checkpoint_manifest, then every file the manifest lists against its size and crc32 (files
// of older builds' manifests, without checksums, are not read). One file that does not match is
// named; several name the manifest (it, or they, come from another checkpoint). Returns the
// manifest. Throws IoError.
nlohmann::json verify_checkpoint(const std::filesystem::path& dir);

// Verifies the checkpoint (verify_checkpoint), fills the value of every parameter registered in
// store from it and returns its metadata. Parameters of the checkpoint that store lacks are ignored (e.g. loading only a
// decoder). Throws IoError naming the folder or file and the parameter when one is missing, a
// shape differs (model vs manifest, or manifest vs .npy) or a file is unreadable; store is left
// unchanged in that case.
template <class T>
nlohmann::json load_checkpoint(const std::filesystem::path& dir, ParameterStore<T>& store);

extern template void save_checkpoint<float>(const std::filesystem::path&, const ParameterStore<float>&,
                                            const nlohmann::json&, const TrainingState*, std::size_t);
extern template void save_checkpoint<double>(const std::filesystem::path&, const ParameterStore<double>&,
                                             const nlohmann::json&, const TrainingState*, std::size_t);
extern template nlohmann::json load_checkpoint<float>(const std::filesystem::path&,
                                                      ParameterStore<float>&);
extern template nlohmann::json load_checkpoint<double>(const std::filesystem::path&,
                                                       ParameterStore<double>&);

}  // namespace vk
