# Shared by scripts/demo, scripts/test and scripts/bench: install what is missing, then build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
packages=(
  g++ pkg-config cmake meson ninja-build
  libxtensor-dev xtl-dev libxsimd-dev libopenblas-dev libxtensor-blas-dev
  doctest-dev libfmt-dev libcli11-dev nlohmann-json3-dev libpng-dev zlib1g-dev
  openmpi-bin libopenmpi-dev
  dataset-fashion-mnist
)

# The browser of the report test (tests/test_report_browser.sh); only scripts/test asks for it.
test_packages=(chromium)

# install_missing [EXTRA-PACKAGE...]: the packages above and the extra ones that only the caller
# needs (scripts/fuzz: clang and its runtimes); exits on failure.
install_missing() {
  local missing=()
  for p in "${packages[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing Debian packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# install_optional PACKAGE...: installs them if it can; otherwise says so and goes on (the tests
# that need them skip with a message).
install_optional() {
  if ! (install_missing "$@") >&2; then
    echo "warning: could not install $*; the tests that need it will be skipped" >&2
  fi
}

# No kernel family is set here: OpenBLAS picks its own, and every program checks that pick against a
# reference product at the training step's shapes, falling back to weaker kernels if they disagree
# (experiments/support/blas_kernels.hpp). OPENBLAS_CORETYPE set by the user or the machine is kept.

# build [DIR [MESON-SETUP-OPTIONS...]]: configures DIR (default build/) once, then builds it.
build() {
  local dir="${1:-$root/build}"
  [ $# -gt 0 ] && shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$root" --buildtype=release "$@" >/dev/null
  fi
  ninja -C "$dir" --quiet
}
