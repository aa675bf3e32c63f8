#include "autodiff/conv_onednn.hpp"

#include <oneapi/dnnl/dnnl.hpp>

#include <omp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "autodiff/onednn_call.hpp"
#include "autodiff/parallel.hpp"

namespace vk::onednn {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

// The three passes of one geometry and batch size with the weight reorders between our layout
// and the formats the passes chose, the buffers of reordered weights and one scratchpad.
struct Entry {
  Call forward, backward_data, backward_weights;
  Call to_forward, to_backward, add_back;  // reorders; the first two are empty where not needed
  Buffer w_forward, w_backward, dw, db, scratchpad;
  std::string implementations;
};

memory::desc image(std::size_t batch, std::size_t h, std::size_t w, std::size_t c) {
  return {{memory::dim(batch), memory::dim(c), memory::dim(h), memory::dim(w)}, memory::data_type::f32, Tag::nhwc};
}

template <class Forward, class BackwardData, class BackwardWeights>
std::unique_ptr<Entry> create(bool transposed, const ConvParams& g, std::size_t batch) {
  using memory::data_type::f32;
  dnnl::engine& eng = engine();
  const memory::desc large = image(batch, g.height, g.width, g.channels);
  const memory::desc small = image(batch, g.out_height, g.out_width, g.out_channels);
  const memory::desc& in = transposed ? small : large;
  const memory::desc& out = transposed ? large : small;
  // (out channels, in channels, kh, kw) of the primitive: conv2d's [kh kw c, oc] is hwio,
  // conv_transpose2d's [oc, kh kw c] is bcda.
  const memory::dim c_out = transposed ? g.channels : g.out_channels, c_in = transposed ? g.out_channels : g.channels;
  const memory::dim k = g.kernel;
  const memory::dims wdims{c_out, c_in, k, k};
  const memory::desc w_user(wdims, f32, transposed ? Tag::bcda : Tag::hwio);
  const memory::desc w_any(wdims, f32, Tag::any);
  const memory::desc bias({c_out}, f32, Tag::a);
  const memory::dim s = g.stride, p = g.padding;
  const memory::dim pr_h = memory::dim(g.out_height - 1) * s + k - g.height - p;
  const memory::dim pr_w = memory::dim(g.out_width - 1) * s + k - g.width - p;
  const memory::dims strides{s, s}, pad_l{p, p}, pad_r{pr_h, pr_w};
  const dnnl::algorithm alg =
      transposed ? dnnl::algorithm::deconvolution_direct : dnnl::algorithm::convolution_direct;

  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  typename Forward::primitive_desc fwd(
      typename Forward::desc(dnnl::prop_kind::forward_training, alg, in, w_any, bias, out, strides, pad_l, pad_r),
      attr, eng);
  typename BackwardData::primitive_desc bwd_data(
      typename BackwardData::desc(alg, in, w_any, out, strides, pad_l, pad_r), attr, eng, fwd);
  typename BackwardWeights::primitive_desc bwd_weights(
      typename BackwardWeights::desc(alg, in, w_any, bias, out, strides, pad_l, pad_r), attr, eng, fwd);

  auto e = std::make_unique<Entry>();
  std::size_t scratch = std::max({fwd.scratchpad_desc().get_size(), bwd_data.scratchpad_desc().get_size(),
                                  bwd_weights.scratchpad_desc().get_size()});
  auto reorder = [&](Call& c, const memory::desc& from, const memory::desc& to, bool add) {
    dnnl::primitive_attr a;
    a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (add) {
      dnnl::post_ops ops;
      ops.append_sum(1.f);
      a.set_post_ops(ops);
    }
    dnnl::reorder::primitive_desc pd(eng, from, eng, to, a);
    c.primitive = dnnl::reorder(pd);
    c.add(DNNL_ARG_FROM, from);
    c.add(DNNL_ARG_TO, to);
    c.add(DNNL_ARG_SCRATCHPAD, pd.scratchpad_desc());
    scratch = std::max(scratch, pd.scratchpad_desc().get_size());
  };
  const memory::desc w_fwd = fwd.weights_desc(), w_bwd = bwd_data.weights_desc(), dw = bwd_weights.diff_weights_desc();
  if (w_fwd != w_user) {
    e->w_forward = buffer(w_fwd.get_size());
    reorder(e->to_forward, w_user, w_fwd, false);
    e->to_forward.point(1, e->w_forward.get());
  }
  if (w_bwd != w_user) {
    e->w_backward = buffer(w_bwd.get_size());
    reorder(e->to_backward, w_user, w_bwd, false);
    e->to_backward.point(1, e->w_backward.get());
  }
  e->dw = buffer(dw.get_size());
  e->db = buffer(bias.get_size());
  reorder(e->add_back, dw, w_user, true);
  e->add_back.point(0, e->dw.get());

  e->forward.primitive = Forward(fwd);
  e->forward.add(DNNL_ARG_SRC, in);
  e->forward.add(DNNL_ARG_WEIGHTS, w_fwd, e->w_forward.get());
  e->forward.add(DNNL_ARG_BIAS, bias);
  e->forward.add(DNNL_ARG_DST, out);
  e->forward.add(DNNL_ARG_SCRATCHPAD, fwd.scratchpad_desc());
  e->backward_data.primitive = BackwardData(bwd_data);
  e->backward_data.add(DNNL_ARG_DIFF_DST, out);
  e->backward_data.add(DNNL_ARG_WEIGHTS, w_bwd, e->w_backward.get());
  e->backward_data.add(DNNL_ARG_DIFF_SRC, in);
  e->backward_data.add(DNNL_ARG_SCRATCHPAD, bwd_data.scratchpad_desc());
  e->backward_weights.primitive = BackwardWeights(bwd_weights);
  e->backward_weights.add(DNNL_ARG_SRC, in);
  e->backward_weights.add(DNNL_ARG_DIFF_DST, out);
  e->backward_weights.add(DNNL_ARG_DIFF_WEIGHTS, dw, e->dw.get());
  e->backward_weights.add(DNNL_ARG_DIFF_BIAS, bias, e->db.get());
  e->backward_weights.add(DNNL_ARG_SCRATCHPAD, bwd_weights.scratchpad_desc());

  e->scratchpad = buffer(scratch);
  for (Call* c : {&e->forward, &e->backward_data, &e->backward_weights, &e->to_forward, &e->to_backward,
                  &e->add_back})
    if (c->count) c->point(c->count - 1, e->scratchpad.get());
  e->implementations = std::string(fwd.impl_info_str()) + ", " + bwd_data.impl_info_str() + ", " +
                       bwd_weights.impl_info_str();
  return e;
}

// Created on first use and kept: a process trains a handful of shapes. An entry's buffers serve one
// call at a time, so each thread, and each part of a batch split over the pool (first), has its own.
Entry& entry(bool transposed, const ConvParams& g, std::size_t batch, std::size_t first) {
  static std::mutex mutex;
  static std::map<std::array<std::uint64_t, 13>, std::unique_ptr<Entry>> cache;
  const std::array<std::uint64_t, 13> key{transposed,   batch,         first,      thread_slot(), g.height,
                                          g.width,      g.channels,    g.out_height, g.out_width, g.out_channels,
                                          g.kernel,     g.stride,      g.padding};
  std::lock_guard lock(mutex);
  auto found = cache.find(key);
  if (found != cache.end()) return *found->second;
  std::unique_ptr<Entry> made =
      transposed ? create<dnnl::deconvolution_forward, dnnl::deconvolution_backward_data,
                          dnnl::deconvolution_backward_weights>(true, g, batch)
                 : create<dnnl::convolution_forward, dnnl::convolution_backward_data,
                          dnnl::convolution_backward_weights>(false, g, batch);
  return *cache.emplace(key, std::move(made)).first->second;
}

// The weights as the pass reads them: reordered into its buffer, or ours where it takes our layout.
const void* weights_for(Call& reorder, const Buffer& reordered, const float* w) {
  if (!reorder.count) return w;
  reorder.point(0, w);
  reorder.run();
  return reordered.get();
}

// f(first image, images) on one part of the batch per thread of vaekit's pool (parallel.hpp), as
// blas::gemm splits its products, each part on an OpenMP team of one: oneDNN's own threads and the
// pool's would spin on the core the other needs.
template <class F>
void over_batch(std::size_t batch, F f) {
  auto part = [&](std::size_t begin, std::size_t end) {
    thread_local bool one_thread = false;
    if (!one_thread) omp_set_num_threads(1), one_thread = true;
    f(begin, end - begin);
  };
  parallel::for_parts(batch, [](void* c, std::size_t b, std::size_t e) { (*static_cast<decltype(part)*>(c))(b, e); },
                      &part);
}

}  // namespace

void conv_forward(bool transposed, const ConvParams& g, std::size_t batch, const float* x, const float* w,
                  const float* b, float* y) {
  const std::size_t in = transposed ? g.small_size() : g.large_size(), out = transposed ? g.large_size() : g.small_size();
  over_batch(batch, [&](std::size_t first, std::size_t n) {
    Entry& e = entry(transposed, g, n, first);
    Call& c = e.forward;
    c.point(0, x + first * in);
    c.point(1, weights_for(e.to_forward, e.w_forward, w));
    c.point(2, b);
    c.point(3, y + first * out);
    c.run();
  });
}

void conv_backward_data(bool transposed, const ConvParams& g, std::size_t batch, const float* dy, const float* w,
                        float* dx, float* scratch) {
  const std::size_t in = transposed ? g.small_size() : g.large_size(), out = transposed ? g.large_size() : g.small_size();
  over_batch(batch, [&](std::size_t first, std::size_t n) {
    Entry& e = entry(transposed, g, n, first);
    Call& c = e.backward_data;
    float* result = scratch + first * in;
    c.point(0, dy + first * out);
    c.point(1, weights_for(e.to_backward, e.w_backward, w));
    c.point(2, result);
    c.run();
    // The primitive writes its result; the tape's gradients add up.
    float* to = dx + first * in;
    for (std::size_t i = 0; i < n * in; ++i) to[i] += result[i];
  });
}

void conv_backward_weights(bool transposed, const ConvParams& g, std::size_t batch, const float* x,
                           const float* dy, float* dw, float* db) {
  const std::size_t in = transposed ? g.small_size() : g.large_size(), out = transposed ? g.large_size() : g.small_size();
  // Each part's sums in its entry's buffers, added up afterwards in the order of the batch.
  constexpr std::size_t kMaxParts = 256;
  std::array<std::pair<std::size_t, Entry*>, kMaxParts> parts;
  std::atomic<std::size_t> count{0};
  over_batch(batch, [&](std::size_t first, std::size_t n) {
    Entry& e = entry(transposed, g, n, first);
    Call& c = e.backward_weights;
    c.point(0, x + first * in);
    c.point(1, dy + first * out);
    c.run();
    parts[count++] = {first, &e};
  });
  std::sort(parts.begin(), parts.begin() + count);
  const std::size_t channels = transposed ? g.channels : g.out_channels;
  for (std::size_t p = 0; p < count; ++p) {
    Entry& e = *parts[p].second;
    if (dw) {
      e.add_back.point(1, dw);
      e.add_back.run();
    }
    if (db) {
      const float* sum = reinterpret_cast<const float*>(e.db.get());
      for (std::size_t j = 0; j < channels; ++j) db[j] += sum[j];
    }
  }
}

std::string implementations(bool transposed, const ConvParams& g, std::size_t batch) {
  return entry(transposed, g, batch, 0).implementations;
}

}  // namespace vk::onednn
