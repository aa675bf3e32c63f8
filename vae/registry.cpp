#include "vae/registry.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "vae/kinds/kind_list.hpp"

namespace vk::vae {

VK_MODEL_KINDS(VK_DECLARE_FACTORY)

namespace {

#define VK_KIND_INFO(kind, factory, family, conditional, stacked, width, hidden, activation, flags, help) \
  KindInfo{#kind, Family::family, Family::family == Family::latent, conditional, stacked, width, hidden, activation, flags, help},
constexpr KindInfo kKinds[] = {VK_MODEL_KINDS(VK_KIND_INFO)};
#undef VK_KIND_INFO

template <class T>
using Factory = std::unique_ptr<Model<T>> (*)(const ModelConfig&, std::uint64_t);

#define VK_FACTORY(kind, factory, ...) &factory<T>,
template <class T>
constexpr Factory<T> kFactories[] = {VK_MODEL_KINDS(VK_FACTORY)};
#undef VK_FACTORY

// The trainer asks on every step (ModelConfig::conditional): the names are joined only for the
// error, so that the lookup allocates nothing.
std::size_t index_of(const std::string& name) {
  for (std::size_t i = 0; i < std::size(kKinds); ++i)
    if (name == kKinds[i].name) return i;
  std::string names;
  for (std::size_t i = 0; i < std::size(kKinds); ++i) names += (i ? ", " : "") + std::string(kKinds[i].name);
  throw std::invalid_argument(fmt::format("unknown model '{}' (expected one of: {})", name, names));
}

}  // namespace

std::span<const KindInfo> kinds() { return kKinds; }

const KindInfo& kind_info(const std::string& name) { return kKinds[index_of(name)]; }

namespace {

std::vector<std::string> flags_of(const KindInfo& k) {
  std::vector<std::string> out;
  std::string flag;
  for (const char* p = k.flags;; ++p) {
    if (*p == ' ' || *p == 0) {
      if (!flag.empty()) out.push_back(flag);
      flag.clear();
      if (*p == 0) return out;
    } else {
      flag += *p;
    }
  }
}

bool reads(const KindInfo& k, const std::string& flag) {
  for (const std::string& f : flags_of(k))
    if (f.substr(0, f.find('=')) == flag) return true;
  return false;
}

}  // namespace

std::vector<KindSetting> kind_settings(const KindInfo& kind) {
  std::vector<KindSetting> out;
  for (const std::string& f : flags_of(kind)) {
    const std::size_t eq = f.find('=');
    if (eq != std::string::npos) out.push_back({f.substr(2, eq - 2), f.substr(eq + 1), kind.name});
  }
  return out;
}

std::vector<KindSetting> all_kind_settings() {
  std::vector<KindSetting> out;
  for (const KindInfo& k : kKinds)
    for (KindSetting s : kind_settings(k)) {
      auto same = std::find_if(out.begin(), out.end(), [&](const KindSetting& o) { return o.name == s.name; });
      if (same == out.end()) {
        out.push_back(std::move(s));
        continue;
      }
      // Kinds that share a setting may default it differently: then each default is named.
      if (same->default_value != s.default_value && same->default_value.find(" (") == std::string::npos)
        same->default_value += " (" + same->kinds + ")";
      if (same->default_value.find(" (") != std::string::npos)
        same->default_value += ", " + s.default_value + " (" + s.kinds + ")";
      same->kinds += ", " + s.kinds;
    }
  return out;
}

void require_kind_reads(const KindInfo& kind, const std::string& flag) {
  std::string readers;
  for (const KindInfo& k : kKinds)
    if (reads(k, flag)) readers += (readers.empty() ? "--model " : " or ") + std::string(k.name);
  if (!readers.empty() && !reads(kind, flag))
    throw std::invalid_argument(fmt::format("{} is for {}", flag, readers));
}

template <class T>
std::unique_ptr<Model<T>> make_model(const ModelConfig& c, std::uint64_t seed) {
  return kFactories<T>[index_of(c.kind)](c, seed);
}

template std::unique_ptr<Model<float>> make_model(const ModelConfig&, std::uint64_t);
template std::unique_ptr<Model<double>> make_model(const ModelConfig&, std::uint64_t);

}  // namespace vk::vae
