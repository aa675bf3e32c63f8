#!/usr/bin/env bash
# The VAE programs end to end on a small slice of Fashion-MNIST: reproducibility, vae-eval
# against final.json, vae-sample, and the clear errors of bad input.
set -uo pipefail
bin="$1/experiments"
data=/usr/share/datasets/fashion-mnist
source "$(dirname "$0")/programs_lib.sh"

for p in vae-train vae-eval vae-sample vae-bench cvae-compare data-bench vae-report vae-sweep; do
  check "$p --help" "$bin/$p" --help >/dev/null
done

step=$("$bin/vae-bench" --arch 16-8-2 --batch 4 --seconds 0.02 2>/dev/null)
check "vae-bench times a step beside its GEMMs" json_fields "$step" \
  'd["mode"] == "step" and d["images_per_second"] > 0 and 0 < d["roofline_fraction"] and d["gemms"] == 14'
iw=$("$bin/vae-bench" --arch 16-8-6-2 --likelihood gaussian --iw 10 --seconds 0.02 2>/dev/null)
check "vae-bench --iw times the IW estimate" json_fields "$iw" \
  'd["mode"] == "iw" and d["iw"] == 10 and d["finite"] and d["arch"] == "16-8-6-2" and d["gemms"] == 7'
conv=$("$bin/vae-bench" --arch conv --batch 2 --seconds 0.02 2>/dev/null)
check "vae-bench --arch conv counts the convolutions' GEMMs" json_fields "$conv" \
  'd["arch"] == "conv" and d["images_per_second"] > 0 and d["gemms"] == 26'
iwae=$("$bin/vae-bench" --arch 16-8-2 --batch 4 --objective iwae --k 3 --seconds 0.02 2>/dev/null)
check "vae-bench times iwae steps (the decoder on k times the batch)" json_fields "$iwae" \
  'd["objective"] == "iwae" and d["k"] == 3 and d["gemms"] == 14 and d["images_per_second"] > 0'
hvae=$("$bin/vae-bench" --model hvae --arch 16-8-4 --batch 4 --seconds 0.02 2>/dev/null)
check "vae-bench times hvae steps" json_fields "$hvae" 'd["model"] == "hvae" and d["gemms"] > 14'
expect_error "vae-bench --k with the ELBO" "the ELBO takes one sample" "$bin/vae-bench" --k 3
expect_error "bad --arch" "--arch is not" "$bin/vae-bench" --arch 784-x
expect_error "unknown flag" "bogus" "$bin/vae-bench" --bogus
expect_error "unknown --precision" "--precision half: float or bf16 expected" "$bin/vae-bench" --precision half
# A CPU without bf16 instructions as oneDNN sees one when told to stop below them.
expect_error "--precision bf16 refused without bf16 instructions" "no bf16 instructions\|built without oneDNN" \
  env ONEDNN_MAX_CPU_ISA=AVX512_CORE "$bin/vae-bench" --precision bf16 --seconds 0.01

if [ ! -d "$data" ]; then
  echo "skipped: $data is missing (scripts/test installs dataset-fashion-mnist)"
  exit 0
fi

small=(--limit 2000 --epochs 2 --hidden 64 --latent 4 --threads 1 --seed 3)
"$bin/vae-train" "${small[@]}" --out "$tmp/a" >/dev/null 2>&1
"$bin/vae-train" "${small[@]}" --out "$tmp/b" >/dev/null 2>&1
check "vae-train writes every result file" test -s "$tmp/a/config.json" -a -s "$tmp/a/metrics.jsonl" \
  -a -s "$tmp/a/final.json" -a -s "$tmp/a/checkpoint/manifest.json" -a -s "$tmp/a/samples.png" \
  -a -s "$tmp/a/reconstructions.png" -a -s "$tmp/a/interpolations.png"
check "metrics.jsonl has one line per epoch" test "$(wc -l <"$tmp/a/metrics.jsonl")" -eq 2
check "same seed, one thread: identical final.json (but for timings)" json_equal_except_time "$tmp/a/final.json" "$tmp/b/final.json"
cp "$tmp/a/report.html" "$tmp/report-a.html"
"$bin/vae-report" --run "$tmp/a/" 2>/dev/null
check "vae-report rebuilds the report.html vae-train wrote, byte for byte" cmp "$tmp/a/report.html" "$tmp/report-a.html"
pngs=$(ls "$tmp/a"/*.png | wc -l)
check "the report embeds the folder's $pngs pictures and draws 5 charts (4 curves, latent activity)" json_fields \
  "$(python3 -c 'import json, sys; p = open(sys.argv[1]).read()
print(json.dumps([p.count("data:image/png;base64,"), p.count("<svg")]))' "$tmp/a/report.html")" \
  "d[0] == $pngs and d[1] == 5"
cp -r "$tmp/a" "$tmp/badm" && echo '{"epoch": 3,' >>"$tmp/badm/metrics.jsonl"
expect_error "vae-report on a broken metrics.jsonl names the file and line" "metrics.jsonl:3: malformed JSON" \
  "$bin/vae-report" --run "$tmp/badm"
check "and leaves the old report as it was" cmp "$tmp/badm/report.html" "$tmp/report-a.html"
expect_error "vae-report without a run" "not a run folder" "$bin/vae-report" --run "$tmp/none"

check "a Gaussian run dequantizes by default" json_fields "$(cat "$tmp/a/config.json")" \
  'd["training"]["dequantize"] == "uniform"'
check "config.json records the BLAS: library, version, the kernels it runs, who chose them, threads" json_fields "$(cat "$tmp/a/config.json")" \
  'd["blas"]["library"] in ("OpenBLAS", "oneDNN", "BLIS") and len(d["blas"]["version"].split(".")) == 3 and d["blas"]["threads"] == 1 and d["blas"]["core"].lower() == (__import__("os").environ.get("OPENBLAS_CORETYPE") or d["blas"]["core"]).lower() != "" and (d["blas"]["core_chosen_by"] == "environment" and not d["blas"]["check"]["ran"] if __import__("os").environ.get("OPENBLAS_CORETYPE") else d["blas"]["check"]["ran"])'

# The kernels OpenBLAS picks itself: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (which this suite's
# environment may set) unset for these commands alone.
own() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }
tiny=(--limit 200 --epochs 1 --hidden 8 --latent 2 --threads 1)
core_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["blas"]["core"])' "$1/config.json"; }
own "$bin/vae-train" "${tiny[@]}" --out "$tmp/own" >/dev/null 2>"$tmp/own.err"
check "the library's own kernels are checked against the reference product once, in well under a second" \
  json_fields "$(cat "$tmp/own/config.json")" 'd["blas"]["core_chosen_by"] in ("library", "vaekit") and d["blas"]["check"]["ran"] and d["blas"]["check"]["passed"] and d["blas"]["check"]["products"] == 21 and 0 < d["blas"]["check"]["ms"] < 1000'
# Kernels that disagree with the reference (VAEKIT_BLAS_CHECK_FAIL plays them): one line, and a
# restart with the next weaker family (blas::weaker_core), whose products are checked in turn.
pick=$(core_of "$tmp/own")
own env VAEKIT_BLAS_CHECK_FAIL="$pick" "$bin/vae-train" "${tiny[@]}" --out "$tmp/fall" >/dev/null 2>"$tmp/fall.err"
check "$pick kernels that disagree with the reference: one line on stderr" \
  test "$(grep -c "OpenBLAS's $pick kernels disagree with a double-precision reference product" "$tmp/fall.err")" -eq 1
if grep -q "no weaker kernels to fall back to" "$tmp/fall.err"; then
  check "no weaker family than $pick: it runs on with them" test "$(core_of "$tmp/fall")" = "$pick"
else
  weaker=$(core_of "$tmp/fall")
  check "the fall-back restarts once with the next weaker family ($weaker), recorded with why and its check" \
    json_fields "$(cat "$tmp/fall/config.json")" "d['blas']['core'] != '$pick' and d['blas']['core_chosen_by'] == 'vaekit' and 'disagree' in d['blas']['restart'] and d['blas']['check']['passed'] and open('$tmp/fall.err').read().count('restarting with OPENBLAS_CORETYPE=$weaker\\n') == 1"
  own env VAEKIT_BLAS_CHECK_FAIL="$pick,$weaker" "$bin/vae-train" --help >/dev/null 2>"$tmp/fall2.err"
  check "a fall-back whose kernels disagree too goes on down, one line each" \
    test "$(grep -c "kernels disagree with a double-precision reference" "$tmp/fall2.err")" -eq 2
fi

# Kernels weaker than the CPU: the program restarts once with the best ones it can run (what
# blas::better_core picks, here read from /proc/cpuinfo), says so in one line and records them.
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }
best=
if has avx2 fma avx512f avx512bw avx512dq avx512vl; then best=SkylakeX; elif has avx2 fma; then best=Haswell; fi
own env VAEKIT_BLAS_CORE_CHOSEN=Prescott "$bin/vae-train" "${tiny[@]}" --out "$tmp/core" >/dev/null 2>"$tmp/core.err"
if [ -n "$best" ]; then
  check "weaker kernels than the CPU's: one line, one restart with $best" \
    test "$(grep -c "restarting with OPENBLAS_CORETYPE=$best\$" "$tmp/core.err")" -eq 1
  check "the restarted run records the $best kernels, why, and their check" json_fields "$(cat "$tmp/core/config.json")" \
    "d['blas']['core'] == '$best' and d['blas']['core_chosen_by'] == 'vaekit' and 'Prescott' in d['blas']['restart'] and d['blas']['check']['passed']"
else
  check "a CPU without AVX2 and FMA keeps OpenBLAS's kernels" test "$(grep -c restarting "$tmp/core.err")" -eq 0
fi
check "a set OPENBLAS_CORETYPE is the user's choice: no restart, no check" \
  test "$(OPENBLAS_CORETYPE=Prescott VAEKIT_BLAS_CORE_CHOSEN=Prescott VAEKIT_BLAS_CHECK_FAIL=Prescott "$bin/vae-train" --help 2>&1 >/dev/null | grep -c "restarting\|disagree")" -eq 0
check "its final.json has bits per dimension" json_fields "$(cat "$tmp/a/final.json")" \
  'abs(d["bits_per_dim"] - (d["test_nelbo"] + 784 * math.log(256)) / (784 * math.log(2))) < 1e-9'
"$bin/vae-eval" --run "$tmp/a" --threads 1 --limit 30 --write-test "$tmp/test-a" >/dev/null 2>&1
check "vae-eval --write-test writes the dequantized test images it evaluates" npy_fields "$tmp/test-a/images.npy" \
  'shape == (30, 784) and 0 < min(x) and max(x) < 1'
check "with their labels and what they are" json_fields "$(cat "$tmp/test-a/info.json")" \
  'd["form"] == "dequantized" and d["count"] == 30'
check "labels.npy" npy_fields "$tmp/test-a/labels.npy" 'shape == (30, 1) and all(v in range(10) for v in x)'
expect_error "bad --dequantize" "expected none or uniform" "$bin/vae-train" --dequantize gauss --out "$tmp/x"
expect_error "--dequantize with --binarize" "not with --binarize" "$bin/vae-train" --dequantize uniform --binarize static --out "$tmp/x"
"$bin/vae-eval" --run "$tmp/a" --threads 1 >/dev/null 2>&1
check "vae-eval reproduces final.json's test NELBO" close "$tmp/a/final.json" test_nelbo "$tmp/a/eval.json" test_nelbo 1e-9
check "vae-eval adds its evaluation to report.html" grep -q '<figure id="eval-latent-activity">' "$tmp/a/report.html"
"$bin/vae-eval" --run "$tmp/a" --threads 1 --seed 99 >/dev/null 2>&1
check "with other Monte Carlo samples it agrees within noise" close "$tmp/a/final.json" test_nelbo "$tmp/a/eval.json" test_nelbo 0.01

# --fid: the classifier trains once into its folder, then is reloaded; the distances and the
# sharpness ratio land in eval.json beside the evaluation.
"$bin/vae-eval" --run "$tmp/a" --threads 1 --fid 300 --classifier "$tmp/clf" >/dev/null 2>"$tmp/fid1.err"
check "vae-eval --fid trains the feature classifier and saves it" \
  test "$(grep -c 'feature classifier epoch' "$tmp/fid1.err")" -eq 5 -a -s "$tmp/clf/manifest.json"
check "eval.json has sample_quality: the FID of the samples far above the floor of real images, the sharpness ratio" \
  json_fields "$(cat "$tmp/a/eval.json")" 'all(q["n"] == 300 and math.isfinite(q["fid"]) and 0 <= q["fid_real"] < q["fid"] and
  0 < q["laplacian_variance_ratio"] == q["laplacian_variance_samples"] / q["laplacian_variance_real"] and
  "width 256" in q["features"] and "Inception" in q["features"] and q["classifier"]["train_images"] == 50000
  for q in [d["sample_quality"]])'
cp "$tmp/a/eval.json" "$tmp/fid1.json"
"$bin/vae-eval" --run "$tmp/a" --threads 1 --fid 300 --classifier "$tmp/clf" >/dev/null 2>"$tmp/fid2.err"
check "a second --fid reloads the classifier (no training) and measures the same distance" \
  test "$(grep -c 'feature classifier epoch' "$tmp/fid2.err")" -eq 0 -a \
  "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["sample_quality"]["fid"])' "$tmp/a/eval.json")" = \
  "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["sample_quality"]["fid"])' "$tmp/fid1.json")"
expect_error "vae-eval --fid 0" "--fid: 0 is not between 1 and 10000 (the test images)" \
  "$bin/vae-eval" --run "$tmp/a" --fid 0 --classifier "$tmp/clf"
expect_error "vae-eval --fid beyond the test set" "--fid: 10001 is not between 1 and 10000" \
  "$bin/vae-eval" --run "$tmp/a" --fid 10001 --classifier "$tmp/clf"
expect_error "vae-eval --classifier without --fid" "--classifier is the classifier of --fid" \
  "$bin/vae-eval" --run "$tmp/a" --classifier "$tmp/clf"
expect_error "vae-eval --classifier on a folder that holds something else" "not a classifier's folder" \
  "$bin/vae-eval" --run "$tmp/a" --threads 1 --fid 10 --classifier "$tmp/a"

"$bin/vae-train" --limit 1000 --epochs 1 --hidden 32 --latent 2 --threads 1 --out "$tmp/two" >/dev/null 2>&1
check "a 2-D latent space gets latent.png and manifold.png" test -s "$tmp/two/latent.png" -a -s "$tmp/two/manifold.png"
# 12 samples of 28x28 at scale 2 in rows of 4 with 2 pixels between: 2 + 4 * 58 wide, 2 + 3 * 58 high.
"$bin/vae-sample" --run "$tmp/a" --n 12 --out "$tmp/s.png" 2>/dev/null
"$bin/vae-sample" --run "$tmp/a" --n 12 --out "$tmp/s2.png" 2>/dev/null
"$bin/vae-sample" --run "$tmp/a" --n 12 --out "$tmp/noise.png" --noise 2>/dev/null
check "vae-sample's grid has the size of 12 samples in rows of 4" png_fields "$tmp/s.png" 'width == 234 and height == 176'
check "the samples are not blank: the first one's middle row has many shades" png_fields "$tmp/s.png" 'len(set(px[30][6:174])) > 10'
check "the same seed draws the same samples" cmp -s "$tmp/s.png" "$tmp/s2.png"
# The first sample spans rows and columns 2..57 (RGB, 3 bytes a pixel): with noise of sigma^2 most
# of its pixels change, and outside the samples the white background does not.
check "--noise adds sigma^2's noise: most pixels of the first sample change" png_pair "$tmp/s.png" "$tmp/noise.png" \
  'sum(a[r][j] != b[r][j] for r in range(2, 58) for j in range(6, 174)) > 0.5 * 56 * 168 and a[0] == b[0]'

# The conv VAE: a run folder that vae-eval and vae-sample rebuild from its manifest.
"$bin/vae-train" --arch conv --limit 256 --epochs 1 --latent 4 --likelihood bernoulli --binarize dynamic \
  --threads 1 --out "$tmp/conv" >/dev/null 2>&1
check "vae-train --arch conv writes every result file" test -s "$tmp/conv/final.json" -a -s "$tmp/conv/samples.png" \
  -a -s "$tmp/conv/checkpoint/encoder.trunk.0.weight.npy" -a -s "$tmp/conv/checkpoint/decoder.7.weight.npy"
"$bin/vae-eval" --run "$tmp/conv" --threads 1 --iw 4 --limit 20 >/dev/null 2>&1
check "vae-eval rebuilds the conv VAE" json_fields "$(cat "$tmp/conv/eval.json")" \
  'd["test_count"] == 20 and math.isfinite(d["iw_nll"]) and d["iw_nll"] > 0'
check "vae-sample draws from the conv VAE" "$bin/vae-sample" --run "$tmp/conv" --n 4 --out "$tmp/conv.png"
# The discretized logistic of the 8-bit pixels: their bits/dim without dequantizing, mlp and conv,
# a run folder that vae-eval and vae-sample rebuild.
"$bin/vae-train" --likelihood logistic --limit 1000 --epochs 2 --hidden 64 --latent 4 --threads 1 --seed 3 \
  --out "$tmp/logistic" >/dev/null 2>&1
check "a logistic run reads the 8-bit pixels as they are" json_fields "$(cat "$tmp/logistic/config.json")" \
  'd["training"]["dequantize"] == "none" and d["model"]["likelihood"] == "logistic" and d["model"]["logistic_mixture"] == 1'
check "its final.json has bits/dim of the 8-bit data, NELBO / (784 ln 2)" json_fields "$(cat "$tmp/logistic/final.json")" \
  'd["test_nelbo"] > 0 and abs(d["bits_per_dim"] - d["test_nelbo"] / (784 * math.log(2))) < 1e-9 and d["sigma2"] is None'
"$bin/vae-eval" --run "$tmp/logistic" --threads 1 >/dev/null 2>&1
check "vae-eval rebuilds the logistic VAE to final.json's test NELBO" close "$tmp/logistic/final.json" test_nelbo \
  "$tmp/logistic/eval.json" test_nelbo 1e-9
"$bin/vae-eval" --run "$tmp/logistic" --threads 1 --iw 10 --limit 40 --write-test "$tmp/test-l" >/dev/null 2>&1
check "its IW estimate in bits/dim too" json_fields "$(cat "$tmp/logistic/eval.json")" \
  'abs(d["iw_bits_per_dim"] - d["iw_nll"] / (784 * math.log(2))) < 1e-9 and d["iw_nll"] < d["test_nelbo"] + 5'
check "--write-test of a logistic run writes the 8-bit values v / 255" npy_fields "$tmp/test-l/images.npy" \
  'shape == (40, 784) and all(abs(v * 255 - round(v * 255)) < 1e-4 for v in x) and len(set(x)) > 50'
"$bin/vae-sample" --run "$tmp/logistic" --n 12 --out "$tmp/l.png" 2>/dev/null
"$bin/vae-sample" --run "$tmp/logistic" --n 12 --out "$tmp/l-noise.png" --noise 2>/dev/null
check "vae-sample draws from the logistic VAE: its mean images" png_fields "$tmp/l.png" 'width == 234 and len(set(px[30][6:174])) > 10'
check "and with --noise its draws, rounded to 8-bit values: most pixels differ" png_pair "$tmp/l.png" "$tmp/l-noise.png" \
  'sum(a[r][j] != b[r][j] for r in range(2, 58) for j in range(6, 174)) > 0.5 * 56 * 168 and a[0] == b[0]'
"$bin/vae-train" --arch conv --likelihood logistic --logistic-mixture 2 --limit 256 --epochs 1 --latent 4 --threads 1 \
  --out "$tmp/conv-l" >/dev/null 2>&1
check "vae-train --arch conv --likelihood logistic --logistic-mixture 2: 6 channels per pixel from the decoder" \
  npy_fields "$tmp/conv-l/checkpoint/decoder.7.bias.npy" 'shape == (1, 6)'
"$bin/vae-eval" --run "$tmp/conv-l" --threads 1 --iw 4 --limit 20 >/dev/null 2>&1
check "vae-eval rebuilds the conv logistic VAE" json_fields "$(cat "$tmp/conv-l/eval.json")" \
  'd["test_count"] == 20 and math.isfinite(d["iw_nll"]) and 0 < d["iw_bits_per_dim"] < 8'
check "vae-sample draws from it" "$bin/vae-sample" --run "$tmp/conv-l" --n 4 --noise --out "$tmp/conv-l.png"
expect_error "--arch conv with a label" "conditional models are mlp only" "$bin/vae-train" --arch conv --model cvae --out "$tmp/x"
expect_error "--arch conv with --hidden" "--hidden is for --arch mlp" "$bin/vae-train" --arch conv --hidden 64 --out "$tmp/x"
expect_error "unknown --arch" "unknown architecture 'rnn'" "$bin/vae-train" --arch rnn --out "$tmp/x"

"$bin/vae-train" --objective iwae --k 5 --limit 500 --epochs 1 --hidden 32 --latent 4 --likelihood bernoulli \
  --binarize dynamic --threads 1 --out "$tmp/iwae" >/dev/null 2>&1
check "vae-train --objective iwae records its objective and trains" json_fields "$(cat "$tmp/iwae/config.json")" \
  'd["training"]["objective"] == "iwae" and d["training"]["k"] == 5'
check "the iwae run has a finite test NELBO" json_fields "$(cat "$tmp/iwae/final.json")" 'math.isfinite(d["test_nelbo"])'
"$bin/vae-train" --lr-schedule cosine --limit 500 --epochs 2 --hidden 32 --latent 4 --threads 1 --out "$tmp/cosine" >/dev/null 2>&1
check "vae-train --lr-schedule cosine records its schedule and trains" json_fields "$(cat "$tmp/cosine/config.json")" \
  'd["training"]["lr_schedule"] == "cosine" and d["training"]["epochs"] == 2'
check "the cosine run has a finite test NELBO" json_fields "$(cat "$tmp/cosine/final.json")" 'math.isfinite(d["test_nelbo"])'
# --ema: the same steps as run a, evaluated with the parameters' average, which vae-eval loads too.
"$bin/vae-train" "${small[@]}" --ema 0.99 --out "$tmp/ema" >/dev/null 2>&1
check "vae-train --ema records its decay and keeps the average in the checkpoint" json_fields \
  "[$(cat "$tmp/ema/config.json"), $(cat "$tmp/ema/checkpoint/manifest.json")]" \
  'd[0]["training"]["ema"] == 0.99 and any(a["name"] == "ema" for a in d[1]["training_state"]["arrays"])'
check "final.json describes the average: another checksum and test NELBO than the same steps without --ema" json_fields \
  "[$(cat "$tmp/a/final.json"), $(cat "$tmp/ema/final.json")]" \
  'd[0]["parameter_checksum"] != d[1]["parameter_checksum"] and d[0]["test_nelbo"] != d[1]["test_nelbo"]'
"$bin/vae-eval" --run "$tmp/ema" --threads 1 >/dev/null 2>&1
check "vae-eval evaluates the average: final.json's test NELBO" close "$tmp/ema/final.json" test_nelbo "$tmp/ema/eval.json" test_nelbo 1e-9
"$bin/vae-train" --limit 2000 --epochs 1 --hidden 64 --latent 4 --seed 3 --threads 2 --split batch --out "$tmp/split" >/dev/null 2>&1
check "vae-train --split batch records the split and trains" json_fields "[$(cat "$tmp/split/config.json"), $(cat "$tmp/split/final.json")]" \
  'd[0]["training"]["split"] == "batch" and d[0]["training"]["threads"] == 2 and math.isfinite(d[1]["test_nelbo"])'
expect_error "unknown --split" "unknown --split 'rows' (expected ops or batch)" "$bin/vae-train" --split rows --out "$tmp/x"
# --split auto, the default: shards on two threads, the op split where a figure of the whole batch
# enters the step or where one thread runs it; an explicit --split batch there is refused.
"$bin/vae-train" --limit 300 --epochs 1 --hidden 16 --latent 2 --threads 2 --out "$tmp/auto2" >/dev/null 2>&1
"$bin/vae-train" --limit 300 --epochs 1 --hidden 16 --latent 2 --threads 2 --free-bits 0.1 --out "$tmp/auto-fb" >/dev/null 2>&1
"$bin/vae-train" --limit 300 --epochs 1 --hidden 16 --latent 2 --threads 1 --out "$tmp/auto1" >/dev/null 2>&1
check "--split auto: batch on 2 threads, ops with --free-bits and on 1 thread" json_fields \
  "[$(cat "$tmp/auto2/config.json"), $(cat "$tmp/auto-fb/config.json"), $(cat "$tmp/auto1/config.json")]" \
  '[r["training"]["split"] for r in d] == ["batch", "ops", "ops"]'
expect_error "--split batch with --free-bits" "not with --free-bits" \
  "$bin/vae-train" --limit 300 --epochs 1 --hidden 16 --latent 2 --threads 2 --free-bits 0.1 --split batch --out "$tmp/x"
expect_error "--ema out of range" "--ema must be in .0, 1)" "$bin/vae-train" --ema 1 --out "$tmp/x"
expect_error "unknown --lr-schedule" "unknown --lr-schedule 'step' (expected constant or cosine)" \
  "$bin/vae-train" --lr-schedule step --out "$tmp/x"
expect_error "--lr-schedule on --resume" "--lr-schedule" "$bin/vae-train" --resume "$tmp/cosine" --lr-schedule constant
if "$bin/vae-bench" --arch 16-8-2 --batch 4 --seconds 0.01 --precision bf16 >/dev/null 2>&1; then
  "$bin/vae-train" --limit 2000 --epochs 1 --hidden 64 --latent 4 --seed 3 --threads 2 --precision bf16 --out "$tmp/bf16" >/dev/null 2>&1
  "$bin/vae-train" --resume "$tmp/bf16" --epochs 2 >/dev/null 2>&1
  check "vae-train --precision bf16 records it, trains and resumes" json_fields "[$(cat "$tmp/bf16/config.json"), $(cat "$tmp/bf16/final.json")]" \
    'd[0]["training"]["precision"] == "bf16" and d[0]["training"]["epochs"] == 2 and math.isfinite(d[1]["test_nelbo"])'
  expect_error "--precision on --resume" "--precision cannot be given with --resume" "$bin/vae-train" --resume "$tmp/bf16" --precision float
else
  echo "skipped: --precision bf16 (this build or CPU has no bf16 products)"
fi
"$bin/vae-eval" --run "$tmp/iwae" --threads 1 --limit 20 --write-test "$tmp/test-b" >/dev/null 2>&1
check "--write-test of a Bernoulli run writes the binarized images" npy_fields "$tmp/test-b/images.npy" \
  'shape == (20, 784) and set(x) == {0.0, 1.0}'
"$bin/vae-train" --model hvae --hidden 32 --latent 8 --hidden2 16 --latent2 4 --limit 500 --epochs 1 \
  --likelihood bernoulli --binarize dynamic --threads 1 --out "$tmp/hvae" >/dev/null 2>&1
"$bin/vae-eval" --run "$tmp/hvae" --threads 1 --iw 8 --limit 20 >/dev/null 2>&1
check "vae-eval rebuilds an hvae and estimates -log p(x) over both layers" json_fields "$(cat "$tmp/hvae/eval.json")" \
  'math.isfinite(d["iw_nll"]) and d["iw_nll"] <= d["test_nelbo"] + 5'
check "vae-sample draws from an hvae ancestrally" "$bin/vae-sample" --run "$tmp/hvae" --n 4 --out "$tmp/hvae.png"
"$bin/vae-train" --model flow --hidden 32 --flow-steps 2 --limit 300 --epochs 1 --threads 1 --out "$tmp/flow" >/dev/null 2>&1
"$bin/vae-eval" --run "$tmp/flow" --threads 1 >/dev/null 2>&1
flow_bits=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['bits_per_dim'])" "$tmp/flow/final.json" 2>/dev/null || echo nan)
check "--model flow trains on dequantized pixels; vae-eval rebuilds it to the same bits/dim" json_fields \
  "$(cat "$tmp/flow/eval.json")" "math.isfinite(d['bits_per_dim']) and abs(d['bits_per_dim'] - $flow_bits) < 1e-9"
check "vae-sample draws from a flow through its inverse" "$bin/vae-sample" --run "$tmp/flow" --n 4 --out "$tmp/flow.png"
"$bin/vae-train" --model diffusion --diffusion-steps 5 --bound-images 4 --batch 50 --limit 100 --epochs 1 --threads 1 \
  --out "$tmp/diffusion" >/dev/null 2>&1
"$bin/vae-eval" --run "$tmp/diffusion" --threads 1 >/dev/null 2>&1
diffusion_bits=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['bits_per_dim'])" "$tmp/diffusion/final.json" 2>/dev/null || echo nan)
check "--model diffusion reports its bound over --bound-images images; vae-eval rebuilds it to the same bits/dim" json_fields \
  "$(cat "$tmp/diffusion/eval.json")" "d['bound_images'] == 4 and d['test_count'] == 4 and math.isfinite(d['bits_per_dim']) and abs(d['bits_per_dim'] - $diffusion_bits) < 1e-9"
check "vae-sample draws from a diffusion model by its ancestral chain" "$bin/vae-sample" --run "$tmp/diffusion" --n 4 --out "$tmp/diffusion.png"
cp -r "$tmp/diffusion" "$tmp/diffusion1"
check "vae-eval --limit 1: every latent's activity is 0, nothing to chart on a log axis, the page written still" \
  "$bin/vae-eval" --run "$tmp/diffusion1" --limit 1 --threads 1
check "vae-sample --sample-steps 3 draws on 3 of the 5 steps, respaced" "$bin/vae-sample" --run "$tmp/diffusion" --n 4 \
  --sample-steps 3 --out "$tmp/diffusion3.png"
check "--sample-steps changes the draws" bash -c '! cmp -s "$0" "$1"' "$tmp/diffusion.png" "$tmp/diffusion3.png"
cp -r "$tmp/diffusion" "$tmp/diffusion6"
"$bin/vae-eval" --run "$tmp/diffusion6" --bound-images 6 --threads 1 >/dev/null 2>&1
check "vae-eval --bound-images 6 takes the bound over 6 test images, not the run's 4" json_fields \
  "$(cat "$tmp/diffusion6/eval.json")" "d['bound_images'] == 6 and d['test_count'] == 6 and math.isfinite(d['bits_per_dim'])"
expect_error "--k 0" "--k must be at least 1" "$bin/vae-train" --objective iwae --k 0 --out "$tmp/k0"
check "a bad flag leaves no run folder" test ! -e "$tmp/k0"
expect_error "--k with the ELBO" "the ELBO takes one sample" "$bin/vae-train" --k 5 --out "$tmp/x"
expect_error "iwae of an autoencoder" "needs a variational model" "$bin/vae-train" --model ae --objective iwae --out "$tmp/x"
expect_error "unknown --objective" "unknown objective 'mle'" "$bin/vae-train" --objective mle --out "$tmp/x"

"$bin/cvae-compare" --variants vae-bernoulli,prior-gaussian --epochs 1 --limit 500 --iw 5 --iw-limit 10 \
  --per-class 5 --classifier-epochs 1 --hidden 32 --latent 4 --threads 1 --out "$tmp/cc" >/dev/null 2>&1
check "cvae-compare writes its tables and a picture per variant" test -s "$tmp/cc/comparison.csv" \
  -a -s "$tmp/cc/comparison.md" -a -s "$tmp/cc/comparison.json" -a -s "$tmp/cc/prior-gaussian/samples_by_class.png"
check "each variant's folder has its report with its pictures" grep -q '<figure id="samples_by_class"><img' \
  "$tmp/cc/prior-gaussian/report.html"
check "and the comparison's report shows every variant's samples" grep -q '<figure id="vae-bernoulli"><img' "$tmp/cc/report.html"
cp "$tmp/cc/report.html" "$tmp/report-cc.html" && "$bin/vae-report" --run "$tmp/cc" 2>/dev/null
check "vae-report rebuilds the comparison's report byte for byte" cmp "$tmp/cc/report.html" "$tmp/report-cc.html"
check "the table has a row per variant" test "$(grep -c -e vae-bernoulli -e prior-gaussian "$tmp/cc/comparison.csv")" -eq 2
expect_error "unknown cvae variant" "unknown variant" "$bin/cvae-compare" --variants nope --out "$tmp/cc2"
expect_error "unknown --model" "unknown model 'gan'" "$bin/vae-train" --model gan --out "$tmp/x"
expect_error "unknown --sigma" "unknown sigma" "$bin/vae-train" --sigma huge --out "$tmp/x"
expect_error "bad --hidden" "not a comma list" "$bin/vae-train" --hidden 400,x --out "$tmp/x"
expect_error "non-numeric --epochs" "epochs" "$bin/vae-train" --epochs many --out "$tmp/x"
expect_error "missing data folder" "/nonexistent" "$bin/vae-train" --data /nonexistent --out "$tmp/x"
expect_error "run folder without config" "not a run folder" "$bin/vae-eval" --run "$tmp/none"
mkdir -p "$tmp/nockpt" && cp "$tmp/a/config.json" "$tmp/nockpt/"
expect_error "run folder without a checkpoint" "no checkpoint" "$bin/vae-eval" --run "$tmp/nockpt"
# (With the previous checkpoint kept, vae-eval falls back to it: tests/test_resume.sh.)
cp -r "$tmp/a" "$tmp/bad" && rm -r "$tmp/bad/checkpoint.1"
cp "$tmp/bad/checkpoint/encoder.mu.bias.npy" "$tmp/bad/checkpoint/decoder.0.bias.npy"
expect_error "checkpoint that does not match its manifest" "checkpoint/decoder.0.bias.npy: truncated" "$bin/vae-eval" --run "$tmp/bad"
expect_error "vae-sample without a run" "not a run folder" "$bin/vae-sample" --run "$tmp/none" --out "$tmp/y.png"

# Every program checks its flags' types, ranges and combinations before it writes anything:
# one line naming the flag, a non-zero exit. (PROGRAM | PATTERN | ARGUMENTS...)
echo '{"grid": {"--out": ["x"]}}' >"$tmp/grid-out.json"
echo '{"grid": {"--seed": []}}' >"$tmp/grid-empty.json"
echo '{"runs": {}}' >"$tmp/grid-key.json"
while IFS='|' read -r program pattern args; do
  read -ra argv <<<"$args"
  expect_error "$program$args" "$pattern" "$bin/$program" "${argv[@]}"
done <<FLAGS
vae-train|--batch: must be between 1 and 65536, got 0| --batch 0 --out $tmp/bad1
vae-train|--batch: '-1' is not a whole number| --batch -1 --out $tmp/bad1
vae-train|exclude each other| --batch 64 --batch-per-rank 32 --out $tmp/bad1
vae-train|--batch-per-rank must be at least 1| --batch-per-rank 0 --out $tmp/bad1
vae-train|--latent must be at least 1| --latent 0 --out $tmp/bad1
vae-train|--sigma fixed needs --sigma2| --sigma fixed --out $tmp/bad1
vae-train|--sigma2 is the variance of --sigma fixed| --sigma2 0.1 --out $tmp/bad1
vae-train|--sigma2 must be positive| --sigma fixed --sigma2 0 --out $tmp/bad1
vae-train|--lr: 'inf' is not a finite number| --lr inf --out $tmp/bad1
vae-train|--lr must be positive| --lr 0 --out $tmp/bad1
vae-train|--epochs: '1.5' is not a whole number| --epochs 1.5 --out $tmp/bad1
vae-train|--threads: must be between 1 and 256| --threads 0 --out $tmp/bad1
vae-train|--max-grad-norm must be positive| --max-grad-norm -1 --out $tmp/bad1
vae-train|--checkpoint-every must be at least 1| --checkpoint-every 0 --out $tmp/bad1
vae-train|--lambda is for --model rae| --lambda 0.1 --out $tmp/bad1
vae-train|--embedding is the label embedding width| --model cvae --embedding 4 --out $tmp/bad1
vae-train|--latent2 is for --model hvae| --latent2 3 --out $tmp/bad1
vae-train|--model flow is a density over dequantized pixels| --model flow --binarize dynamic --out $tmp/bad1
vae-train|--latent must be 784, not 20| --model flow --latent 20 --out $tmp/bad1
vae-train|unknown --beta-schedule 'quadratic' (expected linear or cosine)| --model diffusion --beta-schedule quadratic --out $tmp/bad1
vae-train|--model diffusion is a density over dequantized pixels| --model diffusion --binarize dynamic --out $tmp/bad1
vae-train|--iw: must be between 0 and 100000| --iw 1000000 --out $tmp/bad1
vae-train|--likelihood logistic is a distribution over the 8-bit pixels: not with --binarize| --likelihood logistic --binarize dynamic --out $tmp/bad1
vae-train|--likelihood logistic is a distribution over the 8-bit pixels themselves: not with --dequantize uniform| --likelihood logistic --dequantize uniform --out $tmp/bad1
vae-train|--sigma is the Gaussian noise model's; --likelihood logistic has none| --likelihood logistic --sigma per-pixel --out $tmp/bad1
vae-train|--sigma2 is the Gaussian noise model's; --likelihood logistic has none| --likelihood logistic --sigma2 0.1 --out $tmp/bad1
vae-train|--logistic-mixture is for --likelihood logistic| --logistic-mixture 3 --out $tmp/bad1
vae-train|--logistic-mixture: must be between 1 and 32| --likelihood logistic --logistic-mixture 0 --out $tmp/bad1
vae-train|--likelihood logistic is the p(x.z) of a VAE kind; --model ae has none| --model ae --likelihood logistic --out $tmp/bad1
vae-train|unknown likelihood 'poisson'| --likelihood poisson --out $tmp/bad1
vae-eval|--iw: '-5' is not a whole number| --run $tmp/a --iw -5
vae-eval|--threads: must be between 1 and 256| --run $tmp/a --threads 0
vae-eval|--limit: 'all' is not a whole number| --run $tmp/a --limit all
vae-sample|--n must be between 1 and 10000| --run $tmp/a --n 0 --out $tmp/bad.png
vae-sample|--seed: '-2' is not a whole number| --run $tmp/a --seed -2 --out $tmp/bad.png
vae-sample|the run in $tmp/iwae has none (its likelihood is bernoulli)| --run $tmp/iwae --noise --out $tmp/bad.png
vae-sample|--sample-steps is a setting of other kinds: the run in $tmp/iwae is --model vae| --run $tmp/iwae --sample-steps 3 --out $tmp/bad.png
vae-sample|--sample-steps must be 2 to --diffusion-steps (5), not 6| --run $tmp/diffusion --sample-steps 6 --out $tmp/bad.png
vae-eval|--sample-steps must be 2 to --diffusion-steps (5), not 1| --run $tmp/diffusion --sample-steps 1 --fid 10
vae-eval|--bound-images is a setting of other kinds: the run in $tmp/iwae is --model vae| --run $tmp/iwae --bound-images 3
vae-bench|--batch: must be between 1 and 65536| --batch 0
vae-bench|--seconds: must be between 0.001 and 3600| --seconds 0
vae-bench|--k must be at least 1| --objective iwae --k 0
vae-bench|--model must be an unconditional VAE| --model ae
cvae-compare|--latent must be at least 1| --latent 0 --out $tmp/bad1
cvae-compare|--batch: must be between 1 and 65536| --batch 0 --out $tmp/bad1
cvae-compare|--epochs must be at least 1| --epochs 0 --out $tmp/bad1
cvae-compare|--iw-limit must be at least 1| --iw 5 --iw-limit 0 --out $tmp/bad1
cvae-compare|--resume: $tmp/bad1 holds no comparison| --resume --out $tmp/bad1
vae-sweep|--grid $tmp/nope.json: cannot read the file| --grid $tmp/nope.json --out $tmp/bad1
vae-sweep|grid: --out is the sweep's to set| --grid $tmp/grid-out.json --out $tmp/bad1
vae-sweep|grid: --seed needs a non-empty list| --grid $tmp/grid-empty.json --out $tmp/bad1
vae-sweep|grid: unknown key "runs"| --grid $tmp/grid-key.json --out $tmp/bad1
FLAGS
check "no bad flag left a folder or a file behind" test ! -e "$tmp/bad1" -a ! -e "$tmp/bad.png"

finish programs
