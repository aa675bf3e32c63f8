// In-memory data sets: the validation split, batching and binarization, synthetic manifolds and
// mixtures.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <utility>
#include <set>
#include <vector>

#include "tests/patterns.hpp"
#include "datasets/batcher.hpp"
#include "datasets/mnist.hpp"
#include "datasets/synthetic.hpp"

using namespace vk::data;
using vk::test::pattern_labels;
using vk::test::pattern_pixels;

namespace {

ImageSet pattern_set(std::size_t n, std::size_t rows = 4, std::size_t cols = 4) {
  ImageSet s;
  s.count = n;
  s.height = rows;
  s.width = cols;
  s.pixels = pattern_pixels(n, rows * cols);
  s.labels = pattern_labels(n);
  return s;
}

std::size_t index_of_row(const ImageSet& s, std::size_t i) { return s.image(i)[0] + 256 * s.image(i)[1]; }

std::vector<std::size_t> epoch_indices(Batcher<float>& b) {
  std::vector<std::size_t> seen;
  while (b.next()) seen.insert(seen.end(), b.indices().begin(), b.indices().end());
  return seen;
}

}  // namespace

TEST_CASE("validation split: disjoint, covers everything, seeded") {
  ImageSet set = pattern_set(1000);
  auto [train, val] = split_validation(set, 100, 42);
  CHECK(train.count == 900);
  CHECK(val.count == 100);
  std::set<std::size_t> seen;
  for (const ImageSet* s : {&train, &val})
    for (std::size_t i = 0; i < s->count; ++i) {
      std::size_t src = index_of_row(*s, i);
      CHECK(seen.insert(src).second);
      CHECK(s->labels[i] == set.labels[src]);
    }
  CHECK(seen.size() == 1000);
  CHECK(split_indices(1000, 100, 42).validation == split_indices(1000, 100, 42).validation);
  CHECK(split_indices(1000, 100, 42).validation != split_indices(1000, 100, 43).validation);
  CHECK(take_first(set, 10).count == 10);
  CHECK(index_of_row(take_first(set, 10), 9) == 9);
  CHECK_THROWS_AS(split_validation(set, 1000, 1), DataError);
}

TEST_CASE("batcher: each index once per epoch, seeded order, rows match the source") {
  ImageSet set = pattern_set(103);
  Batcher<float> a(set, {.batch = 10, .seed = 1});
  CHECK(a.batches_per_epoch() == 11);
  std::vector<std::size_t> e1 = epoch_indices(a), e2 = epoch_indices(a);
  std::vector<std::size_t> all(103);
  std::iota(all.begin(), all.end(), 0);
  for (auto* e : {&e1, &e2}) {
    std::vector<std::size_t> sorted = *e;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == all);
  }
  CHECK(e1 != e2);  // reshuffled between epochs
  CHECK(e1 != all);
  CHECK(a.epoch() == 2);

  Batcher<float> same(set, {.batch = 10, .seed = 1}), other(set, {.batch = 10, .seed = 2});
  CHECK(epoch_indices(same) == e1);
  CHECK(epoch_indices(other) != e1);

  Batcher<double> b(set, {.batch = 10, .seed = 3});
  std::size_t batches = 0;
  while (b.next()) {
    ++batches;
    REQUIRE(b.x().shape(0) == b.size());
    REQUIRE(b.y_onehot().shape(0) == b.size());
    REQUIRE(b.labels().size() == b.size());
    CHECK(b.size() == (batches == 11 ? 3u : 10u));
    for (std::size_t r = 0; r < b.size(); ++r) {
      std::size_t src = b.indices()[r];
      double row_sum = 0;
      for (std::size_t c = 0; c < 10; ++c) row_sum += b.y_onehot()(r, c);
      CHECK(row_sum == 1.0);
      CHECK(b.y_onehot()(r, b.labels()[r]) == 1.0);
      CHECK(b.labels()[r] == set.labels[src]);
      for (std::size_t j = 0; j < 16; ++j) {
        CHECK(b.x()(r, j) >= 0.0);
        CHECK(b.x()(r, j) <= 1.0);
        CHECK(b.x()(r, j) == doctest::Approx(set.image(src)[j] / 255.0));
      }
    }
  }
  CHECK(batches == 11);
}

TEST_CASE("batcher: sequential pass and drop_last") {
  ImageSet set = pattern_set(103);
  Batcher<float> seq(set, {.batch = 25, .shuffle = false});
  std::vector<std::size_t> all(103);
  std::iota(all.begin(), all.end(), 0);
  CHECK(epoch_indices(seq) == all);
  CHECK(epoch_indices(seq) == all);

  Batcher<float> drop(set, {.batch = 10, .seed = 5, .drop_last = true});
  CHECK(drop.batches_per_epoch() == 10);
  std::size_t batches = 0;
  std::set<std::size_t> seen;
  while (drop.next()) {
    ++batches;
    CHECK(drop.size() == 10);
    seen.insert(drop.indices().begin(), drop.indices().end());
  }
  CHECK(batches == 10);
  CHECK(seen.size() == 100);

  seq.next();
  seq.start_epoch();  // abandons the epoch: the next batch starts a new pass
  REQUIRE(seq.next());
  CHECK(seq.indices()[0] == 0);
  CHECK_THROWS_AS(Batcher<float>(set, {.batch = 0}), DataError);
  CHECK_THROWS_AS(Batcher<float>(set, {.batch = 200, .drop_last = true}), DataError);
}

TEST_CASE("batcher: buffers are reused, no allocation per batch") {
  ImageSet set = pattern_set(103);
  Batcher<float> b(set, {.batch = 10, .seed = 9, .binarize = Binarize::dynamic});
  const float *x_full = nullptr, *y_full = nullptr, *x_tail = nullptr;
  for (int epoch = 0; epoch < 3; ++epoch)
    while (b.next()) {
      const float*& x_seen = b.size() == 10 ? x_full : x_tail;
      if (!x_seen) x_seen = b.x().data();
      CHECK(b.x().data() == x_seen);
      CHECK(b.x().shape(0) == b.size());
      if (b.size() == 10) {
        if (!y_full) y_full = b.y_onehot().data();
        CHECK(b.y_onehot().data() == y_full);
      }
      CHECK(b.labels().data() != nullptr);
    }
  CHECK(x_tail != x_full);
}

TEST_CASE("batcher: static binarization is fixed, dynamic is redrawn") {
  ImageSet set = pattern_set(50, 8, 8);
  std::fill(set.pixels.begin(), set.pixels.end(), std::uint8_t(128));  // p ~ 0.5 everywhere

  auto first_row_of = [](Batcher<float>& b, std::size_t wanted) {
    std::vector<float> row;
    while (b.next())
      for (std::size_t r = 0; r < b.size(); ++r)
        if (b.indices()[r] == wanted) row.assign(b.x().data() + r * b.dim(), b.x().data() + (r + 1) * b.dim());
    return row;
  };

  Batcher<float> s(set, {.batch = 8, .seed = 1, .binarize = Binarize::static_, .binarize_seed = 7});
  std::vector<float> s1 = first_row_of(s, 3), s2 = first_row_of(s, 3);
  CHECK(s1 == s2);
  CHECK(std::all_of(s1.begin(), s1.end(), [](float v) { return v == 0.0f || v == 1.0f; }));
  // Same draws as binarizing the set once with that seed.
  ImageSet copy = set;
  binarize_static(copy, 7);
  for (std::size_t j = 0; j < s1.size(); ++j) CHECK(s1[j] == copy.image(3)[j] / 255.0f);
  ImageSet copy2 = set;
  binarize_static(copy2, 8);
  CHECK(copy2.pixels != copy.pixels);

  Batcher<float> d(set, {.batch = 8, .seed = 1, .binarize = Binarize::dynamic});
  std::vector<float> d1 = first_row_of(d, 3), d2 = first_row_of(d, 3);
  CHECK(d1 != d2);
  // Every pixel is redrawn: over 30 epochs each takes both values (p ~ 0.5).
  std::vector<float> lo = d1, hi = d1;
  for (int e = 0; e < 30; ++e) {
    std::vector<float> row = first_row_of(d, 3);
    for (std::size_t j = 0; j < row.size(); ++j) lo[j] = std::min(lo[j], row[j]), hi[j] = std::max(hi[j], row[j]);
  }
  CHECK(std::count(lo.begin(), lo.end(), 0.0f) == std::ptrdiff_t(lo.size()));
  CHECK(std::count(hi.begin(), hi.end(), 1.0f) == std::ptrdiff_t(hi.size()));
  CHECK(std::all_of(d1.begin(), d1.end(), [](float v) { return v == 0.0f || v == 1.0f; }));
  // Bernoulli(128/255): the mean over many pixel draws is close to p.
  double sum = 0;
  std::size_t n = 0;
  for (int e = 0; e < 20; ++e)
    while (d.next()) {
      sum += std::accumulate(d.x().begin(), d.x().end(), 0.0);
      n += d.x().size();
    }
  CHECK(sum / double(n) == doctest::Approx(128.0 / 255.0).epsilon(0.02));
}

namespace {

double residual_std(const vk::Matrix<double>& x, const vk::Matrix<double>& clean) {
  double ss = 0;
  for (std::size_t i = 0; i < x.size(); ++i) ss += (x.data()[i] - clean.data()[i]) * (x.data()[i] - clean.data()[i]);
  return std::sqrt(ss / double(x.size()));
}

}  // namespace

TEST_CASE("batcher: dequantized pixels lie in their bin, fixed by a seed or redrawn") {
  const ImageSet set = pattern_set(40, 8, 8);
  auto pass = [&](Batcher<double>& b) {  // the values of every row, by row index
    std::vector<double> v(set.count * set.dim());
    while (b.next())
      for (std::size_t r = 0; r < b.size(); ++r)
        std::copy(b.x().data() + r * b.dim(), b.x().data() + (r + 1) * b.dim(), v.begin() + b.indices()[r] * b.dim());
    return v;
  };
  Batcher<double> fixed(set, {.batch = 16, .shuffle = false, .binarize_seed = 3, .dequantize = Dequantize::static_});
  Batcher<double> fresh(set, {.batch = 16, .seed = 2, .dequantize = Dequantize::dynamic});
  const std::vector<double> f1 = pass(fixed), f2 = pass(fixed), d1 = pass(fresh), d2 = pass(fresh);
  CHECK(f1 == f2);
  CHECK(d1 != d2);
  double mean_u = 0;
  for (std::size_t e = 0; e < f1.size(); ++e) {
    const double v = set.pixels[e];
    for (double x : {f1[e], d1[e], d2[e]}) {
      CHECK(x > v / 256.0);  // (v + u) / 256 with 0 < u < 1: inside (0, 1) even for v = 0 or 255
      CHECK(x < (v + 1) / 256.0);
    }
    mean_u += (f1[e] * 256.0 - v) / double(f1.size());
  }
  CHECK(mean_u == doctest::Approx(0.5).epsilon(0.05));  // u is uniform on (0, 1)
  CHECK_THROWS_AS(Batcher<float>(set, {.binarize = Binarize::static_, .dequantize = Dequantize::static_}), DataError);
}

TEST_CASE("batcher: shards of each batch are its rows, drawn alike, and a position restores any shard") {
  const ImageSet set = pattern_set(43, 8, 8);
  // The whole batches and the shards of 3 ranks, with noise keyed by (seed, epoch, row).
  auto rows = [&](std::size_t shard, std::size_t shards, Binarize binarize, Dequantize dequantize) {
    Batcher<float> b(set, {.batch = 16, .seed = 5, .binarize = binarize, .dequantize = dequantize,
                           .shard = shard, .shards = shards});
    std::vector<std::pair<std::size_t, std::vector<float>>> out;  // (epoch * 100 + row, pixels) per row
    for (int epoch = 0; epoch < 2; ++epoch)
      while (b.next()) {
        CHECK(b.x().shape(0) == b.size());
        CHECK(b.size() == b.global_size() * (shard + 1) / shards - b.global_size() * shard / shards);
        for (std::size_t r = 0; r < b.size(); ++r)
          out.push_back({epoch * 100 + b.indices()[r], {b.x().data() + r * b.dim(), b.x().data() + (r + 1) * b.dim()}});
      }
    return out;
  };
  for (auto [binarize, dequantize] : {std::pair{Binarize::dynamic, Dequantize::none}, std::pair{Binarize::none, Dequantize::dynamic}}) {
    auto whole = rows(0, 1, binarize, dequantize);
    std::vector<std::pair<std::size_t, std::vector<float>>> joined;
    for (std::size_t s = 0; s < 3; ++s) {
      auto part = rows(s, 3, binarize, dequantize);
      joined.insert(joined.end(), part.begin(), part.end());
    }
    CHECK(joined.size() == whole.size());
    std::sort(whole.begin(), whole.end());
    std::sort(joined.begin(), joined.end());
    CHECK(joined == whole);  // each row of each epoch once, with the same pixels
  }
  // The second epoch draws other noise than the first.
  auto both = rows(0, 1, Binarize::none, Dequantize::dynamic);
  std::sort(both.begin(), both.end());
  CHECK(both[0].second != both[43].second);  // row 0 of epoch 1 and of epoch 2

  // A position saved by one shard continues on another: the same rows follow.
  Batcher<float> a(set, {.batch = 16, .seed = 5, .shard = 1, .shards = 2});
  a.next();
  a.next();
  Batcher<float> b(set, {.batch = 16, .seed = 5, .shard = 0, .shards = 1});
  b.restore(a.state());
  Batcher<float> c(set, {.batch = 16, .seed = 5});
  c.next();
  c.next();
  REQUIRE(b.next());
  REQUIRE(c.next());
  CHECK(std::vector<std::size_t>(b.indices().begin(), b.indices().end()) ==
        std::vector<std::size_t>(c.indices().begin(), c.indices().end()));
  CHECK_THROWS_AS(Batcher<float>(set, {.batch = 16, .shard = 2, .shards = 2}), DataError);
}

TEST_CASE("synthetic manifold: shapes, ground truth, noise sigma") {
  ManifoldData m = make_manifold({.count = 500, .intrinsic_dim = 3, .ambient_dim = 40, .noise_sigma = 0.05});
  CHECK(m.x.shape(0) == 500);
  CHECK(m.x.shape(1) == 40);
  CHECK(m.clean.shape(1) == 40);
  CHECK(m.latent.shape(1) == 3);
  CHECK(m.intrinsic_dim == 3);
  CHECK(m.noise_sigma == 0.05);
  CHECK(std::all_of(m.latent.begin(), m.latent.end(), [](double z) { return z >= -1 && z <= 1; }));
  CHECK(std::all_of(m.clean.begin(), m.clean.end(), [](double v) { return v > 0 && v < 1; }));
  CHECK(residual_std(m.x, m.clean) == doctest::Approx(0.05).epsilon(0.03));
  // The recorded map reproduces the clean points from the recorded latents.
  CHECK(residual_std(m.map(m.latent), m.clean) < 1e-12);
  // Same spec, same data; another map seed, another manifold.
  CHECK(make_manifold({.count = 5, .ambient_dim = 10}).x == make_manifold({.count = 5, .ambient_dim = 10}).x);
  CHECK(make_manifold({.count = 5, .ambient_dim = 10, .map_seed = 3}).clean !=
        make_manifold({.count = 5, .ambient_dim = 10}).clean);
  // Curved: the image of a latent midpoint is not the midpoint of the images.
  vk::Matrix<double> z = {{-0.9, -0.9, -0.9}, {0.9, 0.9, 0.9}, {0.0, 0.0, 0.0}};
  vk::Matrix<double> y = m.map(z);
  double bend = 0;
  for (std::size_t j = 0; j < 40; ++j) bend = std::max(bend, std::abs(y(2, j) - (y(0, j) + y(1, j)) / 2));
  CHECK(bend > 0.05);
}

TEST_CASE("synthetic swiss roll: embedding keeps the roll's geometry") {
  SwissRollData r = make_swiss_roll({.count = 400, .ambient_dim = 10, .noise_sigma = 0.2});
  CHECK(r.x.shape(0) == 400);
  CHECK(r.x.shape(1) == 10);
  CHECK(r.latent.shape(1) == 2);
  CHECK(r.intrinsic_dim == 2);
  for (std::size_t a = 0; a < 3; ++a)
    for (std::size_t b = 0; b < 3; ++b) {
      double dot = 0;
      for (std::size_t j = 0; j < 10; ++j) dot += r.embedding(a, j) * r.embedding(b, j);
      CHECK(dot == doctest::Approx(a == b ? 1.0 : 0.0));
    }
  for (std::size_t i = 0; i < 400; i += 37) {
    double t = r.latent(i, 0), h = r.latent(i, 1), norm2 = 0;
    for (std::size_t j = 0; j < 10; ++j) norm2 += r.clean(i, j) * r.clean(i, j);
    CHECK(norm2 == doctest::Approx(t * t + h * h));
    CHECK(t >= 1.5 * 3.14159);
    CHECK(t <= 4.5 * 3.1416);
  }
  CHECK(residual_std(r.x, r.clean) == doctest::Approx(0.2).epsilon(0.05));
  SwissRollData r3 = make_swiss_roll({.count = 10});
  CHECK(r3.x.shape(1) == 3);
  CHECK(r3.x(4, 0) == doctest::Approx(r3.latent(4, 0) * std::cos(r3.latent(4, 0))));
}

TEST_CASE("synthetic mixture: labels in range, components where recorded, batched with labels") {
  MixtureData m = make_mixture({.count = 3000, .classes = 4, .dim = 3, .component_sigma = 0.5, .seed = 11});
  CHECK(m.x.shape(0) == 3000);
  CHECK(m.means.shape(0) == 4);
  REQUIRE(m.labels.size() == 3000);
  std::vector<std::size_t> counts(4, 0);
  std::vector<double> ss(4, 0.0);
  for (std::size_t i = 0; i < 3000; ++i) {
    REQUIRE(m.labels[i] < 4);
    ++counts[m.labels[i]];
    for (std::size_t j = 0; j < 3; ++j) ss[m.labels[i]] += std::pow(m.x(i, j) - m.means(m.labels[i], j), 2);
  }
  for (std::size_t k = 0; k < 4; ++k) {
    CHECK(counts[k] > 600);
    CHECK(std::sqrt(ss[k] / double(3 * counts[k])) == doctest::Approx(0.5).epsilon(0.06));
  }

  Batcher<float> b(m.x, m.labels, m.classes, {.batch = 256, .seed = 2});
  REQUIRE(b.next());
  CHECK(b.x().shape(1) == 3);
  CHECK(b.y_onehot().shape(1) == 4);
  for (std::size_t r = 0; r < b.size(); ++r) {
    CHECK(b.labels()[r] == m.labels[b.indices()[r]]);
    CHECK(b.x()(r, 2) == doctest::Approx(m.x(b.indices()[r], 2)));
    CHECK(b.y_onehot()(r, b.labels()[r]) == 1.0f);
  }
  ManifoldData unlabelled = make_manifold({.count = 30, .ambient_dim = 5});
  Batcher<double> u(unlabelled.x, {}, 0, {.batch = 8});
  REQUIRE(u.next());
  CHECK(u.labels().empty());
  CHECK(u.y_onehot().shape(1) == 0);
  CHECK(u.x()(0, 0) == unlabelled.x(u.indices()[0], 0));
}
