#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/draw/charts.hpp"
#include "experiments/report/comparison_report.hpp"
#include "experiments/draw/html.hpp"
#include "experiments/report/run_report.hpp"
#include "experiments/draw/image.hpp"
#include "experiments/draw/png.hpp"
#include "tests/files.hpp"

namespace fs = std::filesystem;
namespace rp = vk::report;
using nlohmann::json;
using vk::test::contains;
using vk::test::io_error_of;
using vk::test::read_text;
using vk::test::write_text;
using vk::test::TempDir;

namespace {

std::size_t count(const std::string& s, const std::string& part) {
  std::size_t n = 0;
  for (auto at = s.find(part); at != std::string::npos; at = s.find(part, at + 1)) ++n;
  return n;
}

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// A run folder as vae-train leaves it, with made-up numbers and one small picture.
void fake_run(const fs::path& dir, const std::string& metrics) {
  fs::create_directories(dir);
  write_text(dir / "config.json", json{{"model", {{"objective", "vae"}, {"likelihood", "gaussian"}, {"sigma", "learned"},
                                                   {"latent", 2}, {"hidden", {8}}}},
                                       {"training", {{"epochs", 3}, {"batch", 16}, {"seed", 5}}},
                                       {"data", {{"dir", "/data/<fashion> & \"mnist\""}}}}
                                      .dump());
  write_text(dir / "metrics.jsonl", metrics);
  write_text(dir / "final.json", json{{"test_nelbo", -12.5}, {"active_units", 1}, {"sigma2", 0.02},
                                      {"latent_variance", {0.5, 0.001}}}
                                     .dump());
  vk::support::Image img(3, 2);
  img.set_pixel(1, 1, vk::support::kBlack);
  vk::support::write_png(dir / "samples.png", img);
}

const std::string kMetrics =
    "{\"epoch\": 1, \"train_loss\": 10, \"test_nelbo\": 9, \"train_rec\": 8, \"test_rec\": 7, \"train_kl\": 2, "
    "\"test_kl\": 2, \"sigma2\": 0.1}\n"
    "{\"epoch\": 2, \"train_loss\": 5, \"test_nelbo\": 4.5, \"train_rec\": 3, \"test_rec\": 2.5, \"train_kl\": 2, "
    "\"test_kl\": 2, \"sigma2\": 0.05}\n";

}  // namespace

TEST_CASE("escape makes text safe in content and quoted attributes") {
  CHECK(rp::escape("a<b>&\"c\"'d'") == "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;");
  CHECK(rp::escape("plain σ² text") == "plain σ² text");
}

TEST_CASE("base64 gives RFC 4648's test vectors") {
  const char* vectors[][2] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
                              {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) CHECK(rp::base64(bytes(plain)) == encoded);
  const std::vector<std::uint8_t> high{0xff, 0xfe, 0x00};
  CHECK(rp::base64(high) == "//4A");
}

TEST_CASE("a page escapes its text, embeds PNGs and counts its figures") {
  rp::Page page("<run> & co");
  page.heading("h <2>").paragraph("1 < 2").table({"a", "b"}, {{"x<y", "-1.5e3"}});
  page.png("fig<1>", bytes("\x89PNG"), "caption & more");
  page.svg("fig2", rp::Svg{"<svg><rect width=\"1\" height=\"1\"/></svg>"}, "chart");
  const std::string html = page.html();
  CHECK(page.figures() == 2);
  CHECK(contains(html, "<title>&lt;run&gt; &amp; co</title>"));
  CHECK(contains(html, "<h2>h &lt;2&gt;</h2>"));
  CHECK(contains(html, "<td>x&lt;y</td><td class=\"num\">-1.5e3</td>"));
  CHECK(contains(html, "src=\"data:image/png;base64,iVBORw==\""));
  CHECK(contains(html, "<figure id=\"fig&lt;1&gt;\">"));
  CHECK(contains(html, "<figcaption>caption &amp; more</figcaption>"));
  // Both figures in one row, and every opened block closed.
  CHECK(count(html, "<div class=\"figures\">") == 1);
  CHECK(count(html, "<div") == count(html, "</div>"));
  CHECK(contains(html, "data-report-status"));
  CHECK_THROWS_AS(page.table({"a", "b"}, {{"only one"}}), std::invalid_argument);
}

TEST_CASE("line_chart draws each series with its points, ticks and a gap for a missing value") {
  const rp::Svg chart = rp::line_chart({{"train", {1, 2, 3, 4}, {0, 5, NAN, 10}}, {"test", {1, 2, 3, 4}, {1, 2, 3, 4}}},
                                       {"epoch", "nats <per> image", false, true});
  const std::string& s = chart.markup;
  CHECK(s.starts_with("<svg"));
  CHECK(s.ends_with("</svg>"));
  CHECK(count(s, "<circle") == 3 + 4);
  CHECK(count(s, "<path") == 2);
  CHECK(count(s, " M") + count(s, "\"M") == 3);  // train breaks at the NaN
  CHECK(contains(s, ">nats &lt;per&gt; image</text>"));
  for (const char* tick : {">0<", ">5<", ">10<", ">1<", ">4<"}) CHECK(contains(s, tick));
  CHECK(!contains(s, ">1.5<"));  // whole epochs only
  CHECK(!contains(s, "nan"));
  // Higher values are drawn higher up: the y of train's 10 is the smallest of its points.
  std::smatch m;
  std::vector<double> ys;
  for (std::string rest = s; std::regex_search(rest, m, std::regex("cy=\"([0-9.]+)\"")); rest = m.suffix())
    ys.push_back(std::stod(m[1]));
  REQUIRE(ys.size() == 7);
  CHECK(ys[0] > ys[1]);
  CHECK(ys[1] > ys[2]);
  CHECK_THROWS_AS(rp::line_chart({{"none", {1}, {NAN}}}, {}), std::invalid_argument);
  CHECK_THROWS_AS(rp::line_chart({{"bad", {1, 2}, {1}}}, {}), std::invalid_argument);
}

TEST_CASE("a log axis ticks decades and leaves out values it cannot draw") {
  const rp::Svg chart = rp::bar_chart({0.5, 0.0, 2e-3}, {"dimension", "variance", true, true}, 0.01, "threshold");
  CHECK(count(chart.markup, "<rect x=") == 1 + 2);  // the frame and two bars: zero has none on a log axis
  for (const char* tick : {">0.001<", ">0.01<", ">0.1<", ">1<"}) CHECK(contains(chart.markup, tick));
  CHECK(contains(chart.markup, "stroke-dasharray"));
  CHECK(contains(chart.markup, ">threshold</text>"));
  CHECK_THROWS_AS(rp::bar_chart({0.0, -1.0}, {"d", "v", true, false}), std::invalid_argument);
}

TEST_CASE("run_report shows a run folder's numbers, curves and pictures, the same bytes every time") {
  TempDir tmp;
  const fs::path run = tmp / "run";
  fake_run(run, kMetrics);
  rp::write_run_report(run);
  const std::string html = read_text(run / "report.html");
  for (const char* id : {"curve-nelbo", "curve-reconstruction", "curve-kl", "curve-sigma2", "final-latent-activity",
                         "samples"})
    CHECK_MESSAGE(contains(html, std::string("<figure id=\"") + id + "\">"), id);
  CHECK(!contains(html, "interpolations"));  // not in the folder
  CHECK(!contains(html, "eval-latent-activity"));
  const std::string png = read_text(run / "samples.png");
  CHECK(contains(html, "data:image/png;base64," + rp::base64(bytes(png)) + "\""));
  CHECK(contains(html, "/data/&lt;fashion&gt; &amp; &quot;mnist&quot;"));
  CHECK(contains(html, "<td>test_nelbo</td><td class=\"num\">-12.5</td>"));
  CHECK(!contains(html, "<td>latent_variance</td>"));  // drawn, not listed
  CHECK(rp::run_report(run).html() == html);

  // vae-eval's numbers join the page.
  write_text(run / "eval.json", json{{"test_nelbo", -12.4}, {"iw_nll", -13.0}, {"latent_variance", {0.4, 0.002}}}.dump());
  const std::string with_eval = rp::run_report(run).html();
  CHECK(contains(with_eval, "<figure id=\"eval-latent-activity\">"));
  CHECK(contains(with_eval, "<td>iw_nll</td>"));
}

TEST_CASE("run_report names the file and line of bad input and leaves no page behind") {
  TempDir tmp;
  CHECK(contains(io_error_of([&] { rp::write_run_report(tmp / "empty"); }), "not a run folder (no config.json)"));
  const fs::path run = tmp / "run";
  fake_run(run, kMetrics + "{\"epoch\": 3, \"train_loss\": \n");
  CHECK(contains(io_error_of([&] { rp::write_run_report(run); }), "metrics.jsonl:3: malformed JSON"));
  CHECK(!fs::exists(run / "report.html"));
  write_text(run / "metrics.jsonl", kMetrics);
  write_text(run / "final.json", "{\"test_nelbo\": ");
  CHECK(contains(io_error_of([&] { rp::write_run_report(run); }), "final.json: malformed JSON"));
  write_text(run / "final.json", "{}");
  write_text(run / "config.json", "{\"training\": {}}");
  CHECK(contains(io_error_of([&] { rp::write_run_report(run); }), "config.json: not a run's settings"));
  for (const auto& e : fs::directory_iterator(run)) CHECK_MESSAGE(!contains(e.path().string(), ".tmp"), e.path());
}

TEST_CASE("comparison_report tables the variants and shows each one's samples by class") {
  TempDir tmp;
  const fs::path dir = tmp / "cc";
  fake_run(dir / "prior-gaussian", kMetrics);
  fs::copy_file(dir / "prior-gaussian" / "samples.png", dir / "prior-gaussian" / "samples_by_class.png");
  json variants = json::array();
  variants.push_back({{"variant", "prior-gaussian"}, {"likelihood", "gaussian"}, {"test_nelbo", -595.371},
                      {"iw_nll", nullptr}, {"active_units", 20}});
  variants.push_back({{"variant", "vae-<b>"}, {"likelihood", "bernoulli"}, {"test_nelbo", 245.75}});
  write_text(dir / "comparison.json", json{{"epochs", 5}, {"seed", 1}, {"iw_samples", 100}, {"iw_images", 1000},
                                           {"samples_per_class", 1000}, {"classifier_test_accuracy", 0.8655},
                                           {"variants", variants}}
                                          .dump());
  rp::write_comparison_report(dir);
  const std::string html = read_text(dir / "report.html");
  CHECK(contains(html, "<td>prior-gaussian</td><td>gaussian</td><td class=\"num\">-595.371</td><td class=\"num\">–</td>"));
  CHECK(contains(html, "<td>vae-&lt;b&gt;</td>"));
  CHECK(contains(html, "<figure id=\"prior-gaussian\"><img"));
  CHECK(!contains(html, "<figure id=\"vae-&lt;b&gt;\">"));  // it has no picture
  CHECK(contains(html, "<a href=\"prior-gaussian/report.html\">"));
  CHECK(rp::comparison_report(dir).html() == html);
  write_text(dir / "comparison.json", "{\"epochs\": 5}");
  CHECK(contains(io_error_of([&] { rp::write_comparison_report(dir); }), "comparison.json: not a comparison"));
  CHECK(contains(io_error_of([&] { rp::write_comparison_report(tmp / "none"); }), "no comparison.json"));
}
