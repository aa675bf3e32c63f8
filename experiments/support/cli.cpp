#include "experiments/support/cli.hpp"

#include <cstdint>
#include <iostream>
#include <stdexcept>

#include <CLI/CLI.hpp>

namespace vk::support {

void report_error(std::string_view program, std::string_view message) {
  std::string line(program);
  line += ": ";
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  std::cerr << line << '\n' << std::flush;
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

template <class T>
Command& Command::option(const std::string& flags, T& value, const std::string& help) {
  impl_->last = impl_->app.add_option(flags, value, help);
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
  impl_->last_option().check(CLI::Range(lo, hi));
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
  } catch (const CLI::CallForHelp& e) {
    return impl_->app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return impl_->app.exit(e);
  } catch (const CLI::ParseError& e) {
    report_error(name_, std::string(e.what()) + " (run with --help for usage)");
    return e.get_exit_code() == 0 ? 1 : e.get_exit_code();
  }
}

}  // namespace vk::support
