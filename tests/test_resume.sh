#!/usr/bin/env bash
# Stopping and continuing runs: a run stopped after epoch k of 3 and resumed ends with the
# final.json of one never stopped (one thread, same seed; Gaussian with learned sigma^2,
# Bernoulli and the discretized logistic); SIGINT and SIGTERM stop after a step with a checkpoint; a damaged checkpoint gives
# way to the one kept before it; a second writer of a run (vae-train or vae-sweep) is refused; a
# diverged run names the checkpoint to resume from; --resume refuses what would change the run;
# SIGKILL at random moments (scripts/crash-test, reduced); cvae-compare --resume keeps finished
# variants. No check depends on how fast the machine is: every stop is at a given step.
set -uo pipefail
bin="$1/experiments"
root="$(cd "$(dirname "$0")/.." && pwd)"
data=/usr/share/datasets/fashion-mnist
source "$(dirname "$0")/programs_lib.sh"
if [ ! -d "$data" ]; then
  echo "skipped: $data is missing (scripts/test installs dataset-fashion-mnist)"
  exit 0
fi

gaussian=(--limit 400 --hidden 32 --latent 4 --threads 1 --seed 3)
bernoulli=("${gaussian[@]}" --likelihood bernoulli --binarize dynamic)
logistic=("${gaussian[@]}" --likelihood logistic)
for model in gaussian bernoulli logistic; do
  declare -n flags=$model
  "$bin/vae-train" "${flags[@]}" --epochs 3 --out "$tmp/$model" >/dev/null 2>&1
  for k in 1 2; do
    run="$tmp/$model-$k"
    "$bin/vae-train" "${flags[@]}" --epochs $k --out "$run" >/dev/null 2>&1
    "$bin/vae-train" --resume "$run" --epochs 3 >/dev/null 2>&1
    check "$model: stopped after epoch $k of 3 and resumed, final.json as never stopped" \
      json_equal_except_time "$tmp/$model/final.json" "$run/final.json"
    check "$model: metrics.jsonl continues (3 epochs, each once)" \
      test "$(python3 -c 'import json, sys; print([json.loads(l)["epoch"] for l in open(sys.argv[1])])' "$run/metrics.jsonl")" = "[1, 2, 3]"
  done
done
check "the resumed run's config.json says 3 epochs" json_fields "$(cat "$tmp/gaussian-1/config.json")" 'd["training"]["epochs"] == 3'

# SIGINT and SIGTERM in the middle of an epoch: a checkpoint there, one line, a non-zero exit. The
# run raises the signal on itself after a given step (VAEKIT_TEST_RAISE_AFTER_STEPS, through the
# same handler as a signal from outside), so where it stops does not depend on how fast it runs.
long=(--limit 3000 --batch 16 --hidden 32 --latent 4 --threads 1 --seed 4 --likelihood bernoulli --binarize dynamic --epochs 2)
"$bin/vae-train" "${long[@]}" --out "$tmp/long" >/dev/null 2>&1
for stop in INT:1:37 TERM:2:50; do
  IFS=: read -r sig epoch batch <<<"$stop"
  run="$tmp/sig$sig"
  VAEKIT_TEST_RAISE_AFTER_STEPS=$(( (epoch - 1) * 188 + batch )):$sig \
    "$bin/vae-train" "${long[@]}" --out "$run" >/dev/null 2>"$tmp/sig.err"
  rc=$?
  check "SIG$sig: exits with 128 + the signal ($rc)" test $rc -eq $([ $sig = INT ] && echo 130 || echo 143)
  check "SIG$sig: says in one line where the checkpoint is" \
    grep -q "^vae-train: stopped by SIG$sig in epoch $epoch after batch $batch of 188; checkpoint in $run/checkpoint (continue with: vae-train --resume $run)$" "$tmp/sig.err"
  check "SIG$sig: the checkpoint holds the middle of epoch $epoch" json_fields "$(cat "$run/checkpoint/training_state.json")" \
    "d['in_epoch'] and d['epoch'] == $epoch and d['partial']['batch'] == $batch"
  "$bin/vae-train" --resume "$run" >/dev/null 2>&1
  check "SIG$sig: resumed from the middle of an epoch, final.json as never stopped" \
    json_equal_except_time "$tmp/long/final.json" "$run/final.json"
done

# A damaged newest checkpoint: vae-eval and --resume fall back to the previous one (kept as
# checkpoint.1) and say so in one line; the run still ends as never stopped.
"$bin/vae-train" "${gaussian[@]}" --epochs 2 --out "$tmp/dmg" >/dev/null 2>&1
check "checkpoint/ and the one before it are kept" test -f "$tmp/dmg/checkpoint.1/manifest.json"
printf '\x55' | dd of="$tmp/dmg/checkpoint/encoder.mu.weight.npy" bs=1 seek=300 conv=notrunc status=none
"$bin/vae-eval" --run "$tmp/dmg" --limit 100 >/dev/null 2>"$tmp/dmg.err"
check "vae-eval of a damaged checkpoint loads the previous one and says so in one line" \
  grep -q "^vae-eval: $tmp/dmg/checkpoint/encoder.mu.weight.npy: damaged: crc32 [0-9a-f]* but the manifest says [0-9a-f]* .*; loading $tmp/dmg/checkpoint.1 instead" "$tmp/dmg.err"
"$bin/vae-train" --resume "$tmp/dmg" --epochs 3 >/dev/null 2>"$tmp/dmg.err"
check "--resume of a damaged checkpoint falls back to the previous one in one line" \
  grep -q "^vae-train: $tmp/dmg/checkpoint/encoder.mu.weight.npy: damaged: .*; falling back to $tmp/dmg/checkpoint.1, .* (the damaged one is kept as checkpoint.damaged-.*); resuming from it$" "$tmp/dmg.err"
check "and the run ends with the final.json of one never stopped" json_equal_except_time "$tmp/gaussian/final.json" "$tmp/dmg/final.json"
"$bin/vae-train" "${gaussian[@]}" --epochs 1 --out "$tmp/dmg" >/dev/null 2>&1
check "a new run into that folder keeps its own checkpoints only (checkpoint.1: before its first step)" \
  json_fields "$(cat "$tmp/dmg/checkpoint.1/training_state.json")" 'd["step"] == 0 and d["epoch"] == 0'

# Two writers of one run: the second refuses in one line, whether the first is another vae-train
# (stopped by itself after 5 steps, still holding the run) or anything holding the lock (flock(1));
# a holder killed with SIGKILL leaves no lock, and the run resumes.
stopped() {  # stopped PID: waits until the process has stopped itself (state T) or ended
  while kill -0 "$1" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != T ]; do sleep 0.05; done
}
VAEKIT_TEST_RAISE_AFTER_STEPS=5:STOP "$bin/vae-train" "${gaussian[@]}" --epochs 3 --out "$tmp/two" >/dev/null 2>&1 &
first=$!
stopped $first
expect_error "a second --resume of a run being written is refused" \
  "^vae-train: $tmp/two: another process (pid $first) is writing this run; refusing to write it too" "$bin/vae-train" --resume "$tmp/two"
expect_error "so is a second --out of it" "another process (pid $first) is writing this run" \
  "$bin/vae-train" "${gaussian[@]}" --epochs 3 --out "$tmp/two"
kill -KILL $first
wait $first 2>/dev/null
"$bin/vae-train" --resume "$tmp/two" >/dev/null 2>"$tmp/two.err"
check "after the holder's kill -9, --resume continues as never stopped" \
  json_equal_except_time "$tmp/gaussian/final.json" "$tmp/two/final.json"
exec 9>>"$tmp/dmg/run.lock"
flock -n 9
expect_error "a lock held by flock(1) refuses --resume too" "$tmp/dmg: another process is writing this run" \
  "$bin/vae-train" --resume "$tmp/dmg" --epochs 4
exec 9>&-

# Two vae-sweeps over one folder: each run is trained by one of them; the other leaves it.
cat >"$tmp/grid.json" <<'JSON'
{"flags": {"--limit": 400, "--hidden": 16, "--latent": 2, "--threads": 1, "--epochs": 2}, "grid": {"--seed": [1, 2]}}
JSON
VAEKIT_TEST_RAISE_AFTER_STEPS=2:STOP "$bin/vae-sweep" --grid "$tmp/grid.json" --out "$tmp/sweep" >/dev/null 2>"$tmp/sweep1.err" &
sweep1=$!
until child=$(pgrep -P $sweep1 vae-train) || ! kill -0 $sweep1 2>/dev/null; do sleep 0.05; done
stopped "$child"
"$bin/vae-sweep" --grid "$tmp/grid.json" --out "$tmp/sweep" >/dev/null 2>"$tmp/sweep2.err"
check "a second vae-sweep leaves the run the first is training to it" \
  grep -q "run 1/2 seed-1: being written by another process, left to it" "$tmp/sweep2.err"
kill -CONT "$child"
wait $sweep1
check "the first finishes it and skips the one the second trained" grep -q "run 2/2 seed-2: finished before" "$tmp/sweep1.err"
check "each run was trained once, both finished" \
  test "$(cat "$tmp"/sweep*.err | grep -c ': started'):$(ls "$tmp"/sweep/*/final.json | wc -l)" = 2:2

# A diverging run names its last good checkpoint and how to go on from it.
expect_error "NaN names epoch, batch, the last good checkpoint and how to resume" \
  "diverged: the loss is nan at epoch 1, batch [0-9]* of 4; the last good checkpoint is $tmp/nan/checkpoint (before training): continue from it .* vae-train --resume $tmp/nan --lr 1e+29 (or --max-grad-norm 1)" \
  "$bin/vae-train" --limit 500 --epochs 1 --hidden 16 --latent 2 --lr 1e30 --threads 1 --out "$tmp/nan"
"$bin/vae-train" --resume "$tmp/nan" --lr 1e-3 --max-grad-norm 5 >/dev/null 2>&1
check "and resuming it with a smaller --lr and --max-grad-norm trains and records them" json_fields \
  "$(cat "$tmp/nan/config.json")" 'd["training"]["lr"] == 1e-3 and d["training"]["max_grad_norm"] == 5'
check "with a finite result" json_fields "$(cat "$tmp/nan/final.json")" 'math.isfinite(d["test_nelbo"])'

expect_error "--resume with a flag that changes the run" "--hidden cannot be given with --resume" \
  "$bin/vae-train" --resume "$tmp/gaussian-1" --hidden 64
expect_error "--resume of a folder that is not a run" "not a run folder" "$bin/vae-train" --resume "$tmp/none"
mkdir -p "$tmp/nockpt" && cp "$tmp/gaussian/config.json" "$tmp/nockpt/"
expect_error "--resume of a run without a checkpoint" "no checkpoint" "$bin/vae-train" --resume "$tmp/nockpt"
expect_error "--resume of a finished run" "has finished its 3 epochs" "$bin/vae-train" --resume "$tmp/gaussian"
expect_error "--resume --epochs below what is done" "--epochs 2 is fewer than the 3" \
  "$bin/vae-train" --resume "$tmp/gaussian" --epochs 2
expect_error "neither --out nor --resume" "--out DIR (a new run) or --resume DIR" "$bin/vae-train" --epochs 1

out=$(VAEKIT_BIN="$bin" "$root/scripts/crash-test" --kills 6 --out "$tmp/crash" 2>&1)
check "SIGKILL 6 times (3 as a checkpoint write begins): eval and resume each time, same final.json ($out)" \
  grep -q "crash-test: 6 SIGKILLs" <<<"$out"

cc=(--variants vae-bernoulli,prior-bernoulli --epochs 1 --limit 300 --iw 0 --per-class 5 --classifier-epochs 1
    --hidden 16 --latent 2 --threads 1 --out "$tmp/cc")
"$bin/cvae-compare" "${cc[@]}" >/dev/null 2>&1
rm -rf "$tmp/cc/prior-bernoulli"
"$bin/cvae-compare" "${cc[@]}" --resume >/dev/null 2>"$tmp/cc.err"
check "cvae-compare --resume keeps the finished variant" grep -q "== vae-bernoulli: finished before, kept" "$tmp/cc.err"
check "and runs the one that did not finish" test -s "$tmp/cc/prior-bernoulli/row.json"
check "the table has both rows" test "$(grep -c -e vae-bernoulli -e prior-bernoulli "$tmp/cc/comparison.csv")" -eq 2
"$bin/cvae-compare" "${cc[@]/--epochs/--lr}" --resume >/dev/null 2>"$tmp/cc.err"
check "with other settings it keeps nothing" test "$(grep -c "finished before" "$tmp/cc.err")" -eq 0

finish resume
