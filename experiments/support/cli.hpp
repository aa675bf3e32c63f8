// The frame of every experiment program: parse the command line with CLI11, run, and turn any
// failure into one line "program: message" on stderr and a non-zero exit code instead of a crash.
//
//   int main(int argc, char** argv) {
//     CLI::App app{"Train a VAE on MNIST", "vae-train"};
//     vk::support::configure_help(app, "Example: vae-train --epochs 20 --out runs/vae");
//     Options o;
//     app.add_option("--epochs", o.epochs, "passes over the training set");
//     return vk::support::run_main(app, argc, argv, [&] { return train(o); });
//   }
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>

#include <CLI/CLI.hpp>

namespace vk::support {

// Prints "program: message" on one line (newlines in message become spaces).
void report_error(std::string_view program, std::string_view message);

// Shows the defaults of options added after this call in --help, and a footer (examples, where
// outputs go) under the options.
void configure_help(CLI::App& app, std::string footer);

namespace detail {
template <class F>
int invoke_main_body(F& body) {
  if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
    body();
    return 0;
  } else {
    return int(body());
  }
}
}  // namespace detail

// Runs body (returning int or void) and returns its exit code; an exception escaping it is
// reported with report_error and gives exit code 1. For a body that parses with CLI11_PARSE.
template <class F>
int run_main(std::string_view program, F&& body) {
  try {
    return detail::invoke_main_body(body);
  } catch (const CLI::ParseError& e) {
    // Only reached when body parsed without CLI11_PARSE: no App is at hand to print help.
    report_error(program, std::string(e.what()) + " (run with --help for usage)");
    return e.get_exit_code() == 0 ? 1 : e.get_exit_code();
  } catch (const std::exception& e) {
    report_error(program, e.what());
    return 1;
  } catch (...) {
    report_error(program, "unknown error");
    return 1;
  }
}

// Parses argv into app first: --help prints help and returns 0, a usage error prints CLI11's
// message and returns its code; then runs body as above, with app's name as the program name.
template <class F>
int run_main(CLI::App& app, int argc, char** argv, F&& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return run_main(app.get_name(), body);
}

}  // namespace vk::support
