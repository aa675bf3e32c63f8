// The frame of every experiment program: declare the command line, parse it, run, and turn any
// failure into one line "program: message" on stderr and a non-zero exit code instead of a crash.
//
//   int main(int argc, char** argv) {
//     vk::support::Command cmd("vae-train", "Train a VAE on MNIST", "Example: vae-train --epochs 20");
//     Options o;
//     cmd.option("--epochs", o.epochs, "passes over the training set");
//     return vk::support::run_main(cmd, argc, argv, [&] { return train(o); });
//   }
//
// CLI11 does the parsing, but only cli.cpp includes it: compiled into every program it cost
// ~15 s of build each.
#pragma once

#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "experiments/support/blas_kernels.hpp"
#include "distributed/comm.hpp"

namespace vk::support {

// Prints "program: message" on one line (newlines in message become spaces).
void report_error(std::string_view program, std::string_view message);

class Command {
 public:
  // footer: examples and where outputs go, shown under the options by --help.
  Command(std::string name, std::string description, std::string footer = {});
  ~Command();
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  // An option whose current value is its default (shown by --help). T is std::string, int,
  // std::size_t, double or float.
  template <class T>
  Command& option(const std::string& flags, T& value, const std::string& help);
  Command& flag(const std::string& flags, bool& value, const std::string& help);
  // Modify the option added last.
  Command& required();
  Command& range(double lo, double hi);

  const std::string& name() const { return name_; }
  // The options the command line gave after parse(), by their first name (e.g. "--epochs").
  std::vector<std::string> given() const;
  // --help prints the usage and gives 0; a usage error is reported as one line and gives its
  // non-zero code; nothing (continue) when argv parsed.
  std::optional<int> parse(int argc, char** argv);

 private:
  struct Impl;
  std::string name_;
  std::unique_ptr<Impl> impl_;
};

// report_error and exit code 1; in a job of several ranks, the message once and an end of every
// rank (an error one rank met would leave the others waiting in a collective).
int fail_main(std::string_view program, std::string_view message);

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
// reported with report_error and gives exit code 1.
template <class F>
int run_main(std::string_view program, F&& body) {
  try {
    return detail::invoke_main_body(body);
  } catch (const std::bad_alloc&) {
    return fail_main(program, "not enough memory for what the flags ask (sizes such as --batch, --k, --iw, --n)");
  } catch (const std::exception& e) {
    return fail_main(program, e.what());
  } catch (...) {
    return fail_main(program, "unknown error");
  }
}

// Chooses and checks the OpenBLAS kernels (choose_blas_kernels, before MPI starts, as a restart
// replaces the process), parses argv with cmd
// (see Command::parse), then runs body as above, as one rank of mpirun's job when mpirun started
// it (MPI lives as long as this call).
template <class F>
int run_main(Command& cmd, int argc, char** argv, F&& body) {
  choose_blas_kernels(cmd.name(), argv);
  dist::Session mpi(argc, argv);
  if (const auto code = cmd.parse(argc, argv)) return *code;
  return run_main(cmd.name(), body);
}

}  // namespace vk::support
