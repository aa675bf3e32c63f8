// ModelConfig: validation, the image shape, names and the JSON of config.json, on the same tiny
// configurations as test_vae.cpp.
#include <doctest/doctest.h>

#include "tests/vae_fixtures.hpp"

using namespace vk;
using namespace vk::vae;
using namespace vk::test_vae;

TEST_CASE("ModelConfig::validate rejects bad settings") {
  CHECK_NOTHROW(small_config("vae").validate());
  CHECK_NOTHROW(small_config("cvae").validate());

  ModelConfig c = small_config("vae");
  c.latent = 0;
  CHECK_THROWS_AS(c.validate(), std::invalid_argument);
  CHECK_THROWS_AS(make_model<float>(c, 1), std::invalid_argument);

  for (const double bad : {0.0, -0.5}) {
    c = small_config("vae", LikelihoodKind::gaussian, Sigma::fixed);
    c.fixed_sigma2 = bad;
    CHECK_THROWS_AS(c.validate(), std::invalid_argument);
  }

  c = small_config("cvae");
  c.classes = 0;
  CHECK_THROWS_AS(c.validate(), std::invalid_argument);

  c = small_config("vae");
  c.classes = 3;
  CHECK_THROWS_AS(c.validate(), std::invalid_argument);

  // The discretized logistic: a VAE kind's likelihood, its mixture only with it.
  c = small_config("ae", LikelihoodKind::logistic);
  CHECK_THROWS_WITH_AS(c.validate(), "--likelihood logistic is the p(x|z) of a VAE kind; --model ae has none", std::invalid_argument);
  c = small_config("flow", LikelihoodKind::logistic);
  CHECK_THROWS_AS(c.validate(), std::invalid_argument);
  c = small_config("vae");
  c.logistic_mixture = 3;
  CHECK_THROWS_WITH_AS(c.validate(), "--logistic-mixture is for --likelihood logistic", std::invalid_argument);
  c = small_config("vae", LikelihoodKind::logistic);
  for (const std::size_t k : {std::size_t(0), std::size_t(33)}) {
    c.logistic_mixture = k;
    CHECK_THROWS_AS(c.validate(), std::invalid_argument);
  }
  c.logistic_mixture = 32;
  CHECK_NOTHROW(c.validate());
  c = small_config("vae");
  c.image = vk::image(3, 4, 4);  // 48 values, the input 64
  CHECK_THROWS_AS(c.validate(), std::invalid_argument);
}

TEST_CASE("the image shape: recorded, or a square grey image; --arch conv names the shapes it is built for") {
  ModelConfig c = small_config("vae");
  CHECK(c.image_shape() == vk::image(1, kSide, kSide));
  c.input_dim = 10;
  CHECK(c.image_shape() == vk::image(1, 1, 10));
  c.input_dim = 2 * 5 * 3;
  c.image = vk::image(3, 2, 5);
  CHECK(c.image_shape() == vk::image(3, 2, 5));
  CHECK(model_config_from_json(to_json(c)).image == c.image);
  nlohmann::json old = to_json(c);  // a run folder from before image shapes
  old.erase("image");
  old["input_dim"] = 784;
  CHECK(model_config_from_json(old).image_shape() == vk::image(1, 28, 28));

  c = small_config("vae");
  c.architecture = Architecture::conv;
  c.hidden = {};
  std::string why;
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    why = e.what();
  }
  CHECK(why == "--arch conv is built for 28x28x1 and 32x32x3 images (height x width x channels); the data are 8x8x1");
  // The decoder gives the likelihood's values for every pixel and colour: one, or the discretized
  // logistic's parameters.
  for (const LikelihoodKind lik : {LikelihoodKind::bernoulli, LikelihoodKind::logistic})
    for (const vk::Shape shape : {vk::image(1, 28, 28), vk::image(3, 32, 32)}) {
      c.likelihood = lik;
      c.input_dim = shape.size();
      c.image = shape;
      CAPTURE(shape.text());
      CAPTURE(std::string(name(lik)));
      const auto model = make_model<float>(c, 1);
      Tape<float> tape;
      NoGradGuard guard(tape);
      Matrix<float> x = Matrix<float>::from_shape({2, shape.size()});
      std::fill(x.begin(), x.end(), 0.5f);
      const Var<float> decoded = model->decode(model->encode(tape.constant(x), std::nullopt).mu, std::nullopt);
      CHECK(decoded.rows() == 2);
      CHECK(decoded.cols() == shape.size() * c.decoder_channels());
      if (lik == LikelihoodKind::logistic) CHECK(c.decoder_channels() > 1);
    }
}

TEST_CASE("model kinds, parse_likelihood and parse_sigma: names round trip, unknown names list the valid ones") {
  for (const KindInfo& k : kinds()) CHECK(std::string(kind_info(k.name).name) == k.name);
  for (LikelihoodKind l : {LikelihoodKind::gaussian, LikelihoodKind::bernoulli, LikelihoodKind::logistic})
    CHECK(parse_likelihood(name(l)) == l);
  for (Sigma s : {Sigma::learned, Sigma::per_pixel, Sigma::optimal, Sigma::fixed}) CHECK(parse_sigma(name(s)) == s);

  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(no std::invalid_argument)";
  };
  const std::string objective = message([] { kind_info("gan"); });
  CAPTURE(objective);
  CHECK(objective.find("gan") != std::string::npos);
  for (const char* n : {"ae", "rae", "vae", "cvae", "hvae"}) CHECK(objective.find(n) != std::string::npos);

  const std::string likelihood = message([] { parse_likelihood("poisson"); });
  CAPTURE(likelihood);
  CHECK(likelihood.find("poisson") != std::string::npos);
  for (const char* n : {"gaussian", "bernoulli", "logistic"}) CHECK(likelihood.find(n) != std::string::npos);

  const std::string sigma = message([] { parse_sigma("adaptive"); });
  CAPTURE(sigma);
  CHECK(sigma.find("adaptive") != std::string::npos);
  for (const char* n : {"learned", "per-pixel", "optimal", "fixed"}) CHECK(sigma.find(n) != std::string::npos);
}

TEST_CASE("model_config_from_json(to_json(c)) round-trips every field") {
  ModelConfig c;  // every field away from its default
  c.kind = "cvae";
  c.likelihood = LikelihoodKind::bernoulli;
  c.sigma = Sigma::per_pixel;
  c.fixed_sigma2 = 0.37;
  c.min_sigma2 = 2.5e-4;
  c.input_dim = 48;
  c.hidden = {24, 12};
  c.latent = 3;
  c.activation = Op::elu;
  c.lambda = 0.25;
  c.classes = 5;
  const ModelConfig d = model_config_from_json(nlohmann::json::parse(to_json(c).dump()));
  ModelConfig logistic = small_config("vae", LikelihoodKind::logistic);
  logistic.logistic_mixture = 5;
  const ModelConfig read = model_config_from_json(nlohmann::json::parse(to_json(logistic).dump()));
  CHECK(read.likelihood == LikelihoodKind::logistic);
  CHECK(read.logistic_mixture == 5);
  CHECK_FALSE(to_json(c).contains("logistic_mixture"));  // written only where it is read
  CHECK(d.kind == c.kind);
  CHECK(d.likelihood == c.likelihood);
  CHECK(d.sigma == c.sigma);
  CHECK(d.fixed_sigma2 == c.fixed_sigma2);
  CHECK(d.min_sigma2 == c.min_sigma2);
  CHECK(d.input_dim == c.input_dim);
  CHECK(d.hidden == c.hidden);
  CHECK(d.latent == c.latent);
  CHECK(d.activation == c.activation);
  CHECK(d.lambda == c.lambda);
  CHECK(d.classes == c.classes);

  nlohmann::json missing = to_json(c);
  missing.erase("latent");
  CHECK_THROWS_AS(model_config_from_json(missing), std::invalid_argument);
  nlohmann::json invalid = to_json(c);
  invalid["classes"] = 0;  // a cvae without labels
  CHECK_THROWS_AS(model_config_from_json(invalid), std::invalid_argument);
}
