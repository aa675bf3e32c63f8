// The three outputs of lecture-claims, all from the same Claim records: claims.json for programs,
// report.md for reading in a terminal or a repository, report.html for a browser.
#include <cmath>

#include <fmt/format.h>

#include "experiments/claims/claims.hpp"
#include "experiments/support/files.hpp"

namespace vk::claims {

namespace {

using nlohmann::json;

std::string number(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "–"; }

std::string per_seed_text(const Spread& s) {
  std::string out;
  for (double v : s.per_seed) out += (out.empty() ? "" : ", ") + number(v);
  return out;
}

json claims_json(const std::vector<Claim>& claims, const Settings& s, double seconds) {
  json list = json::array();
  for (const Claim& c : claims) {
    json figures = json::array();
    for (const auto& [name, spread] : c.figures) {
      json f = to_json(spread);
      f["name"] = name;
      figures.push_back(f);
    }
    std::vector<std::size_t> seeds;
    for (std::size_t i = 1; i <= s.seeds; ++i) seeds.push_back(i);
    list.push_back({{"id", c.id}, {"slug", c.slug}, {"statement", c.statement}, {"settings", c.settings},
                    {"seeds", seeds}, {"figures", figures}, {"verdict", name(c.verdict)}, {"rule", c.rule},
                    {"summary", c.summary}});
  }
  return {{"program", "lecture-claims"}, {"settings", s.to_json()}, {"seconds", seconds},
          {"spread", "each figure: mean and sample standard deviation over the seeds, and every seed's value"},
          {"claims", list}};
}

std::string markdown(const std::vector<Claim>& claims, const Settings& s, double seconds) {
  std::string md = fmt::format("# The lecture, measured\n\n`lecture-claims{}` with {} seed(s), {} training images, "
                               "{} epochs, in {:.0f} s. Figures are the mean ± standard deviation over seeds.\n\n"
                               "| claim | verdict | measured |\n| --- | --- | --- |\n",
                               s.quick ? " --quick" : "", s.seeds, s.train_limit, s.epochs, seconds);
  for (const Claim& c : claims) md += fmt::format("| {}. {} | {} | {} |\n", c.id, c.slug, name(c.verdict), c.summary);
  for (const Claim& c : claims) {
    md += fmt::format("\n## {}. {}\n\n{}\n\n**Verdict: {}.** Rule: {}\n\n| figure | mean | sd | per seed |\n"
                      "| --- | ---: | ---: | --- |\n", c.id, c.slug, c.statement, name(c.verdict), c.rule);
    for (const auto& [n, v] : c.figures)
      md += fmt::format("| {} | {} | {} | {} |\n", n, number(v.mean), number(v.sd), per_seed_text(v));
  }
  return md;
}

report::Page page(const std::vector<Claim>& claims, const Settings& s, double seconds) {
  report::Page p("The lecture, measured");
  p.paragraph(fmt::format("lecture-claims{}: {} seed(s), {} Fashion-MNIST training images, {} epochs per model, "
                          "{:.0f} s. Each figure is the mean ± standard deviation over seeds; each verdict follows "
                          "the rule printed under it.", s.quick ? " --quick" : "", s.seeds, s.train_limit, s.epochs,
                          seconds));
  std::vector<std::vector<std::string>> rows;
  for (const Claim& c : claims) rows.push_back({std::to_string(c.id), c.slug, name(c.verdict), c.summary});
  p.table({"claim", "name", "verdict", "measured"}, rows);
  for (const Claim& c : claims) {
    p.heading(fmt::format("{}. {} — {}", c.id, c.slug, name(c.verdict)));
    p.paragraph(c.statement);
    rows.clear();
    for (const auto& [n, v] : c.figures) rows.push_back({n, number(v.mean), number(v.sd), per_seed_text(v)});
    p.table({"figure", "mean", "sd", "per seed"}, rows);
    p.paragraph("Rule: " + c.rule);
    for (const Figure& f : c.pictures) {
      if (f.png.empty()) p.svg(f.id, f.svg, f.caption);
      else p.png(f.id, f.png, f.caption);
    }
  }
  return p;
}

}  // namespace

void write_outputs(const std::filesystem::path& dir, const std::vector<Claim>& claims, const Settings& s,
                   double seconds) {
  support::write_json_atomic(dir / "claims.json", claims_json(claims, s, seconds));
  support::write_text_atomic(dir / "report.md", markdown(claims, s, seconds));
  report::write_page(dir / "report.html", page(claims, s, seconds));
}

}  // namespace vk::claims
