// Which OpenBLAS kernels a CPU should run. OpenBLAS picks them from the CPU model it reads, and a
// virtual machine that reports a generic model gets the SSE3 ("Prescott") ones: 3.4 times slower
// training on an AVX-512 Xeon (issue 13), with no message. The choice is a pure function of the
// CPU's features and the core OpenBLAS chose, so a table of both can test it.
#pragma once

#include <string>
#include <string_view>

namespace vk::blas {

struct CpuFeatures {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
};

// What this CPU runs and the operating system enables (cpuid and xgetbv, through the compiler).
CpuFeatures host_features();

// The core type to set OPENBLAS_CORETYPE to when OpenBLAS's choice `chosen` (a name of
// openblas_get_corename, any case) is weaker than the CPU: "SkylakeX" with AVX-512 F, BW, DQ and
// VL (and AVX2, FMA), else "Haswell" with AVX2 and FMA. "" when the choice is as good as the CPU
// allows, when the CPU has neither, or when `chosen` is a name this table does not know (a newer
// OpenBLAS knows better). Never names kernels whose instructions `cpu` lacks.
std::string better_core(std::string_view chosen, const CpuFeatures& cpu);

// The next weaker kernel family below `core` (any case) on the line SapphireRapids, Cooperlake,
// SkylakeX, Haswell, Sandybridge, Nehalem, Core2, Prescott (Zen, whose kernels are Haswell's, falls
// to Sandybridge): what a process falls back to when `core`'s products disagree with a reference.
// Each family's instructions are a subset of the one above it, so a CPU that runs `core` runs it.
// "" below Prescott and for a name off the line (an older AMD family, one this table does not know).
std::string weaker_core(std::string_view core);

}  // namespace vk::blas
