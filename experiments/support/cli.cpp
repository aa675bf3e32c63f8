#include "experiments/support/cli.hpp"

#include <iostream>

namespace vk::support {

void report_error(std::string_view program, std::string_view message) {
  std::string line(program);
  line += ": ";
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  std::cerr << line << '\n' << std::flush;
}

void configure_help(CLI::App& app, std::string footer) {
  app.option_defaults()->always_capture_default();
  if (!footer.empty()) app.footer(std::move(footer));
}

}  // namespace vk::support
