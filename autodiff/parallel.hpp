// Splits large element loops (Adam's update, zeroing gradients, element-wise ops, the Bernoulli
// likelihood's rows) over the threads OpenBLAS was given. Between GEMMs OpenBLAS's workers only wait,
// so with two threads the second core would otherwise sit idle through that work.
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

// As for_range over n elements, with every range but the last starting and ending at a multiple
// of `grain`: a SIMD loop with a scalar tail then computes each element with the same
// instructions however the range is split, so results do not depend on the thread count.
void for_range(std::size_t n, std::size_t grain, RangeFn f, void* context);

template <class F>
void for_range(std::size_t n, F& f) {  // f(begin, end)
  for_range(n, [](void* c, std::size_t b, std::size_t e) { (*static_cast<F*>(c))(b, e); }, &f);
}

template <class F>
void for_range(std::size_t n, std::size_t grain, F& f) {  // f(begin, end)
  for_range(n, grain, [](void* c, std::size_t b, std::size_t e) { (*static_cast<F*>(c))(b, e); }, &f);
}

// Calls f(task, thread) for every task in [0, n), each once, with thread in [0, threads()):
// every thread of the pool takes the next task until none is left. For work that is independent
// per task (an image's importance samples) and whose parts would be too small to split: the
// for_range, for_parts and GEMMs called from inside f run on f's thread alone.
void for_tasks(std::size_t n, void (*f)(void* context, std::size_t task, std::size_t thread), void* context);

template <class F>
void for_tasks(std::size_t n, F& f) {  // f(task, thread)
  for_tasks(n, [](void* c, std::size_t task, std::size_t thread) { (*static_cast<F*>(c))(task, thread); }, &f);
}

// f(first_row, end_row) over the rows of an m x d array, split as for_range splits its m d
// elements but never inside a row: a row's sum is the same whatever the thread count.
template <class F>
void for_rows(std::size_t m, std::size_t d, F& f) {
  if (d == 0) return f(0, m);
  auto elements = [&](std::size_t b, std::size_t e) { f(b / d, e / d); };
  for_range(m * d, d, elements);
}

}  // namespace vk::parallel
