// Splits large memory-bound element loops (Adam's update, zeroing gradients) over the threads
// OpenBLAS was given. Between GEMMs OpenBLAS's workers only wait, so with two threads the second
// core would otherwise sit idle through the optimizer step.
#pragma once

#include <cstddef>

namespace vk::parallel {

// Threads for_range may use (blas::set_threads sets both). Starts or stops the workers.
void set_threads(int threads);
int threads();

using RangeFn = void (*)(void* context, std::size_t begin, std::size_t end);
// Calls f on disjoint ranges covering [0, n), concurrently when n is large and threads() > 1;
// returns when all are done. Allocates nothing. One pool serves the process: call it (and
// set_threads) from one thread at a time, as a training loop does.
void for_range(std::size_t n, RangeFn f, void* context);

// As for_range, but splits whatever n is: for work that is large per index (rows of a GEMM).
void for_parts(std::size_t n, RangeFn f, void* context);

template <class F>
void for_range(std::size_t n, F& f) {  // f(begin, end)
  for_range(n, [](void* c, std::size_t b, std::size_t e) { (*static_cast<F*>(c))(b, e); }, &f);
}

}  // namespace vk::parallel
