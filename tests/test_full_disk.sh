#!/usr/bin/env bash
# A full disk, two ways. (1) The programs write onto a small tmpfs (mounted in a private mount
# namespace, unshare -rm) of many sizes, a real ENOSPC wherever it falls; a disk that holds the
# checkpoints always holds the small files after them, so (2) each file every program writes
# (checkpoints, config.json, metrics.jsonl, final.json, the pictures, report.html, eval.json,
# vae-eval --write-test's arrays, vae-sample's picture, vae-report's page, a sweep's and
# cvae-compare's tables) also fails at its first byte and part-way, through the preloaded shim
# tests/enospc_shim.cpp. Each time: a non-zero exit and a last line naming the file and ENOSPC, no
# half-written file left (every JSON file parses, every PNG ends, no temporary sibling), and a run's
# last checkpoint still continues to the final.json of a run never stopped. Part (1) skips itself
# where user namespaces are not allowed, part (2) in a sanitized build (its runtime must be loaded
# before any other library); with both skipped, exit 77.
#   test_full_disk.sh BUILD SHIM.so B_SANITIZE
set -uo pipefail
bin="$1/experiments"
shim=$2 sanitize=$3
data=/usr/share/datasets/fashion-mnist
source "$(dirname "$0")/programs_lib.sh"
if [ ! -d "$data" ]; then
  echo "skipped: $data is missing (scripts/test installs dataset-fashion-mnist)"
  exit 77
fi
disk="$tmp/disk"
mkdir -p "$disk"
tmpfs=yes
unshare -rm mount -t tmpfs -o size=64k vaekit-probe "$disk" 2>/dev/null || tmpfs=no
[ "$sanitize" = none ] && [ -f "$shim" ] && preload=yes || preload=no
if [ $tmpfs = no ] && [ $preload = no ]; then
  echo "skipped: no tmpfs in a user namespace (unshare -rm) and no ENOSPC shim (a sanitized build)"
  exit 77
fi

# full_disk SIZE FROM OUT COMMAND...: a fresh tmpfs of SIZE bytes at $disk holding a copy of FROM
# (a folder, or - for nothing), COMMAND run with it, and what it left there copied to OUT, its exit
# code to OUT.rc and its stderr to OUT.err.
full_disk() {
  local size=$1 from=$2 out=$3
  shift 3
  rm -rf "$out" && mkdir -p "$out"
  unshare -rm bash -c '
    disk=$1 size=$2 from=$3 out=$4
    shift 4
    mount -t tmpfs -o "size=$size" vaekit-full "$disk" || exit 1
    [ "$from" = - ] || cp -a "$from/." "$disk/"
    "$@" >/dev/null 2>"$out.err"
    echo $? >"$out.rc"
    cp -a "$disk/." "$out/"' _ "$disk" "$size" "$from" "$out" "$@"
}
# whole FOLDER: no temporary sibling left, every JSON file parses, every line of metrics.jsonl
# does, every PNG ends with its IEND chunk, report.html with </html>.
whole() {
  python3 - "$1" <<'PY'
import json, os, sys
bad = []
for d, _, files in os.walk(sys.argv[1]):
    for f in files + [os.path.basename(d)]:
        if ".tmp-" in f or ".old-" in f:
            bad.append(os.path.join(d, f))
    for f in files:
        p = os.path.join(d, f)
        raw = open(p, "rb").read()
        try:
            if f.endswith(".json"):
                json.loads(raw)
            elif f.endswith(".jsonl"):
                [json.loads(l) for l in raw.splitlines() if l.strip()]
            elif f.endswith(".png"):
                assert raw[-8:-4] == b"IEND"
            elif f.endswith(".html"):
                assert raw.rstrip().endswith(b"</html>")
        except Exception:
            bad.append(p)
print(" ".join(bad))
sys.exit(1 if bad else 0)
PY
}
# refused PROGRAM OUT [PLACE]: a non-zero exit and, as the last line, one naming a file below PLACE
# (default $disk) and ENOSPC.
refused() {
  [ "$(cat "$2.rc")" -ne 0 ] && tail -n 1 "$2.err" | grep -q "^$1: ${3:-$disk}/[^ ]*: .*No space left on device"
}
# named OUT: the file the last line of OUT.err names, below $disk.
named() { tail -n 1 "$1.err" | sed "s|^[a-z-]*: $disk/\([^:]*\): .*|\1|"; }

flags=(--limit 400 --hidden 32 --latent 4 --threads 1 --seed 3 --epochs 2)
"$bin/vae-train" "${flags[@]}" --out "$tmp/reference" >/dev/null 2>&1
# ends_as_never_stopped RUN: the run's final.json as the uninterrupted run's, continuing it from its
# last checkpoint first when it has none (and nothing to do when it has no checkpoint either).
ends_as_never_stopped() {
  if [ ! -e "$1/final.json" ]; then
    compgen -G "$1/checkpoint*/manifest.json" >/dev/null || return 0  # failed before its first checkpoint
    "$bin/vae-train" --resume "$1" >/dev/null 2>"$1.resume.err"
  fi
  json_equal_except_time "$tmp/reference/final.json" "$1/final.json"
}

cat >"$tmp/grid.json" <<'JSON'
{"flags": {"--limit": 300, "--hidden": 16, "--latent": 2, "--threads": 1, "--epochs": 1}, "grid": {"--seed": [1, 2]}}
JSON
cc=(--variants vae-bernoulli --epochs 1 --limit 300 --iw 0 --per-class 5 --classifier-epochs 1 --hidden 16 --latent 2
    --threads 1)

if [ $tmpfs = yes ]; then
# The whole run takes about its folder's size on the disk (and a checkpoint more while one is
# written): sizes from 4 KiB to past that, so that the disk fills at every writer in turn.
need=$(du -sb "$tmp/reference" | cut -f1)
points=() failed=0 finished=0
for step in $(seq 1 16); do
  size=$(( need * 3 / 2 * step / 16 / 4096 * 4096 + 4096 ))
  out="$tmp/train-$step"
  full_disk $size - "$out" "$bin/vae-train" "${flags[@]}" --out "$disk/run"
  if [ "$(cat "$out.rc")" -eq 0 ]; then
    finished=$((finished + 1))
    check "vae-train on $size bytes: finished, final.json as on a large disk" json_equal_except_time "$tmp/reference/final.json" "$out/run/final.json"
    continue
  fi
  failed=$((failed + 1))
  points+=("$(named "$out")")
  check "vae-train on $size bytes: one line naming $(named "$out") and ENOSPC, a non-zero exit" refused vae-train "$out"
  check "vae-train on $size bytes: no half-written file left ($(whole "$out"))" whole "$out"
  check "vae-train on $size bytes: the last checkpoint continues to the final.json of a run never stopped" \
    ends_as_never_stopped "$out/run"
done
echo "vae-train: $failed of 16 sizes ran out of space, $finished finished; files named: $(printf '%s\n' "${points[@]}" | sed 's|^run/||; s|\.tmp-[^/]*||; s|checkpoint[^/]*/|checkpoint/|' | sort | uniq -c | tr -s ' \n' ' ')"
check "the disk filled at several files of vae-train's checkpoints" test "$(printf '%s\n' "${points[@]}" | sed 's|\.tmp-[^/]*||' | sort -u | wc -l)" -ge 3

# The other programs: a finished run copied onto a disk with a little room left.
used=$(du -s -B1 "$tmp/reference" | cut -f1)  # in blocks of 4 KiB, as tmpfs counts its pages
for extra in 4096 16384 65536; do
  size=$(( used + 65536 + extra ))
  out="$tmp/eval-$extra"
  full_disk $size "$tmp/reference" "$out" "$bin/vae-eval" --run "$disk" --limit 200 --write-test "$disk/test"
  if [ "$(cat "$out.rc")" -ne 0 ]; then
    check "vae-eval with $extra bytes free: one line naming $(named "$out") and ENOSPC" refused vae-eval "$out"
  fi
  check "vae-eval with $extra bytes free: no half-written file ($(whole "$out"))" whole "$out"
  out="$tmp/sample-$extra"
  full_disk $((extra / 2)) - "$out" "$bin/vae-sample" --run "$tmp/reference" --n 64 --out "$disk/s.png"
  check "vae-sample on $((extra / 2)) bytes: a whole picture or none, in one line" \
    bash -c "[ \$(cat '$out.rc') -eq 0 ] || { tail -n 1 '$out.err' | grep -q 'No space left on device' && [ ! -e '$out/s.png' ]; }"
  check "vae-sample on $((extra / 2)) bytes: nothing half-written ($(whole "$out"))" whole "$out"
done

for size in 8192 262144 1048576; do
  out="$tmp/sweep-$size"
  full_disk $size - "$out" "$bin/vae-sweep" --grid "$tmp/grid.json" --out "$disk/sweep"
  check "vae-sweep on $size bytes: a non-zero exit and one line, or done" \
    bash -c "[ \$(cat '$out.rc') -eq 0 ] || tail -n 1 '$out.err' | grep -qE 'No space left on device|run seed-[12] failed|failed; table in'"
  check "vae-sweep on $size bytes: no half-written file in the sweep or its runs ($(whole "$out"))" whole "$out"
done

for size in 65536 524288; do
  out="$tmp/cc-$size"
  full_disk $size - "$out" "$bin/cvae-compare" "${cc[@]}" --out "$disk/cc"
  check "cvae-compare on $size bytes: done, or a non-zero exit and one line naming a file and ENOSPC" \
    bash -c "[ \$(cat '$out.rc') -eq 0 ] || tail -n 1 '$out.err' | grep -q '^cvae-compare: $disk/.*No space left on device'"
  check "cvae-compare on $size bytes: no half-written file ($(whole "$out"))" whole "$out"
done
fi

# (2) Each file of each program, failing at its first byte and after 10: through the shim.
# shim_case NAME PATTERN BYTES FROM COMMAND...: COMMAND (its output below $tmp/NAME, a copy of FROM
# or - for nothing) with the writes to files whose path holds PATTERN failing with ENOSPC after
# BYTES bytes; exit code and stderr to $tmp/NAME.rc and .err (NAME must not hold PATTERN).
shim_case() {
  local name=$1 pattern=$2 bytes=$3 from=$4
  shift 4
  out="$tmp/$name"
  rm -rf "$out" && mkdir -p "$out"
  [ "$from" = - ] || cp -a "$from/." "$out/"
  VAEKIT_ENOSPC="$pattern:$bytes" LD_PRELOAD="$shim" "$@" >/dev/null 2>"$out.err"
  echo $? >"$out.rc"
}
# shim_checks PROGRAM PATTERN BYTES: the checks of a case that had to fail.
shim_checks() {
  check "$1, $2 full after $3 bytes: a non-zero exit, one line naming it and ENOSPC" \
    bash -c "[ \$(cat '$out.rc') -ne 0 ] && tail -n 1 '$out.err' | grep -q '^$1: $out/[^ ]*$2[^ ]*: .*No space left on device'"
  check "$1, $2 full after $3 bytes: no half-written file ($(whole "$out"))" whole "$out"
  shim_points=$((shim_points + 1))
}
if [ $preload = yes ]; then
  shim_points=0 i=0
  # vae-train's files at their first byte, after 10, and the checkpoint's and metrics.jsonl's
  # half-way through their second writing (the first checkpoint, or line, is whole).
  ref="$tmp/reference" cases=()
  for file in config.json checkpoint.tmp manifest.json training_state.json state.adam.m metrics.jsonl final.json \
              samples.png reconstructions.png interpolations.png report.html; do
    cases+=("$file:0" "$file:10")
  done
  cases+=("checkpoint.tmp:$(( $(du -sb "$ref/checkpoint" | cut -f1) * 3 / 2 ))"
          "manifest.json:$(( $(stat -c %s "$ref/checkpoint/manifest.json") * 3 / 2 ))"
          "training_state.json:$(( $(stat -c %s "$ref/checkpoint/training_state.json") * 3 / 2 ))"
          "state.adam.m:$(( $(stat -c %s "$ref/checkpoint/state.adam.m.npy") * 3 / 2 ))"
          "metrics.jsonl:$(( $(head -n 1 "$ref/metrics.jsonl" | wc -c) * 3 / 2 ))")
  for case in "${cases[@]}"; do
    file=${case%:*} bytes=${case##*:} i=$((i + 1))
    shim_case "t$i" "$file" $bytes - "$bin/vae-train" "${flags[@]}" --out "$tmp/t$i/run"
    shim_checks vae-train "$file" $bytes
    check "vae-train, $file full after $bytes bytes: the run continues to the final.json of one never stopped" \
      ends_as_never_stopped "$out/run"
  done
  for bytes in 0 10; do
    for file in eval.json report.html images.npy labels.npy info.json; do
      i=$((i + 1))
      shim_case "e$i-$bytes" "$file" $bytes "$tmp/reference" "$bin/vae-eval" --run "$tmp/e$i-$bytes" --limit 100 \
        --write-test "$tmp/e$i-$bytes/test"
      shim_checks vae-eval "$file" $bytes
    done
    shim_case "r-$bytes" report.html $bytes "$tmp/reference" "$bin/vae-report" --run "$tmp/r-$bytes"
    shim_checks vae-report report.html $bytes
    check "vae-report, report.html full after $bytes bytes: the page before it is left as it was" \
      cmp "$tmp/reference/report.html" "$out/report.html"
    shim_case "s-$bytes" s.png $bytes - "$bin/vae-sample" --run "$tmp/reference" --n 16 --out "$tmp/s-$bytes/s.png"
    shim_checks vae-sample s.png $bytes
    for file in grid.json sweep.json sweep.md; do
      i=$((i + 1))
      shim_case "w$i-$bytes" "$file" $bytes - "$bin/vae-sweep" --grid "$tmp/grid.json" --out "$tmp/w$i-$bytes"
      shim_checks vae-sweep "$file" $bytes
    done
    for file in row.json samples_by_class.png comparison.csv comparison.json comparison.md; do
      i=$((i + 1))
      shim_case "c$i-$bytes" "$file" $bytes - "$bin/cvae-compare" "${cc[@]}" --out "$tmp/c$i-$bytes"
      shim_checks cvae-compare "$file" $bytes
    done
  done
  echo "shim: $shim_points writes made to fail with ENOSPC, each named in one line"
fi

finish full-disk
