#include "autodiff/blas_core.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace vk::blas {

namespace {

// Kernel levels: 0 older than AVX2, 1 AVX2 + FMA, 2 AVX-512.
constexpr int unknown_level = -1;

std::string lower(std::string_view s) {
  std::string name(s);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return name;
}

// OpenBLAS 0.3.21's x86-64 core names (driver/others/dynamic.c). Excavator and Steamroller CPUs
// have AVX2 or FMA, but their kernels in OpenBLAS are the Piledriver family's, slower than Haswell's.
int kernel_level(std::string_view chosen) {
  const std::string name = lower(chosen);
  static constexpr std::array<std::string_view, 3> avx512{"skylakex", "cooperlake", "sapphirerapids"};
  static constexpr std::array<std::string_view, 2> avx2{"haswell", "zen"};
  static constexpr std::array<std::string_view, 22> older{
      "unknown", "katmai",   "coppermine", "northwood", "prescott", "banias",     "atom",       "core2",
      "penryn",  "dunnington", "nehalem",  "athlon",    "opteron",  "opteron_sse3", "barcelona", "nano",
      "sandybridge", "bobcat", "bulldozer", "piledriver", "steamroller", "excavator"};
  auto in = [&](const auto& list) { return std::find(list.begin(), list.end(), name) != list.end(); };
  if (in(avx512)) return 2;
  if (in(avx2)) return 1;
  if (in(older)) return 0;
  return unknown_level;
}

int cpu_level(const CpuFeatures& c) {
  if (!c.avx2 || !c.fma) return 0;
  return c.avx512f && c.avx512bw && c.avx512dq && c.avx512vl ? 2 : 1;
}

}  // namespace

CpuFeatures host_features() {
  __builtin_cpu_init();
  return {.avx2 = bool(__builtin_cpu_supports("avx2")),
          .fma = bool(__builtin_cpu_supports("fma")),
          .avx512f = bool(__builtin_cpu_supports("avx512f")),
          .avx512bw = bool(__builtin_cpu_supports("avx512bw")),
          .avx512dq = bool(__builtin_cpu_supports("avx512dq")),
          .avx512vl = bool(__builtin_cpu_supports("avx512vl"))};
}

std::string better_core(std::string_view chosen, const CpuFeatures& cpu) {
  const int have = kernel_level(chosen), can = cpu_level(cpu);
  if (have == unknown_level || can <= have) return "";
  return can == 2 ? "SkylakeX" : "Haswell";
}

std::string weaker_core(std::string_view core) {
  static constexpr std::array<std::string_view, 8> line{"SapphireRapids", "Cooperlake", "SkylakeX", "Haswell",
                                                        "Sandybridge",    "Nehalem",    "Core2",    "Prescott"};
  const std::string name = lower(core);
  if (name == "zen") return "Sandybridge";
  for (std::size_t i = 0; i + 1 < line.size(); ++i)
    if (lower(line[i]) == name) return std::string(line[i + 1]);
  return "";
}

}  // namespace vk::blas
