#!/usr/bin/env bash
# vae-train over the 2 ranks of one mpirun against one process (scripts/mpirun-local): the test
# NELBO within 0.05 nats after 2 epochs, every rank's parameters the same bits, one writer of the
# run folder; a run resumed with another number of ranks; a rank killed with SIGKILL ends the job
# with a message instead of leaving the other waiting. Skipped (exit 77) when built without MPI.
set -uo pipefail
bin="$1/experiments"
root="$(cd "$(dirname "$0")/.." && pwd)"
data=/usr/share/datasets/fashion-mnist
source "$(dirname "$0")/programs_lib.sh"
if [ "$2" != mpi ]; then
  echo "skipped: built without MPI (meson setup -Dmpi=auto needs Open MPI: openmpi-bin, libopenmpi-dev)"
  exit 77
fi
if [ ! -d "$data" ]; then
  echo "skipped: $data is missing (scripts/test installs dataset-fashion-mnist)"
  exit 77
fi
mpirun=("$root/scripts/mpirun-local" -np 2)
# expect_mpi_error DESCRIPTION PATTERN COMMAND...: non-zero exit and the program's error line once
# (Open MPI's page about MPI_Abort may follow it).
expect_mpi_error() {
  local what=$1 pattern=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -ne 0 ] && [ "$(grep -c -- "$pattern" "$tmp/err")" -eq 1 ]; then echo "ok: $what"
  else echo "FAILED: $what (exit $rc): $(cat "$tmp/err")"; fails=$((fails + 1)); fi
}
within() {  # within FILE_A FILE_B KEY NATS
  python3 - "$@" <<'PY'
import json, sys
a, b = (json.load(open(p))[sys.argv[3]] for p in sys.argv[1:3])
print(f"  {sys.argv[3]}: {a} and {b}")
sys.exit(0 if abs(a - b) <= float(sys.argv[4]) else 1)
PY
}

# Batches of 97 split 48 + 49 over the ranks, and the last batch of 30 15 + 15.
small=(--limit 1000 --hidden 64 --latent 8 --threads 1 --batch 97 --seed 5)
gaussian=("${small[@]}")  # learned sigma^2, dequantized
iwae=("${small[@]}" --likelihood bernoulli --binarize dynamic --objective iwae --k 2)
for model in gaussian iwae; do
  declare -n flags=$model
  "$bin/vae-train" "${flags[@]}" --epochs 2 --out "$tmp/$model-1" >/dev/null 2>&1
  "${mpirun[@]}" "$bin/vae-train" "${flags[@]}" --epochs 2 --out "$tmp/$model-2" >/dev/null 2>"$tmp/$model-2.err"
  check "$model: 2 ranks end within 0.05 nats of one process after 2 epochs" \
    within "$tmp/$model-1/final.json" "$tmp/$model-2/final.json" test_nelbo 0.05
  check "$model: the parameters of both ranks are the same bits" \
    grep -q "the parameters of all 2 ranks are identical" "$tmp/$model-2.err"
  check "$model: final.json says 2 ranks" json_fields "$(cat "$tmp/$model-2/final.json")" 'd["ranks"] == 2'
  check "$model: one writer: metrics.jsonl has each epoch once" \
    test "$(python3 -c 'import json, sys; print([json.loads(l)["epoch"] for l in open(sys.argv[1])])' "$tmp/$model-2/metrics.jsonl")" = "[1, 2]"
done

# vae-eval splits the images over the ranks: the same estimates, up to float rounding (a shard is
# a smaller GEMM, blocked differently).
"$bin/vae-eval" --run "$tmp/iwae-1" --iw 5 --limit 200 2>/dev/null >"$tmp/eval-1.json"
"${mpirun[@]}" "$bin/vae-eval" --run "$tmp/iwae-1" --iw 5 --limit 200 2>/dev/null >"$tmp/eval-2.json"
check "vae-eval on 2 ranks: the test NELBO of one process" within "$tmp/eval-1.json" "$tmp/eval-2.json" test_nelbo 1e-4
check "vae-eval on 2 ranks: the IW estimate of one process" within "$tmp/eval-1.json" "$tmp/eval-2.json" iw_nll 1e-4

# Resumed with another number of ranks: 2 ranks then 1 process, and 1 process then 2 ranks.
"${mpirun[@]}" "$bin/vae-train" "${gaussian[@]}" --epochs 1 --out "$tmp/g-2to1" >/dev/null 2>&1
"$bin/vae-train" --resume "$tmp/g-2to1" --epochs 2 >/dev/null 2>&1
check "gaussian: 1 epoch on 2 ranks, resumed on 1 process: within 0.05 nats of one process" \
  within "$tmp/gaussian-1/final.json" "$tmp/g-2to1/final.json" test_nelbo 0.05
"$bin/vae-train" "${iwae[@]}" --epochs 1 --out "$tmp/i-1to2" >/dev/null 2>&1
"${mpirun[@]}" "$bin/vae-train" --resume "$tmp/i-1to2" --epochs 2 >/dev/null 2>&1
check "iwae: 1 epoch on 1 process, resumed on 2 ranks: within 0.05 nats of one process" \
  within "$tmp/iwae-1/final.json" "$tmp/i-1to2/final.json" test_nelbo 0.05

# Bad input under mpirun: one line from rank 0 and a non-zero exit, nothing written.
expect_mpi_error "2 ranks: a bad flag is one line" "--batch-per-rank" \
  "${mpirun[@]}" "$bin/vae-train" --batch 64 --batch-per-rank 32 --out "$tmp/bad"
check "2 ranks: nothing written for a bad flag" test ! -e "$tmp/bad"

# A sweep of 4 small runs over the 2 ranks; started again, it skips the finished ones.
cat >"$tmp/grid.json" <<'JSON'
{"flags": {"--limit": 300, "--hidden": 32, "--latent": 4, "--threads": 1, "--epochs": 1},
 "grid": {"--likelihood": ["gaussian", "bernoulli"], "--seed": [1, 2]}}
JSON
"${mpirun[@]}" "$bin/vae-sweep" --grid "$tmp/grid.json" --out "$tmp/sweep" >/dev/null 2>"$tmp/sweep.err"
check "sweep: 4 runs finished" test "$(ls "$tmp"/sweep/*/final.json 2>/dev/null | wc -l)" -eq 4
check "sweep: each rank trained 2 runs" test "$(grep -c 'rank 0 of 2.*started' "$tmp/sweep.err"):$(grep -c 'rank 1 of 2.*started' "$tmp/sweep.err")" = 2:2
check "sweep: the table has mean ± spread over the 2 seeds of each likelihood" \
  test "$(grep -cE '^\| likelihood-(gaussian|bernoulli) \| 2 \| -?[0-9.]+ ± [0-9.]+ \|' "$tmp/sweep/sweep.md")" -eq 2
seed2="$tmp/sweep/likelihood-bernoulli_seed-2"
before=$(stat -c %Y "$tmp/sweep/likelihood-gaussian_seed-1/final.json")
rm -rf "$seed2"  # as if killed before it began
"${mpirun[@]}" "$bin/vae-sweep" --grid "$tmp/grid.json" --out "$tmp/sweep" >/dev/null 2>"$tmp/sweep2.err"
check "sweep restarted: the 3 finished runs are skipped, the missing one trained" \
  test "$(grep -c 'finished before' "$tmp/sweep2.err"):$(grep -c 'started' "$tmp/sweep2.err")" = 3:1
check "sweep restarted: a finished run's files are left alone" \
  test "$(stat -c %Y "$tmp/sweep/likelihood-gaussian_seed-1/final.json")" = "$before"
check "sweep restarted: the missing run finished" test -f "$seed2/final.json"
echo '{"grid": {"--seed": [3]}}' >"$tmp/other.json"
expect_mpi_error "sweep: another grid into the same folder is refused" "another grid" \
  "${mpirun[@]}" "$bin/vae-sweep" --grid "$tmp/other.json" --out "$tmp/sweep"

# cvae-compare's variants over the 2 ranks: rank 1 trains the second, rank 0 writes the table.
"${mpirun[@]}" "$bin/cvae-compare" --variants vae-bernoulli,prior-gaussian --epochs 1 --limit 300 --iw 0 \
  --per-class 5 --classifier-epochs 1 --hidden 32 --latent 4 --threads 1 --out "$tmp/cc" >/dev/null 2>"$tmp/cc.err"
check "cvae-compare on 2 ranks: a row per variant in the table" \
  test "$(grep -c -e vae-bernoulli -e prior-gaussian "$tmp/cc/comparison.csv")" -eq 2
check "cvae-compare on 2 ranks: each variant trained once, with its row.json" \
  test "$(grep -c '^== ' "$tmp/cc.err"):$(ls "$tmp"/cc/*/row.json | wc -l)" = 2:2

# long_run NAME SIGNAL [MPIRUN-OPTION...]: a long vae-train of 2 ranks into $tmp/NAME in the
# background whose rank 1 raises SIGNAL on itself after its 5th step (VAEKIT_TEST_RAISE_AFTER_STEPS,
# given to rank 1 alone through env as its program), so that nothing waits for a rank to be seen
# training; sets job (mpirun's pid).
long_run() {
  local name=$1 signal=$2
  shift 2
  local args=(--limit 2000 --hidden 64 --latent 8 --threads 1 --epochs 100 --out "$tmp/$name")
  "$root/scripts/mpirun-local" "$@" -np 1 "$bin/vae-train" "${args[@]}" \
    : -np 1 env VAEKIT_TEST_RAISE_AFTER_STEPS=5:"$signal" "$bin/vae-train" "${args[@]}" >/dev/null 2>"$tmp/$name.err" &
  job=$!
}
# job_ended_within SECONDS: whether the job has ended within that many seconds (generous: a bound
# for a hang, not a measure of speed).
job_ended_within() {
  for _ in $(seq $(($1 * 10))); do kill -0 $job 2>/dev/null || return 0; sleep 0.1; done
  ! kill -0 $job 2>/dev/null
}
# no_rank_left NAME: whether every process of the job is gone (mpirun may return before the
# kernel has reaped the last one: waits up to 30 s for that).
no_rank_left() {
  for _ in $(seq 300); do [ -z "$(pgrep -f -- "--out $tmp/$1")" ] && return 0; sleep 0.1; done
  return 1
}

# A rank killed mid-run: the other must not wait for it forever.
long_run killed KILL
if ! job_ended_within 60; then
  echo "FAILED: the job still runs 60 s after rank 1 was killed"; fails=$((fails + 1))
  kill -9 $job
else
  wait $job
  rc=$?
  check "killed rank: the job exits non-zero (exit $rc)" test $rc -ne 0
  check "killed rank: the message names the killed rank" grep -qE "rank 1 .*(signal 9|Killed)" "$tmp/killed.err"
  sed 's/^/  | /' "$tmp/killed.err" | head -8
fi
check "killed rank: no rank of the job is left" no_rank_left killed

# A rank that is alive but stuck (here: stopped) must not leave the other waiting for ever: the
# other's watchdog ends the job after VAEKIT_MPI_TIMEOUT seconds in one collective.
long_run stuck STOP -x VAEKIT_MPI_TIMEOUT=3
if ! job_ended_within 90; then
  echo "FAILED: the job still runs 90 s after rank 1 stopped"; fails=$((fails + 1))
  kill -9 $job
  pkill -KILL -f -- "--out $tmp/stuck"
else
  wait $job
  rc=$?
  check "stuck rank: the job exits non-zero (exit $rc)" test $rc -ne 0
  check "stuck rank: rank 0 says it waited too long" grep -q "rank 0 of 2 waited over 3 s in a collective" "$tmp/stuck.err"
fi
check "stuck rank: no rank of the job is left" no_rank_left stuck

finish mpi
