#!/usr/bin/env bash
# bench/vaekit_torch.py: tiny runs of every kind, likelihood, sigma^2 mode, condition and family it
# translates are rebuilt in PyTorch and evaluated on the images vae-eval --write-test wrote, with
# vae-eval's eps: test NELBO, reconstruction and KL as eval.json has them. Skipped (77) without
# python3-torch or the data.
set -uo pipefail
bin="$1/experiments"
src="$(cd "$(dirname "$0")/.." && pwd)"
data=/usr/share/datasets/fashion-mnist
source "$(dirname "$0")/programs_lib.sh"

if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
  echo "skipped: python3-torch is not installed (apt-get install python3-torch)"; exit 77
fi
if [ ! -d "$data" ]; then
  echo "skipped: $data is missing (scripts/test installs dataset-fashion-mnist)"; exit 77
fi

small=(--epochs 1 --threads 1 --seed 2)
mlp=(--limit 300 --hidden 32,16 --latent 4)
bern=(--likelihood bernoulli --binarize dynamic)
runs=(
  "gauss-learned|${mlp[*]}"
  "gauss-perpixel-swish|--limit 300 --hidden 24 --latent 3 --sigma per-pixel --activation swish"
  "gauss-optimal|${mlp[*]} --sigma optimal"
  "gauss-fixed|${mlp[*]} --sigma fixed --sigma2 0.05"
  "bernoulli|${mlp[*]} ${bern[*]}"
  "ae|${mlp[*]} --model ae"
  "rae|${mlp[*]} --model rae --lambda 0.01"
  "cvae-encoder-decoder|${mlp[*]} ${bern[*]} --model cvae --condition encoder-decoder"
  "cvae-decoder|${mlp[*]} --model cvae --condition decoder"
  "cvae-embedding|${mlp[*]} ${bern[*]} --model cvae --condition embedding --embedding 5"
  "cvae-prior|${mlp[*]} --model cvae --condition prior"
  "hvae-gauss|--limit 300 --model hvae --hidden 32 --latent 8 --hidden2 16 --latent2 4"
  "hvae-3-layers|--limit 300 --model hvae --hidden 32 --hidden2 16 --latents 8,6,4 ${bern[*]}"
  "conv-bernoulli|--arch conv --latent 6 ${bern[*]} --limit 150"
  "conv-gauss-learned|--arch conv --latent 6 --limit 150"
  "conv-rae|--arch conv --latent 6 --model rae --limit 150"
)
names=()
for entry in "${runs[@]}"; do
  name=${entry%%|*}
  read -r -a flags <<<"${entry#*|}"
  if "$bin/vae-train" "${small[@]}" "${flags[@]}" --out "$tmp/$name" >/dev/null 2>"$tmp/$name.err" &&
     "$bin/vae-eval" --run "$tmp/$name" --threads 1 --limit 60 --write-test "$tmp/$name/test" >/dev/null 2>>"$tmp/$name.err"; then
    names+=("$name")
  else
    echo "FAILED: training or evaluating $name: $(tail -n 1 "$tmp/$name.err")"; fails=$((fails + 1))
  fi
done

# One python process for every run (torch loads once); a line per run and figure.
PYTHONPATH="$src/bench" /usr/bin/python3 - "$tmp" "${names[@]}" <<'PY' || fails=$((fails + 1))
import json, os, sys
import vaekit_torch
root, failed = sys.argv[1], 0
for name in sys.argv[2:]:
    run = os.path.join(root, name)
    ref = json.load(open(os.path.join(run, "eval.json")))
    try:
        got = vaekit_torch.evaluate_folder(vaekit_torch.load_run(run), os.path.join(run, "test"), ref["seed"])
    except Exception as e:  # noqa: BLE001 (the next run is still checked)
        print(f"FAILED: {name}: {type(e).__name__}: {e}")
        failed += 1
        continue
    for key in ("test_nelbo", "test_rec", "test_kl"):
        diff = abs(got[key] - ref[key])
        ok = diff <= 0.05 and got["test_count"] == ref["test_count"] == 60
        failed += not ok
        print(f"{'ok' if ok else 'FAILED'}: {name} {key}: PyTorch {got[key]:.5f}, vaekit {ref[key]:.5f} (|diff| {diff:.2g} <= 0.05)")
sys.exit(1 if failed else 0)
PY

check "the command line prints the figures beside eval.json's" json_fields \
  "$(/usr/bin/python3 "$src/bench/vaekit_torch.py" --run "$tmp/gauss-learned" --test "$tmp/gauss-learned/test" 2>/dev/null)" \
  'd["test_count"] == 60 and abs(d["test_nelbo"] - d["vaekit"]["test_nelbo"]) <= 0.05'
torch_line() { /usr/bin/python3 "$src/bench/vaekit_torch.py" "$@"; }
expect_error "a folder that is not a run" "not a run folder with a checkpoint" torch_line --run "$tmp/none" --test "$tmp/gauss-learned/test"
cp -r "$tmp/bernoulli" "$tmp/damaged"
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[200] ^= 0xFF; open(sys.argv[1], "wb").write(b)' \
  "$tmp/damaged/checkpoint/decoder.0.weight.npy"
expect_error "a damaged checkpoint file, named" "decoder.0.weight.npy: its size or crc32 differs" \
  torch_line --run "$tmp/damaged" --test "$tmp/bernoulli/test"
expect_error "a test folder without images" "images.npy not found" torch_line --run "$tmp/bernoulli" --test "$tmp/none"
"$bin/vae-train" "${small[@]}" --limit 100 --model mog --hidden 16 --latent 2 --components 3 --out "$tmp/mog" >/dev/null 2>&1
expect_error "a kind it does not translate" "--model mog is not translated" torch_line --run "$tmp/mog" --test "$tmp/bernoulli/test"
finish torch-interop
