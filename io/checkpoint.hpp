// Checkpoints: a folder holding one float32 .npy per parameter (named after it, e.g.
// "encoder.0.weight.npy") and a manifest.json, so weights can be read with numpy alone:
//   {"format": "vaekit-checkpoint", "version": 1,
//    "parameters": [{"name": ..., "file": ..., "shape": [rows, cols], "dtype": "float32"}, ...],
//    "metadata": <free-form, e.g. the architecture>}
#pragma once

#include <filesystem>

#include <nlohmann/json_fwd.hpp>

#include "autodiff/params.hpp"
#include "io/error.hpp"

namespace vk {

// Writes every parameter of store (as float32) and the manifest into a temporary sibling folder,
// then renames it to dir. An existing dir is moved aside and removed only once the new folder is
// in place, so an interrupted save leaves either the old or the new checkpoint (at worst both, as
// siblings named dir.old-* / dir.tmp-*), never a half-written one. Parent folders are created.
// Parameter names must be usable as file names (no '/', '\\', not starting with '.').
// Throws IoError.
template <class T>
void save_checkpoint(const std::filesystem::path& dir, const ParameterStore<T>& store,
                     const nlohmann::json& metadata);

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

extern template void save_checkpoint<float>(const std::filesystem::path&,
                                            const ParameterStore<float>&, const nlohmann::json&);
extern template void save_checkpoint<double>(const std::filesystem::path&,
                                             const ParameterStore<double>&, const nlohmann::json&);
extern template nlohmann::json load_checkpoint<float>(const std::filesystem::path&,
                                                      ParameterStore<float>&);
extern template nlohmann::json load_checkpoint<double>(const std::filesystem::path&,
                                                       ParameterStore<double>&);

}  // namespace vk
