#include "experiments/draw/html.hpp"

#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

#include "experiments/support/files.hpp"

namespace vk::report {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  return out;
}

std::string base64(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = unsigned(bytes[i]) << 16 | unsigned(bytes[i + 1]) << 8 | bytes[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kDigits[v >> s & 63];
  }
  if (const std::size_t rest = bytes.size() - i) {
    const unsigned v = unsigned(bytes[i]) << 16 | (rest == 2 ? unsigned(bytes[i + 1]) << 8 : 0u);
    out += kDigits[v >> 18 & 63];
    out += kDigits[v >> 12 & 63];
    out += rest == 2 ? kDigits[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

namespace {

bool numeric(const std::string& cell) {
  if (cell == "–") return true;
  if (cell.empty()) return false;
  char* end = nullptr;
  std::strtod(cell.c_str(), &end);
  return end == cell.c_str() + cell.size();
}

constexpr std::string_view kStyle = R"(
body { font-family: sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.2em 0.8em; text-align: left; }
td:first-child { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
figure { margin: 0; max-width: 100%; }
figure img { max-width: 100%; image-rendering: pixelated; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; max-width: 560px; }
#report-errors { color: #b00; white-space: pre-wrap; }
)";

// Sets <html data-report-status> to "ready" once every figure drew and nothing complained (see
// html.hpp); it runs first in <head> so that it sees every error after it.
constexpr std::string_view kMarkerScript = R"(
(function () {
  var errors = [];
  function note(message) { errors.push(String(message)); }
  window.addEventListener('error', function (e) {
    var t = e.target;
    note(t && t.tagName ? 'did not load: <' + t.tagName.toLowerCase() + '> in ' + (t.closest('figure') || {}).id
                        : 'script error: ' + e.message);
  }, true);
  window.addEventListener('unhandledrejection', function (e) { note('unhandled rejection: ' + e.reason); });
  ['error', 'warn'].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      note('console.' + level + ': ' + Array.prototype.join.call(arguments, ' '));
      original.apply(console, arguments);
    };
  });
  window.addEventListener('load', function () {
    var figures = document.querySelectorAll('figure'), drawn = 0;
    figures.forEach(function (f) {
      var img = f.querySelector('img'), svg = f.querySelector('svg'), ok = false;
      if (img) ok = img.complete && img.naturalWidth > 0;
      else if (svg) { var box = svg.getBBox(); ok = svg.childElementCount > 0 && box.width > 0 && box.height > 0; }
      if (ok) drawn++; else note('figure ' + f.id + ' did not draw');
    });
    var root = document.documentElement, box = document.getElementById('report-errors');
    root.setAttribute('data-figures-drawn', drawn + ' of ' + figures.length);
    root.setAttribute('data-page-height', document.documentElement.scrollHeight);
    box.textContent = errors.join('\n');
    box.hidden = errors.length === 0;
    root.setAttribute('data-report-status', errors.length === 0 && drawn === figures.length ? 'ready' : 'failed');
  });
})();
)";

}  // namespace

Page::Page(std::string title) : title_(std::move(title)) {}

Page& Page::heading(std::string_view text) {
  return add(fmt::format("<h2>{}</h2>\n", escape(text)));
}

Page& Page::subheading(std::string_view text) {
  return add(fmt::format("<h3>{}</h3>\n", escape(text)));
}

Page& Page::paragraph(std::string_view text) {
  return add(fmt::format("<p>{}</p>\n", escape(text)));
}

Page& Page::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string html = "<table>\n<tr>";
  for (const auto& h : header) html += fmt::format("<th>{}</th>", escape(h));
  html += "</tr>\n";
  for (const auto& row : rows) {
    if (row.size() != header.size())
      throw std::invalid_argument(fmt::format("report table: a row of {} cells under {} columns", row.size(), header.size()));
    html += "<tr>";
    for (const auto& cell : row) html += (numeric(cell) ? "<td class=\"num\">" : "<td>") + escape(cell) + "</td>";
    html += "</tr>\n";
  }
  return add(html + "</table>\n");
}

Page& Page::link(std::string_view text, std::string_view href) {
  return add(fmt::format("<p><a href=\"{}\">{}</a></p>\n", escape(href), escape(text)));
}

Page& Page::figure(std::string_view id, const std::string& content, std::string_view caption) {
  if (!in_figures_) body_ += "<div class=\"figures\">\n";  // consecutive figures share one wrapping row
  in_figures_ = true;
  body_ += fmt::format("<figure id=\"{}\">{}<figcaption>{}</figcaption></figure>\n", escape(id), content, escape(caption));
  ++figures_;
  return *this;
}

Page& Page::add(const std::string& html) {
  if (in_figures_) body_ += "</div>\n";
  in_figures_ = false;
  body_ += html;
  return *this;
}

Page& Page::png(std::string_view id, std::span<const std::uint8_t> png_bytes, std::string_view caption) {
  return figure(id, fmt::format("<img alt=\"{}\" src=\"data:image/png;base64,{}\">", escape(id), base64(png_bytes)),
                caption);
}

Page& Page::svg(std::string_view id, const Svg& chart, std::string_view caption) {
  return figure(id, chart.markup, caption);
}

std::string Page::html() const {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n"
      "<style>{1}</style>\n<script>{2}</script>\n</head>\n<body>\n<h1>{0}</h1>\n"
      "<pre id=\"report-errors\" hidden></pre>\n{3}</body>\n</html>\n",
      escape(title_), kStyle, kMarkerScript, in_figures_ ? body_ + "</div>\n" : body_);
}

void write_page(const std::filesystem::path& path, const Page& page) { support::write_text_atomic(path, page.html()); }

}  // namespace vk::report
