#!/usr/bin/env bash
# The programs on images of other forms and shapes than Fashion-MNIST's IDX files: a synthetic
# 32x32 RGB set written as CIFAR-10 batches and as .npy arrays (conv and mlp: train, evaluate,
# sample, report), a grey non-square .npy file, a .npy copy of Fashion-MNIST that must train to
# the same bits as the IDX folder, and the one-line errors of broken files.
set -uo pipefail
bin="$1/experiments"
source "$(dirname "$0")/programs_lib.sh"
export PYTHONDONTWRITEBYTECODE=1  # the scripts import tests/synthetic_images.py: no __pycache__ in the tree

# The images of tests/synthetic_images.py: the same 240 RGB blobs as CIFAR-10 batches and as an .npy
# folder, and 140 grey 20x12 ones in one float32 .npy file.
here="$(cd "$(dirname "$0")" && pwd)"
python3 "$here/synthetic_images.py" "$tmp"

tiny=(--limit 200 --epochs 1 --batch 50 --threads 1 --seed 2)
"$bin/vae-train" "${tiny[@]}" --hidden 32 --latent 4 --data "$tmp/cifar" --out "$tmp/mlp-cifar" >/dev/null 2>"$tmp/err"
check "vae-train --arch mlp reads CIFAR-10 batches" test -s "$tmp/mlp-cifar/final.json"
check "config.json records the form and shape of the data, the model its image" json_fields "$(cat "$tmp/mlp-cifar/config.json")" \
  'd["data"]["form"] == "cifar10" and (d["data"]["height"], d["data"]["width"], d["data"]["channels"]) == (32, 32, 3) and d["model"]["image"] == {"height": 32, "width": 32, "channels": 3} and d["model"]["input_dim"] == 3072'
"$bin/vae-train" "${tiny[@]}" --hidden 32 --latent 4 --data "$tmp/rgb-npy" --out "$tmp/mlp-npy" >/dev/null 2>&1
check "the same images as .npy arrays (channels last) train to the same final.json as the CIFAR planes" \
  json_equal_except_time "$tmp/mlp-cifar/final.json" "$tmp/mlp-npy/final.json"
"$bin/vae-eval" --run "$tmp/mlp-npy" --threads 1 >/dev/null 2>&1
check "vae-eval of the .npy run reproduces its test NELBO" close "$tmp/mlp-npy/final.json" test_nelbo "$tmp/mlp-npy/eval.json" test_nelbo 1e-9

"$bin/vae-train" "${tiny[@]}" --arch conv --latent 4 --data "$tmp/cifar" --out "$tmp/conv" >/dev/null 2>"$tmp/conv.err"
check "vae-train --arch conv trains on 32x32x3 images" test -s "$tmp/conv/final.json" -a -s "$tmp/conv/report.html"
cp "$tmp/conv/report.html" "$tmp/report-conv.html"
"$bin/vae-report" --run "$tmp/conv" 2>/dev/null
check "vae-report rebuilds the RGB run's page byte for byte, its pictures embedded" \
  bash -c "cmp -s '$tmp/conv/report.html' '$tmp/report-conv.html' && grep -q 'data:image/png;base64,' '$tmp/conv/report.html'"
"$bin/vae-eval" --run "$tmp/conv" --threads 1 --iw 4 --limit 20 >/dev/null 2>&1
check "vae-eval rebuilds the 32x32x3 conv VAE" json_fields "$(cat "$tmp/conv/eval.json")" \
  'd["test_count"] == 20 and math.isfinite(d["iw_nll"])'
# 4 samples of 32x32 at scale 2 in rows of 2, 2 pixels apart: 2 + 2 * 66 square, in colour.
"$bin/vae-sample" --run "$tmp/conv" --n 4 --out "$tmp/conv.png" 2>/dev/null
check "vae-sample draws 32x32 RGB samples of the conv VAE" png_fields "$tmp/conv.png" \
  'width == 134 and height == 134 and any(row[3 * x] != row[3 * x + 1] for row in px[2:66] for x in range(2, 66))'
check "the reconstructions of the report show the test images in colour" png_fields "$tmp/conv/reconstructions.png" \
  'any(row[3 * x] != row[3 * x + 2] for row in px[2:66] for x in range(2, 66))'
"$bin/vae-train" "${tiny[@]}" --arch conv --latent 4 --data "$tmp/rgb-npy" --out "$tmp/conv-npy" >/dev/null 2>&1
check "the conv VAE trains to the same final.json on the .npy arrays" \
  json_equal_except_time "$tmp/conv/final.json" "$tmp/conv-npy/final.json"

"$bin/vae-train" --epochs 1 --batch 40 --threads 1 --hidden 16 --latent 2 --data "$tmp/grey.npy" --out "$tmp/grey" >/dev/null 2>&1
check "one float .npy file of 140 grey 20x12 images: the last 20 are the test set" json_fields "$(cat "$tmp/grey/config.json")" \
  'd["data"]["form"] == "npy" and d["data"]["train_count"] == 120 and d["data"]["test_count"] == 20 and d["model"]["image"] == {"height": 20, "width": 12, "channels": 1}'
"$bin/vae-sample" --run "$tmp/grey" --n 4 --out "$tmp/grey.png" 2>/dev/null
check "vae-sample draws them 20 high and 12 wide" png_fields "$tmp/grey.png" 'width == 2 + 2 * 26 and height == 2 + 2 * 42'
check "and the run's pictures too (2-D latent: the manifold of 20 x 20 tiles)" png_fields "$tmp/grey/manifold.png" \
  'width == 20 * 12 and height == 20 * 20'
expect_error "--arch conv on 20x12 images names the shapes it is built for" \
  "--arch conv is built for 28x28x1 and 32x32x3 images (height x width x channels); the data are 20x12x1" \
  "$bin/vae-train" --arch conv --data "$tmp/grey.npy" --out "$tmp/bad1"
expect_error "--model cvae on images without labels" "needs labels of two classes or more" \
  "$bin/vae-train" --model cvae --data "$tmp/grey.npy" --out "$tmp/bad1"

# Broken files: one line naming the file and what is wrong, no run folder.
mkdir -p "$tmp/broken"
cp -r "$tmp/cifar" "$tmp/broken/cifar" && head -c 3000 "$tmp/cifar/test_batch.bin" >"$tmp/broken/cifar/test_batch.bin"
expect_error "a CIFAR batch of the wrong size" "test_batch.bin: 3000 bytes is not a whole number of 3073-byte records" \
  "$bin/vae-train" --data "$tmp/broken/cifar" --out "$tmp/bad1"
cp -r "$tmp/rgb-npy" "$tmp/broken/labels" && cp "$tmp/rgb-npy/test_labels.npy" "$tmp/broken/labels/train_labels.npy"
expect_error "labels of another length" "train_labels.npy: 40 labels for 200 images" \
  "$bin/vae-train" --data "$tmp/broken/labels" --out "$tmp/bad1"
PYTHONPATH="$here" python3 - "$tmp/broken" <<'PY'
import sys
from synthetic_images import npy
npy(sys.argv[1] + "/ints.npy", "<i4", (4, 2, 2), bytes(64))
npy(sys.argv[1] + "/flat.npy", "|u1", (4, 16), bytes(64))
PY
expect_error "an array of the wrong dtype" "ints.npy: unsupported dtype '<i4' (expected '|u1', '<f4' or '<f8')" \
  "$bin/vae-train" --data "$tmp/broken/ints.npy" --out "$tmp/bad1"
expect_error "an array of the wrong rank" "flat.npy: images are \[N, H, W\] or \[N, H, W, C\]; this array is (4, 16)" \
  "$bin/vae-train" --data "$tmp/broken/flat.npy" --out "$tmp/bad1"
check "no broken input left a run folder" test ! -e "$tmp/bad1"

# A .npy copy of Fashion-MNIST (its first 600 training images and the test set, uint8 [N, 28, 28],
# uint8 labels) trains to the same bits as the IDX folder.
data=/usr/share/datasets/fashion-mnist
if [ -d "$data" ]; then
  python3 "$here/synthetic_images.py" --copy-idx "$data" "$tmp/fashion-npy" 600
  same=(--limit 600 --epochs 1 --hidden 32 --latent 4 --threads 1 --seed 4)
  "$bin/vae-train" "${same[@]}" --data "$data" --out "$tmp/idx" >/dev/null 2>&1
  "$bin/vae-train" "${same[@]}" --data "$tmp/fashion-npy" --out "$tmp/npy" >/dev/null 2>&1
  check "a .npy copy of Fashion-MNIST trains to the IDX folder's final.json" json_equal_except_time "$tmp/idx/final.json" "$tmp/npy/final.json"
  check "(its parameter_checksum among them) and to the same checkpoint, byte for byte" bash -c "cd '$tmp/idx/checkpoint' && for f in *.npy; do cmp -s \"\$f\" '$tmp/npy/checkpoint/'\"\$f\" || exit 1; done"
  check "config.json says what it read" json_fields "$(cat "$tmp/npy/config.json")" \
    'd["data"]["form"] == "npy-folder" and d["model"]["image"] == {"height": 28, "width": 28, "channels": 1}'
else
  echo "skipped the Fashion-MNIST copy: $data is missing (scripts/test installs dataset-fashion-mnist)"
fi

finish images
