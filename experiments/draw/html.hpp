// A self-contained HTML page: escaped text, tables, inline SVG and PNGs embedded as data: URIs, so
// a report opens from disk with no network. The run report (report/run_report) and any other
// report page build on it. The page is a pure function of what was added (no time, no paths of its
// own), so a page rebuilt from the same files is the same bytes.
//
// Every figure is a <figure>; a small script in the page checks after loading that each one drew
// (an <img> decoded with a width, an <svg> with content) and sets <html data-report-status> to
// "ready" only then and only if no script error or console.error/console.warn happened; otherwise
// to "failed", with the reasons in <pre id="report-errors">. The browser test reads that marker.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vk::report {

// Text for HTML content or a quoted attribute value: & < > " ' escaped.
std::string escape(std::string_view text);
// RFC 4648 base64 with padding.
std::string base64(std::span<const std::uint8_t> bytes);

// A complete <svg> element, made by report/charts (its text already escaped).
struct Svg {
  std::string markup;
};

class Page {
 public:
  explicit Page(std::string title);

  // Text arguments are plain text: they are escaped here.
  Page& heading(std::string_view text);     // <h2>
  Page& subheading(std::string_view text);  // <h3>
  Page& paragraph(std::string_view text);
  // A table with a header row; each row has the header's width (throws std::invalid_argument).
  // Cells that look like numbers are right-aligned.
  Page& table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  // A link to a file beside the page (href escaped, not otherwise changed).
  Page& link(std::string_view text, std::string_view href);
  // Figures: a PNG file's bytes embedded as a data: URI, or an inline chart, with a caption.
  // id names the figure in the page (and in the marker script's reasons).
  Page& png(std::string_view id, std::span<const std::uint8_t> png_bytes, std::string_view caption);
  Page& svg(std::string_view id, const Svg& chart, std::string_view caption);

  std::size_t figures() const { return figures_; }
  std::string html() const;

 private:
  Page& figure(std::string_view id, const std::string& content, std::string_view caption);
  Page& add(const std::string& html);  // any block but a figure: ends a row of figures
  std::string title_;
  std::string body_;
  bool in_figures_ = false;
  std::size_t figures_ = 0;
};

// Writes page.html() to path atomically (a temporary sibling renamed into place). Throws IoError.
void write_page(const std::filesystem::path& path, const Page& page);

}  // namespace vk::report
