#!/usr/bin/env bash
# Compiles each file here with the project's compiler: compiles.cpp must compile, and every other
# file must fail with the static assertion of Sequential, naming the layers its "expect:" line gives.
# Usage: run.sh SOURCE_ROOT COMPILER [COMPILER ARGS...]
set -uo pipefail
root="$1"; shift
here="$root/tests/compile_fail"
flags=(-std=c++20 -DXTENSOR_USE_XSIMD -fsyntax-only -I"$root")
fails=0
if ! "$@" "${flags[@]}" "$here/compiles.cpp"; then
  echo "FAILED: compiles.cpp does not compile, so the failures below would prove nothing"; exit 1
fi
echo "ok: compiles.cpp compiles"
for f in "$here"/*.cpp; do
  [ "$(basename "$f")" = compiles.cpp ] && continue
  expect="$(sed -n 's|^// expect: ||p' "$f")"
  out="$("$@" "${flags[@]}" "$f" 2>&1)" && { echo "FAILED: $(basename "$f") compiled"; fails=$((fails + 1)); continue; }
  if grep -qF "static assertion failed: Sequential: a layer's input does not fit" <<<"$out" && grep -qF "$expect" <<<"$out"; then
    echo "ok: $(basename "$f") fails to compile, naming $expect"
  else
    echo "FAILED: $(basename "$f") failed for another reason:"; head -20 <<<"$out"; fails=$((fails + 1))
  fi
done
exit $fails
