// What the oneDNN paths share (conv_onednn.cpp, gemm_bf16.cpp): one CPU engine, a stream per
// thread, 64-byte aligned buffers, a primitive with its arguments run through the C API, and the
// calling thread's number for caches of primitives kept per thread.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>

namespace vk::onednn {

inline dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
inline dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

struct FreeAligned {
  void operator()(char* p) const { ::operator delete[](p, std::align_val_t(64)); }
};
using Buffer = std::unique_ptr<char[], FreeAligned>;
inline Buffer buffer(std::size_t bytes) {
  return Buffer(static_cast<char*>(::operator new[](std::max<std::size_t>(bytes, 64), std::align_val_t(64))));
}

// A primitive and its arguments, whose memories point where the next call says; the C API runs
// it, since the C++ one builds an std::unordered_map of the arguments on every call (the C one
// still builds one inside: oneDNN 2.6's dnnl_primitive_execute, docs/performance.md).
struct Call {
  dnnl::primitive primitive;
  std::array<dnnl_exec_arg_t, 6> args{};
  int count = 0;
  std::array<dnnl::memory, 6> keep;  // owns the memories of args

  void add(int arg, const dnnl::memory::desc& md, void* at = nullptr) {
    keep[count] = dnnl::memory(md, engine(), at);
    args[count] = {arg, keep[count].get()};
    ++count;
  }
  void point(int i, const void* at) { keep[i].set_data_handle(const_cast<void*>(at)); }
  void run() {
    if (dnnl_primitive_execute(primitive.get(), stream().get(), count, args.data()) != dnnl_success)
      throw std::runtime_error("a oneDNN primitive failed");
  }
};

// The calling thread's number: two tasks of parallel::for_tasks (IW evaluation) may run the same
// shape at once, each needing buffers of its own.
inline std::uint64_t thread_slot() {
  static std::atomic<std::uint64_t> next{0};
  thread_local const std::uint64_t slot = next++;
  return slot;
}

}  // namespace vk::onednn
