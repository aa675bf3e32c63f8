#!/usr/bin/env python3
"""The comparison peer of vae-bench: the same VAE, batch and optimizer in PyTorch.

--arch mlp (default): 784-H-Z ReLU encoder with mu and log-variance heads, mirrored decoder.
--arch conv, on the 28x28 images: encoder Conv2d(1, 32, 4, stride 2, pad 1), ReLU,
Conv2d(32, 64, 4, 2, 1), ReLU, flatten (3136), Linear(3136, 256), ReLU, heads Linear(256, 32) for
mu and log-variance; decoder Linear(32, 256), ReLU, Linear(256, 3136), ReLU, reshape [64, 7, 7],
ConvTranspose2d(64, 32, 4, 2, 1), ReLU, ConvTranspose2d(32, 1, 4, 2, 1), flatten to 784 logits.
--model hvae: vaekit's two stochastic layers on 784-H-Z with tanh, z2 of 50 behind 50-50 (see
torch_models.py, where the models live). --model diffusion: vaekit's U-Net of base width B = --hidden
(32 as vae-bench's --arch 784-32-784) on Ho et al.'s simple loss (torch_diffusion.py). All: PyTorch's default init, Adam 1e-3; Bernoulli
likelihood from logits (as pytorch/examples), Gaussian with a learned scalar log sigma^2 on the
sigmoid mean, or the discretized logistic of the 8-bit pixels (a location and a log-scale per
pixel, vaekit's --likelihood logistic). Prints one JSON line per run, in vaekit's field names (arch: 784-H-Z or conv).

Modes:
  step   (default) the median time of one training step on a fixed random binary batch, after
         3 warm-up steps, repeated for --seconds. Fields: peer, arch, likelihood, batch, threads,
         step_ms, images_per_second.
  epoch  the pytorch/examples VAE protocol on Fashion-MNIST, timed as whole epochs: each epoch
         shuffles with torch.randperm, takes batches of --batch (the last partial one included),
         binarizes each batch afresh with torch.bernoulli (Gaussian: the [0,1] images as they
         are), and takes an Adam step on the mean loss per image. Loading is not timed; the
         shuffling, indexing and binarization are. Fields: peer, mode, arch, likelihood, batch,
         threads, epochs, images, seconds, images_per_second, final_loss (mean loss per image
         of the last epoch).
  iw     the importance-weighted estimate of -log p(x) with K = --iw samples on the first
         --limit test images (binarized at x > 0.5 for Bernoulli), with the arithmetic of
         vaekit's estimator: encode x once; z = mu + exp(logvar / 2) eps for K draws
         eps ~ N(0, I) from a torch.Generator seeded with --seed;
         log w = log p(x|z) + sum_j [-z_j^2 / 2 + eps_j^2 / 2 + logvar_j / 2] (the log 2 pi
         terms of p(z) and q(z|x) cancel); log p(x) ~ logsumexp(log w) - log K. The decoder
         runs the K samples of --iw-batch-images images as one batch. The model is as
         initialised unless --train-steps trains it first (untimed). Fields: peer, mode, arch,
         likelihood, threads, iw, iw_batch_images, train_steps, images, seconds,
         images_per_second, iw_nll.
  quality  trains for --epochs on the epoch protocol (all training images), on the ELBO or with
         --objective iwae --k K on the bound of Burda et al., -mean(logsumexp(log w) - log K) of
         K samples per image (log w as in iw, drawn from torch's RNG; K = 1: the one-sample ELBO
         with a Monte Carlo KL), then evaluates on the first --limit rows of --test DIR/images.npy
         (see torch_quality.py): test_nelbo = mean of the closed-form KL + -log p(x|z) at one z
         per image, as vaekit does; with --iw K, iw_nll as iw computes it. Both draw from one
         torch.Generator seeded with --seed. Fields: peer, mode, arch, likelihood, objective, k,
         epochs, seed, threads, train_seconds, test_count, test_nelbo, iw_samples, iw_nll.

--precision bf16 runs the training losses' forward passes under torch.autocast("cpu",
dtype=torch.bfloat16) (PyTorch's mixed precision: matrix products and convolutions on bfloat16
operands through oneDNN, float master weights and Adam), the peer of vaekit's --precision bf16;
evaluation stays float. Field: precision.

Exits with code 3 when torch is not installed, and with a one-line message and code 1 when the
data files or the --test folder are missing or malformed. On a busy machine,
OMP_WAIT_POLICY=PASSIVE in the environment keeps --threads 2 from collapsing (torch's OpenMP
threads otherwise spin at barriers while their peer waits for a core).

Examples:
  (on OpenBLAS's own kernels, as scripts/bench runs it; the field kernels says which ran)
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch_peer.py --mode epoch --threads 2
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch_peer.py --arch conv --batch 128
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch_peer.py --mode quality --epochs 20 \
      --test runs/test-set --iw 1000 --limit 2000 --threads 2
"""
import argparse
import gzip
import json
import math
import os
import statistics
import sys
import time
import zlib

try:
    import torch
    import numpy as np
except ImportError as e:
    print(f"torch_peer: {e.name or 'torch'} is not installed (apt-get install python3-torch)",
          file=sys.stderr)
    sys.exit(3)

from torch_models import Hvae, Vae, log_weights  # noqa: E402 (after the check)
from torch_diffusion import Diffusion  # noqa: E402
from torch_flows import Flow, IafVae  # noqa: E402
from torch_quality import TestSetError, load_test_images, test_nelbo  # noqa: E402


def under_autocast(loss):
    """loss with its forward pass under CPU autocast to bfloat16; backward follows its dtypes."""
    def cast(*args, **kwargs):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return loss(*args, **kwargs)
    return cast


def blas_kernels():
    """The kernels of the OpenBLAS this process loaded (torch's float products run through it):
    openblas_get_corename of the first BLAS library mapped that has it, else "unknown"."""
    import ctypes
    libs = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if path.startswith("/") and "blas" in os.path.basename(path) and path not in libs:
                libs.append(path)
    for path in libs:
        try:
            corename = ctypes.CDLL(path).openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        return corename().decode()
    return "unknown"


class DataError(Exception):
    """A missing or malformed data file."""


def load_idx_images(directory, stem):
    """The images of IDX file `stem` (or `stem.gz`, raw or gzipped) as float32 [n, 784] in [0,1]."""
    candidates = [os.path.join(directory, stem + ".gz"), os.path.join(directory, stem)]
    path = next((c for c in candidates if os.path.isfile(c)), None)
    if path is None:
        raise DataError(f"{candidates[0]} (or {os.path.basename(candidates[1])}) not found; "
                        "point --data at the Fashion-MNIST IDX files")
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"cannot read {path}: {e}") from None
    if len(raw) < 16 or raw[:4] != b"\x00\x00\x08\x03":
        raise DataError(f"{path} is not an IDX file of uint8 images")
    n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
    if rows * cols != 784 or len(raw) != 16 + n * rows * cols:
        raise DataError(f"{path}: expected 28x28 images and {16 + n * rows * cols} bytes, "
                        f"found {rows}x{cols} and {len(raw)} bytes")
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, 784)
    return torch.from_numpy(pixels.astype(np.float32) / np.float32(255))


def run_step(a, model, opt):
    """The median time of one training step on a fixed random binary batch."""
    if a.model in ("flow", "diffusion"):
        x = torch.rand(a.batch, 784)
    elif a.likelihood == "logistic":
        x = torch.randint(0, 256, (a.batch, 784)).float() / 255
    else:
        x = (torch.rand(a.batch, 784) < 0.5).float()
    loss = (lambda x: model.iwae_loss(x, a.k)) if a.objective == "iwae" else model.loss

    def step():
        opt.zero_grad()
        loss(x).backward()
        opt.step()

    for _ in range(3):
        step()
    times, end = [], time.perf_counter() + a.seconds
    while time.perf_counter() < end or len(times) < 5:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    return {"batch": a.batch, "threads": a.threads, "step_ms": med * 1e3,
            "images_per_second": a.batch / med}


def train_epoch(model, opt, images, batch, binarize, max_steps=None, objective=None):
    """One pytorch/examples epoch over `images` (or its first max_steps batches) on the mean loss
    per image `objective(x)` (default model.loss); returns the loss summed over the images."""
    objective = objective or model.loss
    n = images.shape[0]
    perm = torch.randperm(n)
    total = torch.zeros((), dtype=torch.float64)
    for step, start in enumerate(range(0, n, batch)):
        if step == max_steps:
            break
        x = images[perm[start:start + batch]]
        if binarize:
            x = torch.bernoulli(x)
        opt.zero_grad()
        loss = objective(x)
        loss.backward()
        opt.step()
        total += loss.detach() * x.shape[0]
    return total.item()


def train_epochs(a, model, opt, limit, objective=None):
    """--epochs pytorch/examples epochs on the first `limit` training images (0 or None: all);
    returns the seconds, the images trained on per epoch and the last epoch's summed loss."""
    images = load_idx_images(a.data, "train-images-idx3-ubyte")
    if limit:
        images = images[:limit].contiguous()
    binarize = a.likelihood == "bernoulli"
    t = time.perf_counter()
    for _ in range(a.epochs):
        last = train_epoch(model, opt, images, a.batch, binarize, objective=objective)
    return time.perf_counter() - t, images.shape[0], last


def run_epoch(a, model, opt):
    seconds, n, last = train_epochs(a, model, opt, a.limit)
    count = a.epochs * n
    return {"batch": a.batch, "threads": a.threads, "epochs": a.epochs, "images": count,
            "seconds": seconds, "images_per_second": count / seconds, "final_loss": last / n}


@torch.no_grad()
def iw_nll_sum(model, x, k, generator):
    """The sum over the rows of x [B, 784] of -log p(x) estimated with k importance samples each."""
    log_w = log_weights(model, x, k, generator)
    estimate = torch.logsumexp(log_w, dim=1).double() - math.log(k)
    return -estimate.sum().item()


def iw_nll(model, images, k, per_pass, generator):
    """The mean over the rows of images of -log p(x) estimated with k importance samples each,
    the k samples of per_pass images through the decoder together."""
    total = 0.0
    for start in range(0, images.shape[0], per_pass):
        total += iw_nll_sum(model, images[start:start + per_pass], k, generator)
    return total / images.shape[0]


def run_iw(a, model, opt):
    limit = 2000 if a.limit is None else a.limit
    images = load_idx_images(a.data, "t10k-images-idx3-ubyte")
    if limit:
        images = images[:limit]
    if a.likelihood == "bernoulli":
        images = (images > 0.5).float()
    images = images.contiguous()
    if a.train_steps:  # untimed
        train = load_idx_images(a.data, "train-images-idx3-ubyte")
        per_epoch = -(-train.shape[0] // a.batch)
        for done in range(0, a.train_steps, per_epoch):
            train_epoch(model, opt, train, a.batch, a.likelihood == "bernoulli",
                        min(per_epoch, a.train_steps - done))
    generator = torch.Generator().manual_seed(a.seed)
    t = time.perf_counter()
    nll = iw_nll(model, images, a.iw, a.iw_batch_images, generator)
    seconds = time.perf_counter() - t
    n = images.shape[0]
    return {"threads": a.threads, "iw": a.iw, "iw_batch_images": a.iw_batch_images,
            "train_steps": a.train_steps, "images": n, "seconds": seconds,
            "images_per_second": n / seconds, "iw_nll": nll}


def run_quality(a, model, opt):
    images = load_test_images(a.test, a.limit)  # before training: a bad DIR fails at once
    objective = (lambda x: model.iwae_loss(x, a.k)) if a.objective == "iwae" else None
    seconds, _, _ = train_epochs(a, model, opt, None, objective)
    generator = torch.Generator().manual_seed(a.seed)
    nelbo = test_nelbo(model, images, generator)
    nll = iw_nll(model, images, a.iw, a.iw_batch_images, generator) if a.iw else None
    return {"objective": a.objective, "k": a.k, "epochs": a.epochs, "seed": a.seed,
            "threads": a.threads, "train_seconds": seconds, "test_count": images.shape[0],
            "test_nelbo": nelbo, "iw_samples": a.iw, "iw_nll": nll}


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", default="step", choices=["step", "epoch", "iw", "quality"],
                   help="what to time or measure (see above; default: step)")
    p.add_argument("--likelihood", default="bernoulli", choices=["bernoulli", "gaussian", "logistic"],
                   help="p(x|z): Bernoulli from logits, Gaussian with a learned scalar sigma^2, or the "
                        "discretized logistic of the 8-bit pixels (default: bernoulli)")
    p.add_argument("--arch", default="mlp", choices=["mlp", "conv"],
                   help="mlp: 784-H-Z with --hidden and --latent; conv: the convolutional VAE "
                        "above, of fixed widths (default: mlp)")
    p.add_argument("--posterior", default="gaussian", choices=["gaussian", "iaf"],
                   help="vae: q(z|x) diagonal Gaussian, or pushed through --flow-steps IAF steps")
    p.add_argument("--flow-steps", type=int, default=None,
                   help="steps of --model flow (default 8) or of --posterior iaf (default 4)")
    p.add_argument("--model", default="vae", choices=["vae", "hvae", "flow", "diffusion"],
                   help="vae, or hvae: vaekit's --model hvae, two stochastic layers (torch_models.py) "
                        "on --arch mlp with tanh, flow, or diffusion (torch_diffusion.py; default: vae)")
    p.add_argument("--hidden", help="mlp: hidden widths of the encoder, comma-separated, e.g. "
                                    "512,256; the decoder mirrors them (default: 400)")
    p.add_argument("--latent", type=int, help="mlp: latent dimensions Z (default: 20)")
    p.add_argument("--batch", type=int, default=128,
                   help="training batch size of step, epoch, quality and --train-steps "
                        "(default: 128)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default: 1)")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of torch's RNG and of the importance samples (default: 1)")
    p.add_argument("--seconds", type=float, default=2.0,
                   help="step: time steps for at least this long (default: 2)")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                   help="epoch, iw, quality: the directory of the Fashion-MNIST IDX files, raw or .gz "
                        "(default: %(default)s)")
    p.add_argument("--epochs", type=int, default=1,
                   help="epoch: epochs to time; quality: epochs to train (default: 1)")
    p.add_argument("--limit", type=int, default=None,
                   help="epoch: train on the first N training images; iw, quality: evaluate the "
                        "first N test images; 0 = all (default: all; 2000 for iw)")
    p.add_argument("--iw", type=int, default=None,
                   help="iw, quality: importance samples K per image (default: 1000 for iw; "
                        "quality: no IW estimate)")
    p.add_argument("--iw-batch-images", type=int, default=None,
                   help="iw, quality: images whose K samples go through the decoder together, as "
                        "B*K rows (default: 1 for iw; quality: max(1, 4000 // K))")
    p.add_argument("--objective", default="elbo", choices=["elbo", "iwae"],
                   help="quality: train on the ELBO or the importance-weighted bound with --k "
                        "samples (default: elbo)")
    p.add_argument("--k", type=int, default=1,
                   help="step, quality: samples of z per image of --objective iwae (default: 1)")
    p.add_argument("--test", metavar="DIR",
                   help="quality: the test folder of vaekit's vae-eval --write-test DIR "
                        "(images.npy, labels.npy, info.json)")
    p.add_argument("--precision", default="float", choices=["float", "bf16"],
                   help="bf16: the training losses under CPU autocast to bfloat16 (default: float)")
    p.add_argument("--train-steps", type=int, default=0,
                   help="iw: Adam steps of training (untimed) before the evaluation (default: 0)")
    a = p.parse_args()
    if a.model == "hvae" and a.arch == "conv":
        p.error("--model hvae is an MLP: use --arch mlp")
    if a.arch == "conv":
        if a.hidden is not None or a.latent is not None:
            p.error("--hidden and --latent are for --arch mlp; conv's widths are fixed")
        a.hidden, a.latent = "256", 32
    else:
        a.hidden = a.hidden or "400"
        a.latent = 20 if a.latent is None else a.latent
    try:
        hidden = [int(h) for h in a.hidden.split(",")]
    except ValueError:
        p.error(f"--hidden must be comma-separated integers, not {a.hidden!r}")
    if a.mode == "iw" and a.iw is None:
        a.iw = 1000
    if a.iw_batch_images is None:
        a.iw_batch_images = max(1, 4000 // a.iw) if a.mode == "quality" and a.iw else 1
    if a.mode == "quality" and not a.test:
        p.error("--mode quality needs --test DIR")
    if a.objective == "elbo" and a.k != 1:
        p.error("--k is the number of samples of --objective iwae")
    for name in ("latent", "batch", "threads", "epochs", "iw", "iw_batch_images", "k"):
        if getattr(a, name) is not None and getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if min(hidden) < 1 or (a.limit or 0) < 0 or a.train_steps < 0:
        p.error("--hidden widths must be positive, --limit and --train-steps not negative")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.model == "flow":
        if a.mode != "step" or a.arch != "mlp":
            p.error("--model flow is timed in --mode step with --arch mlp")
        model = Flow(hidden, a.flow_steps or 8)
    elif a.model == "diffusion":
        if a.mode != "step" or a.arch != "mlp" or len(hidden) != 1:
            p.error("--model diffusion is timed in --mode step, its U-Net's base width given as --hidden B")
        model = Diffusion(1000, hidden[0])
    elif a.posterior == "iaf":
        model = IafVae(a.arch, hidden, a.latent, a.likelihood, 4 if a.flow_steps is None else a.flow_steps)
    else:
        model = Hvae(hidden, a.latent, a.likelihood) if a.model == "hvae" else Vae(a.arch, hidden, a.latent, a.likelihood)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    if a.precision == "bf16":
        for name in ("loss", "iwae_loss"):
            if hasattr(model, name):
                setattr(model, name, under_autocast(getattr(model, name)))
    head = {"peer": "torch " + torch.__version__, "kernels": blas_kernels(), "precision": a.precision}
    if a.mode != "step":
        head["mode"] = a.mode
    arch = "conv" if a.arch == "conv" else "-".join(str(w) for w in [784, *hidden, a.latent])
    head.update({"arch": arch, "likelihood": a.likelihood})
    if a.model != "vae":
        head["model"] = a.model
    if a.model == "flow" or a.posterior == "iaf":
        head.update({"posterior": a.posterior, "flow_steps": a.flow_steps})
    try:
        if a.mode == "step":
            out = run_step(a, model, opt)
        elif a.mode == "epoch":
            out = run_epoch(a, model, opt)
        elif a.mode == "iw":
            out = run_iw(a, model, opt)
        else:
            out = run_quality(a, model, opt)
    except (DataError, TestSetError) as e:
        sys.exit(f"torch_peer: {e}")
    print(json.dumps({**head, **out}))


if __name__ == "__main__":
    main()
