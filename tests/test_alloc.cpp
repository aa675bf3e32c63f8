// After the first training step, a step makes no heap allocation: every malloc, calloc, realloc,
// posix_memalign, aligned_alloc, memalign and valloc in this test executable is counted, those of
// OpenBLAS and the other C libraries it loads included, and operator new forwards to malloc.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "autodiff/blas.hpp"
#include "autodiff/layers.hpp"
#include "autodiff/optim.hpp"
#include "autodiff/parallel.hpp"
#include "vae/registry.hpp"
#include "vae/train.hpp"

namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer replaces malloc and its kin in the whole process, and definitions of ours would
// run inside its start-up, before its shadow memory exists. Its allocator calls a hook on every
// allocation instead (compiler-rt's sanitizer/allocator_interface.h, which g++ 12 does not ship).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*)(const volatile void*, std::size_t),
                                                         void (*)(const volatile void*));
namespace {
const bool g_hooked = __sanitizer_install_malloc_and_free_hooks(
    [](const volatile void*, std::size_t) { ++g_allocations; }, [](const volatile void*) {});
}  // namespace
#else
// An executable's definitions come first in every library's symbol lookup, and glibc's own calls
// of malloc go through them too; these count, then call glibc's allocator by its own names.
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void __libc_free(void*);
void* __libc_memalign(std::size_t, std::size_t);
void* memalign(std::size_t alignment, std::size_t n) noexcept;
void* valloc(std::size_t n) noexcept;

void* malloc(std::size_t n) noexcept {
  ++g_allocations;
  return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t n) noexcept {
  ++g_allocations;
  return __libc_calloc(count, n);
}
void* realloc(void* p, std::size_t n) noexcept {
  ++g_allocations;
  return __libc_realloc(p, n);
}
void free(void* p) noexcept { __libc_free(p); }
void* memalign(std::size_t alignment, std::size_t n) noexcept {
  ++g_allocations;
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) noexcept {
  if (alignment == 0 || (alignment & (alignment - 1))) {
    errno = EINVAL;
    return nullptr;
  }
  return memalign(alignment, n);
}
int posix_memalign(void** p, std::size_t alignment, std::size_t n) noexcept {
  if (alignment % sizeof(void*) || (alignment & (alignment - 1))) return EINVAL;
  void* q = memalign(alignment, n);
  if (!q) return ENOMEM;
  *p = q;
  return 0;
}
void* valloc(std::size_t n) noexcept { return memalign(std::size_t(sysconf(_SC_PAGESIZE)), n); }
}
namespace {
const bool g_hooked = true;
}  // namespace
#endif

namespace {
void* allocate(std::size_t n, std::size_t align) {
  void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (n + align - 1) / align * align)
                                              : std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

// g++ 12 sees these malloc-backed replacements inline next to std::allocator's new (the suite is
// one unity translation unit) and warns of a mismatch that cannot happen.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) { return allocate(n, 0); }
void* operator new[](std::size_t n) { return allocate(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, std::size_t(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, std::size_t(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

using namespace vk;

namespace {
// count random 8-bit images of side x side, labelled i % 10.
vk::data::ImageSet random_images(Rng& rng, std::size_t count, std::size_t side) {
  vk::data::ImageSet set;
  set.count = count;
  set.height = set.width = side;
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t e = 0; e < count * side * side; ++e) set.pixels.push_back(std::uint8_t(byte(rng)));
  for (std::size_t i = 0; i < count; ++i) set.labels.push_back(std::uint8_t(i % 10));
  return set;
}
}  // namespace

TEST_CASE("the count sees what C libraries allocate, not only operator new") {
  REQUIRE(g_hooked);
  // Through pointers the compiler cannot see through, so that no call is elided.
  char* (*volatile dup)(const char*) = strdup;  // glibc's own call of malloc
  int (*volatile memalign_into)(void**, std::size_t, std::size_t) = posix_memalign;
  const std::size_t before = g_allocations.load();
  char* s = dup("planted");
  void* p = nullptr;
  CHECK(memalign_into(&p, 64, 100) == 0);
  std::free(p);
  std::free(s);
  CHECK(g_allocations.load() - before == 2);
}

TEST_CASE("a VAE training step allocates nothing after the first") {
  // One OpenBLAS thread, as every program sets (blas::set_threads): with two, OpenBLAS 0.3.21's
  // own threaded sgemm (sgemm_thread_nn) mallocs on every product, which this test sees.
  blas::set_threads(1);
  ParameterStore<float> store;
  Rng rng(5);
  Sequential<Linear<784, 400>, Relu> trunk;
  Linear<400, 20> mu_head;
  Linear<400, 20> logvar_head;
  Perceptron decoder = perceptron({400}, 784, Op::relu);
  build_network(trunk, store, "encoder.trunk", rng, features(784));
  build_network(mu_head, store, "encoder.mu", rng, features(400), Init::xavier_uniform);
  build_network(logvar_head, store, "encoder.logvar", rng, features(400), Init::xavier_uniform);
  build_network(decoder, store, "decoder", rng, features(20));
  const ParamId log_sigma2 = store.add("log_sigma2", 1, 1);
  Adam<float> adam(store, {});

  Matrix<float> batch = Matrix<float>::from_shape({128, 784});
  fill_uniform<float>(rng, std::span(batch.data(), batch.size()), 0.f, 1.f);
  Tape<float> tape;
  std::normal_distribution<float> normal;

  auto step = [&] {
    Var<float> x = tape.constant(batch);
    Var<float> h = trunk.forward(store, x);
    Var<float> mu = mu_head.forward(store, h);
    Var<float> logvar = logvar_head.forward(store, h);
    Var<float> eps = tape.constant_uninitialized(mu.rows(), mu.cols());
    for (float& e : eps.value()) e = normal(rng);
    Var<float> z = reparameterize(mu, logvar, eps);
    Var<float> x_hat = decoder.forward(store, z);
    Var<float> loss = mean(sub(gaussian_kl(mu, logvar),
                               gaussian_loglik(x_hat, x, tape.param(store, log_sigma2))));
    adam.zero_grad();
    tape.backward(loss);
    clip_grad_norm(store, 100.f);
    adam.step();
    const float value = loss.item();
    tape.reset();
    return value;
  };

  const float first = step();
  const std::size_t before = g_allocations.load();
  float last = 0;
  for (int i = 0; i < 5; ++i) last = step();
  CHECK(g_allocations.load() - before == 0);
  CHECK(std::isfinite(last));
  CHECK(last < first);  // the steps did train
}

TEST_CASE("training epochs of the VAE models allocate nothing after the first") {
  using vk::vae::Condition;
  using vk::vae::LikelihoodKind;
  using vk::vae::Objective;
  // 100 images of 8x8 in 10 classes: with batch 32 the last batch of an epoch is a partial one.
  Rng rng(2);
  const vk::data::ImageSet set = random_images(rng, 100, 8);
  const vk::data::ImageSet images28 = random_images(rng, 100, 28);  // for the conv VAE

  std::vector<vk::vae::ModelConfig> configs(7);
  configs[1].likelihood = LikelihoodKind::bernoulli;
  configs[4].architecture = vk::vae::Architecture::conv;
  configs[5].likelihood = configs[6].likelihood = LikelihoodKind::logistic;  // the 8-bit pixels as they are
  configs[5].logistic_mixture = 2;
  configs[6].architecture = vk::vae::Architecture::conv;
  for (std::size_t k = 2; k < 4; ++k) {
    configs[k].kind = "cvae";
    configs[k].classes = 10;
    configs[k].condition = k == 2 ? Condition::embedding : Condition::prior;
  }
  configs.emplace_back().kind = "diffusion";  // its U-Net on the 8x8 images, T = 4
  configs.back().settings = {{"diffusion-steps", "4"}};
  REQUIRE(vk::blas::precision() == vk::blas::Precision::f32);  // the default: --precision bf16 allocates (below)
  // The pool's split loops and products allocate nothing either, nor the shards of --split batch.
  for (const auto& [threads, split] : {std::pair{1, vk::vae::Split::ops}, {2, vk::vae::Split::ops}, {2, vk::vae::Split::batch}})
    for (auto& c : configs) {
      const bool conv = c.architecture == vk::vae::Architecture::conv;
      c.input_dim = conv ? 784 : 64;
      c.hidden = {32};
      c.latent = c.kind == "diffusion" ? c.input_dim : 4;
      CAPTURE(threads);
      CAPTURE(std::string(name(split)));
      CAPTURE(c.kind);
      CAPTURE(int(c.condition));
      const auto model_made = vk::vae::make_model<float>(c, 1);
      vk::vae::Model<float>& model = *model_made;
      const bool logistic = c.likelihood == LikelihoodKind::logistic, dequantized = c.exact_density();
      vk::blas::set_threads(threads);  // before the trainer, which makes a shard per thread
      vk::vae::Trainer<float> trainer(model, conv ? images28 : set,
                                      {.batch = 32,
                                       .binarize = logistic || dequantized ? vk::data::Binarize::none : vk::data::Binarize::dynamic,
                                       .dequantize = dequantized,
                                       .split = split});
      // The pool's threads have started before the count: under AddressSanitizer a thread's start
      // allocates (pthread_getattr_np), and on a busy machine it may come an epoch late.
      vk::parallel::for_parts(std::size_t(threads), [](void*, std::size_t, std::size_t) {}, nullptr);
      trainer.run_epoch();
      const std::size_t before = g_allocations.load();
      const auto second = trainer.run_epoch();
      trainer.run_epoch();
      const std::size_t allocations = g_allocations.load() - before;
      vk::blas::set_threads(1);
      CHECK(allocations == 0);
      CHECK(std::isfinite(second.loss));
    }
}

TEST_CASE("bf16 products allocate inside oneDNN; float products after them allocate nothing again") {
  try {
    vk::blas::set_precision(vk::blas::Precision::bf16);
  } catch (const std::invalid_argument& e) {
    MESSAGE("bf16 refused here: " << e.what());
    return;
  }
  struct BackToFloat {
    ~BackToFloat() { vk::blas::set_precision(vk::blas::Precision::f32); }
  } back_to_float;  // for the suite's later cases, whatever happens here
  Rng rng(3);
  const vk::data::ImageSet set = random_images(rng, 64, 28);
  for (const auto arch : {vk::vae::Architecture::mlp, vk::vae::Architecture::conv}) {
    vk::vae::ModelConfig c;
    c.architecture = arch;
    c.likelihood = vk::vae::LikelihoodKind::bernoulli;
    c.input_dim = 784;
    c.hidden = arch == vk::vae::Architecture::conv ? std::vector<std::size_t>{} : std::vector<std::size_t>{64};
    c.latent = 4;
    const auto made = vk::vae::make_model<float>(c, 1);
    vk::vae::Trainer<float> trainer(*made, set, {.batch = 32, .binarize = vk::data::Binarize::dynamic});
    vk::blas::set_precision(vk::blas::Precision::bf16);
    trainer.run_epoch();
    std::size_t before = g_allocations.load();
    trainer.run_epoch();
    // oneDNN 2.6's dnnl_primitive_execute builds a map of its arguments per call (docs/performance.md).
    MESSAGE("bf16, " << std::string(arch == vk::vae::Architecture::conv ? "conv" : "mlp") << ": "
                     << g_allocations.load() - before << " allocations in an epoch of 2 steps");
    vk::blas::set_precision(vk::blas::Precision::f32);
    trainer.run_epoch();
    before = g_allocations.load();
    trainer.run_epoch();
    CHECK(g_allocations.load() - before == 0);
  }
}
