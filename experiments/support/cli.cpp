#include "experiments/support/cli.hpp"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "distributed/comm.hpp"

namespace vk::support {

void report_error(std::string_view program, std::string_view message) {
  std::string line(program);
  line += ": ";
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  std::cerr << line << '\n' << std::flush;
}

int fail_main(std::string_view program, std::string_view message) {
  if (dist::size() > 1) {
    std::string line;
    for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
    dist::abort_all(program, line, 1);
  }
  report_error(program, message);
  return 1;
}

struct Command::Impl {
  Impl(std::string description, std::string name) : app(std::move(description), std::move(name)) {}
  CLI::App app;
  CLI::Option* last = nullptr;

  CLI::Option& last_option() {
    if (!last) throw std::logic_error("no option has been added yet");
    return *last;
  }
};

Command::Command(std::string name, std::string description, std::string footer)
    : name_(name), impl_(std::make_unique<Impl>(std::move(description), std::move(name))) {
  impl_->app.option_defaults()->always_capture_default();
  if (!footer.empty()) impl_->app.footer(std::move(footer));
}

Command::~Command() = default;

namespace {

// CLI11 reads "-1" into a std::size_t as 2^64 - 1 and takes "nan" and "inf" for numbers: every
// count and size must be a plain whole number, and every real finite.
template <class T>
CLI::Validator value_check() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        if constexpr (std::is_integral_v<T>) {
          const bool negative_ok = std::is_signed_v<T> && !s.empty() && s[0] == '-';
          const std::string digits = negative_ok ? s.substr(1) : s;
          if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
            return "'" + s + "' is not a whole number" + (std::is_signed_v<T> ? "" : " (0, 1, 2, ...)");
          errno = 0;
          const unsigned long long v = std::strtoull(digits.c_str(), nullptr, 10);
          if (errno == ERANGE || v > static_cast<unsigned long long>(std::numeric_limits<T>::max()))
            return "'" + s + "' is too large";
        } else if constexpr (std::is_floating_point_v<T>) {
          char* end = nullptr;
          const double v = std::strtod(s.c_str(), &end);
          if (s.empty() || *end != '\0' || !std::isfinite(v)) return "'" + s + "' is not a finite number";
        }
        return {};
      },
      "");
}

}  // namespace

template <class T>
Command& Command::option(const std::string& flags, T& value, const std::string& help) {
  impl_->last = impl_->app.add_option(flags, value, help);
  if constexpr (!std::is_same_v<T, std::string>) impl_->last->check(value_check<T>());
  return *this;
}

template Command& Command::option(const std::string&, std::string&, const std::string&);
template Command& Command::option(const std::string&, int&, const std::string&);
template Command& Command::option(const std::string&, std::size_t&, const std::string&);
template Command& Command::option(const std::string&, double&, const std::string&);
template Command& Command::option(const std::string&, float&, const std::string&);
static_assert(std::is_same_v<std::uint64_t, std::size_t>, "seeds are std::uint64_t options");

Command& Command::flag(const std::string& flags, bool& value, const std::string& help) {
  impl_->last = impl_->app.add_flag(flags, value, help);
  return *this;
}

Command& Command::required() {
  impl_->last_option().required();
  return *this;
}

Command& Command::range(double lo, double hi) {
  impl_->last_option().check(CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        const double v = std::strtod(s.c_str(), nullptr);
        if (v >= lo && v <= hi) return {};
        char text[96];
        std::snprintf(text, sizeof text, "must be between %g and %g, got %s", lo, hi, s.c_str());
        return text;
      },
      ""));
  return *this;
}

std::vector<std::string> Command::given() const {
  std::vector<std::string> names;
  for (const CLI::Option* o : impl_->app.get_options())
    if (o->count() > 0) names.push_back(o->get_name());
  return names;
}

std::optional<int> Command::parse(int argc, char** argv) {
  try {
    impl_->app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same flags: rank 0 speaks for them.
    if (!dist::is_root()) return e.get_exit_code() == 0 ? 0 : e.get_exit_code();
    if (dynamic_cast<const CLI::CallForHelp*>(&e) || dynamic_cast<const CLI::CallForAllHelp*>(&e))
      return impl_->app.exit(e);
    report_error(name_, std::string(e.what()) + " (run with --help for usage)");
    return e.get_exit_code() == 0 ? 1 : e.get_exit_code();
  }
}

}  // namespace vk::support
