#!/usr/bin/env python3
"""A trained vaekit run as a PyTorch module, and its test NELBO as vae-eval computes it.

    import sys; sys.path.insert(0, "bench")          # this folder
    import vaekit_torch
    model = vaekit_torch.load_run("runs/vae")       # a torch.nn.Module, in eval mode
    mu, logvar = model.encode(x)                    # x: float32 [n, 784] in [0, 1]
    images = model.mean_image(model.decode(mu))     # E[x|z] at z = mu
    vaekit_torch.evaluate_folder(model, "runs/test")   # the folder of vae-eval --write-test

load_run reads RUN/checkpoint/manifest.json (the model's settings under metadata.model) and the
checkpoint's .npy files, each checked against its size and crc32, into the networks of
torch_models.py. vaekit stores a weight [in, out] (x W + b) and images channels last: a Linear's
weight is transposed; a Conv2d's [(kh, kw, in), out] becomes [out, in, kh, kw], a ConvTranspose2d's
[in, (kh, kw, out)] becomes [in, out, kh, kw]; the Linear after the conv encoder's flatten and the
one before the conv decoder's unflatten have their (h, w, c) features put in torch's (c, h, w) order.

Kinds: vae, cvae (every --condition), hvae (any depth, mlp), ae and rae; mlp (any --hidden and
--activation) and conv. Likelihoods: torch_models.LIKELIHOODS (Bernoulli, Gaussian with the run's
stored sigma^2 in any --sigma mode, the autoencoders' squared error).

evaluate reproduces vae-eval's figures, not only their expectation: vae-eval draws image i's eps from
key_of(seed, i) (autodiff/random.hpp: splitmix64 and Box-Muller, in float64, rounded to float32), and
keyed_normals draws the same numbers here. test_rec is the mean of -log p(x|z) at z = mu + sigma eps,
test_kl the closed-form KL (hvae: log q - log p of the same draws of z, z2, ...), test_nelbo their
sum; the autoencoders' test_rec is the squared error at z = E(x), test_kl lambda ||z||^2 (rae).

Command line: vaekit_torch.py --run RUN --test DIR [--seed S] prints these figures as one JSON line,
beside RUN/eval.json's when it has them. Exits with 3 when torch or numpy is not installed, and with
one line and 1 for a folder that is not what it should be.
"""
import argparse
import json
import os
import sys
import zlib

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"vaekit_torch: {e.name or 'torch'} is not installed (apt-get install python3-torch)",
          file=sys.stderr)
    sys.exit(3)

from torch_models import LIKELIHOODS, Hvae, Vae  # noqa: E402 (after the check)
from torch_quality import TestSetError, load_test_images, load_test_labels  # noqa: E402

EVAL_SEED = 7  # vae-eval's default --seed (programs::kEvalSeed), with which final.json is made too
KINDS = ("vae", "cvae", "hvae", "ae", "rae")
# vaekit's --activation by name, each with vaekit's settings (leaky_relu's slope 0.01, elu's alpha 1).
ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
               "elu": torch.nn.ELU, "leaky_relu": torch.nn.LeakyReLU, "swish": torch.nn.SiLU,
               "softsign": torch.nn.Softsign, "softplus": torch.nn.Softplus}
CONV_TRUNK = {"0": "1", "2": "3", "4": "6"}  # vaekit's conv encoder layers in torch_models' Sequential
CONV_IMAGE = (64, 7, 7)  # the conv family's image between the convolutions and the linear layers


class RunError(Exception):
    """A run folder or checkpoint that cannot be read as a model."""


class SideDecoder(torch.nn.Sequential):
    """The MLP decoder of --condition embedding: every Linear sees the label embedding beside its
    input (vaekit's MlpNetworks::decode with side features)."""

    def forward(self, h, side):
        for layer in self:
            h = layer(torch.cat([h, side], 1) if isinstance(layer, torch.nn.Linear) else h)
        return h


class VaekitModel(torch.nn.Module):
    """vaekit's model of `config` (manifest.json's metadata.model): the networks (net, a
    torch_models.Vae or Hvae), the likelihood and, for a cvae, how it sees the label."""

    def __init__(self, config):
        super().__init__()
        c = self.config = config
        kind, arch = c["kind"], c["architecture"]
        if kind not in KINDS:
            raise RunError(f"--model {kind} is not translated to PyTorch (these are: {', '.join(KINDS)})")
        if c.get("settings", {}).get("posterior", "gaussian") != "gaussian":
            raise RunError("--posterior iaf is not translated to PyTorch (the Gaussian posterior is)")
        if c.get("activation", "relu") not in ACTIVATIONS:
            raise RunError(f"--activation {c['activation']} is not translated to PyTorch")
        self.autoencoder = kind in ("ae", "rae")
        self.likelihood = "squared_error" if self.autoencoder else c["likelihood"]
        if self.likelihood not in LIKELIHOODS:
            raise RunError(f"--likelihood {self.likelihood} is not translated to PyTorch")
        act = ACTIVATIONS[c.get("activation", "relu")]
        hidden, latent, classes = list(c["hidden"]) or [256], c["latent"], c.get("classes", 0)
        cond = c.get("condition", "encoder-decoder") if kind == "cvae" else None
        self.condition, self.classes = cond, classes
        if kind == "hvae":
            if arch != "mlp":
                raise RunError("--model hvae is translated for --arch mlp only")
            self.net = Hvae(hidden, latent, None, c["hidden2"], c["latents_above"], act)
        else:
            inputs = c["input_dim"] + (classes if cond in ("encoder-decoder", "embedding", "prior") else 0)
            beside_z = classes if cond in ("encoder-decoder", "decoder", "prior") else 0
            self.net = Vae(arch, hidden, latent, None, act, inputs, latent + beside_z, not self.autoencoder)
        if cond == "embedding":
            e = c["embedding"]
            widths = [latent] + hidden[::-1] + [c["input_dim"]]
            self.net.dec = SideDecoder(*[m for a, b in zip(widths, widths[1:])
                                         for m in (torch.nn.Linear(a + e, b), act())][:-1])
            self.label_embedding = torch.nn.Parameter(torch.zeros(classes, e))
        if cond == "prior":
            self.prior_mu = torch.nn.Parameter(torch.zeros(classes, latent))
            self.prior_logvar = torch.nn.Parameter(torch.zeros(classes, latent))
        if self.likelihood == "gaussian":
            per_pixel = c["sigma"] == "per-pixel"
            self.log_sigma2 = torch.nn.Parameter(torch.zeros(c["input_dim"] if per_pixel else 1))
        self.noise_width = latent + sum(c.get("latents_above", []) if kind == "hvae" else [])

    def encode(self, x, y=None):
        """(mu, logvar) of q(z|x) (of the label's one-hot y [n, classes] too, for a cvae whose
        encoder sees it); logvar is None for the autoencoders, whose code is mu."""
        if self.condition not in (None, "decoder"):
            x = torch.cat([x, y], 1)
        if isinstance(self.net, Hvae):
            return self.net.encode(x)
        h = self.net.trunk(x)
        return self.net.mu(h), None if self.net.logvar is None else self.net.logvar(h)

    def decode(self, z, y=None):
        """The decoder's last layer at z [n, latent]: what the likelihood reads (logits, or the
        mean before its sigmoid)."""
        if self.condition == "embedding":
            return self.net.dec(z, y @ self.label_embedding)
        return self.net.decode(z if self.condition is None else torch.cat([z, y], 1))

    def mean_image(self, out):
        return LIKELIHOODS[self.likelihood].mean(out)

    def log_px(self, out, x):
        """log p(x|z) per row of the decoder's output `out` [n, d] at x [n, d]."""
        params = {"log_sigma2": self.log_sigma2} if self.likelihood == "gaussian" else {}
        return LIKELIHOODS[self.likelihood].log_prob(out[:, None], x[:, None], params)[:, 0]

    def terms(self, x, y, eps):
        """-log p(x|z) and the KL per image, as vaekit's evaluation: z = mu + exp(logvar / 2)
        eps[:, :latent], the layers above an hvae's z from the rest of eps [n, noise_width]."""
        mu, logvar = self.encode(x, y)
        if self.autoencoder:
            rec = -self.log_px(self.decode(mu, y), x)
            penalty = self.config["lambda"] * (mu * mu).sum(1) if self.config["kind"] == "rae" else 0 * rec
            return rec, penalty
        e = eps[:, :mu.shape[1]]
        z = mu + torch.exp(0.5 * logvar) * e
        rec = -self.log_px(self.decode(z, y), x)
        if isinstance(self.net, Hvae):
            return rec, -self.net.log_ratio(z, e, logvar, eps_above=eps[:, mu.shape[1]:])
        if self.condition == "prior":
            mu_p, lv_p = y @ self.prior_mu, y @ self.prior_logvar
            return rec, 0.5 * (lv_p - logvar + (logvar.exp() + (mu - mu_p) ** 2) * torch.exp(-lv_p) - 1).sum(1)
        return rec, 0.5 * (logvar.exp() + mu * mu - 1 - logvar).sum(1)

    def one_hot(self, labels):
        """The one-hot rows [n, classes] of integer labels [n] (None for an unconditional model)."""
        if not self.classes:
            return None
        return torch.nn.functional.one_hot(labels.long().reshape(-1), self.classes).float()


def read_checkpoint(directory):
    """{vaekit parameter name: float32 array of its manifest shape} and the manifest's metadata,
    every file checked against the manifest's size and crc32 as vaekit checks them."""
    path = os.path.join(directory, "manifest.json")
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        raise RunError(f"{path}: cannot read the checkpoint's manifest: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "vaekit-checkpoint":
        raise RunError(f"{path}: not a vaekit checkpoint manifest")
    arrays = {}
    for p in manifest.get("parameters", []):
        file = os.path.join(directory, p["file"])
        try:
            with open(file, "rb") as f:
                raw = f.read()
        except OSError as e:
            raise RunError(f"{file}: {e.strerror}") from None
        if "bytes" in p and (len(raw) != p["bytes"] or f"{zlib.crc32(raw):08x}" != p["crc32"]):
            raise RunError(f"{file}: its size or crc32 differs from the manifest's (damaged, or from another checkpoint)")
        array = np.load(file, allow_pickle=False)
        if array.dtype != np.float32 or list(array.shape) != list(p["shape"]):
            raise RunError(f"{file}: holds {array.dtype} {list(array.shape)}, the manifest says float32 {p['shape']}")
        arrays[p["name"]] = torch.from_numpy(array)
    return arrays, manifest.get("metadata") or {}


def torch_name(name, config):
    """The name among VaekitModel's parameters of vaekit's parameter `name` (None: not one of its)."""
    parts = name.split(".")
    if name in ("log_sigma2", "label_embedding.weight"):
        return parts[0]
    if name in ("prior.mu", "prior.logvar"):
        return "prior_" + parts[1]
    if parts[0] == "prior":  # the stack of an hvae: prior.(prior.)*{up,down}.<net>
        depth = parts.index("up") if "up" in parts else parts.index("down")
        return "net." + ".".join([parts[depth], str(depth - 1)] + parts[depth + 1:])
    if parts[0] == "encoder":  # encoder.trunk.<i>.*, encoder.mu.*, encoder.logvar.*
        rest = parts[1:]
        if rest[0] == "trunk" and config["architecture"] == "conv":
            rest[1] = CONV_TRUNK.get(rest[1], "?")
        return "net." + ("enc." if config["kind"] == "hvae" else "") + ".".join(rest)
    if parts[0] == "decoder":
        return "net.dec." + ".".join(parts[1:])
    return None


def channels_first(t, axis):
    """t with its axis of CONV_IMAGE's features in torch's (c, h, w) order instead of vaekit's
    (h, w, c)."""
    c, h, w = CONV_IMAGE
    t = t.movedim(axis, -1)
    lead = t.shape[:-1]
    t = t.reshape(*lead, h, w, c).movedim(-1, -3).reshape(*lead, c * h * w)
    return t.movedim(-1, axis)


def torch_layout(key, value, model):
    """vaekit's array `value` for model's parameter `key`, in torch's layout."""
    owner = model.get_submodule(key.rsplit(".", 1)[0]) if "." in key else model
    weight = key.endswith(".weight")
    if isinstance(owner, torch.nn.ConvTranspose2d) and weight:
        k = owner.kernel_size[0]
        return value.reshape(owner.in_channels, k, k, owner.out_channels).permute(0, 3, 1, 2)
    if isinstance(owner, torch.nn.Conv2d) and weight:
        k = owner.kernel_size[0]
        return value.reshape(k, k, owner.in_channels, owner.out_channels).permute(3, 2, 0, 1)
    if isinstance(owner, torch.nn.Linear):
        t = value.t() if weight else value.reshape(-1)
        if model.config["architecture"] == "conv":
            if owner.in_features == CONV_IMAGE[0] * CONV_IMAGE[1] * CONV_IMAGE[2] and weight:
                t = channels_first(t, 1)
            if owner.out_features == CONV_IMAGE[0] * CONV_IMAGE[1] * CONV_IMAGE[2]:
                t = channels_first(t, 0)
        return t
    if isinstance(owner, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
        return value.reshape(-1)  # a bias
    return value.reshape(dict(model.named_parameters())[key].shape)


def load_run(run):
    """The model of run folder `run` (its checkpoint/), in eval mode. Raises RunError."""
    directory = os.path.join(run, "checkpoint")
    if not os.path.isdir(directory):
        raise RunError(f"{run}: not a run folder with a checkpoint (no {directory})")
    arrays, metadata = read_checkpoint(directory)
    if "model" not in metadata:
        raise RunError(f"{directory}/manifest.json does not describe the model (no metadata.model)")
    model = VaekitModel(metadata["model"])
    wanted = dict(model.named_parameters())  # each once (Hvae's mu is enc.mu by another name)
    state = {}
    for name, value in arrays.items():
        key = torch_name(name, model.config)
        if key not in wanted:
            raise RunError(f"{directory}: parameter '{name}' has no place in the PyTorch model")
        try:
            state[key] = torch_layout(key, value, model).contiguous()
        except RuntimeError:  # a reshape that does not fit
            state[key] = value
        if state[key].shape != wanted[key].shape:
            raise RunError(f"{directory}: parameter '{name}' is {list(value.shape)}, which does not fit "
                           f"{key} {list(wanted[key].shape)}")
    missing = sorted(set(wanted) - set(state))
    if missing:
        raise RunError(f"{directory}: the checkpoint has nothing for {', '.join(missing)}")
    with torch.no_grad():
        for key, value in state.items():
            wanted[key].copy_(value)
    return model.eval()


GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mix64(z):
    """splitmix64's finaliser on uint64 arrays (wrapping, as in C++)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def keyed_normals(seed, examples, width):
    """float32 [len(examples), width]: row i the first `width` standard normals of key
    key_of(seed, examples[i]), vaekit's keyed_normal (Box-Muller over pairs of positions)."""
    n = np.asarray(examples, dtype=np.uint64)
    keys = mix64(np.uint64(seed) ^ mix64(n + GOLDEN))
    j = np.arange(width + width % 2, dtype=np.uint64)
    top = (mix64(keys[:, None] + (j + np.uint64(1)) * GOLDEN) >> np.uint64(11)).astype(np.float64)
    u1 = (top[:, 0::2] + 0.5) * 2.0 ** -53  # in (0, 1): the log is finite
    u2 = top[:, 1::2] * 2.0 ** -53
    r, a = np.sqrt(-2.0 * np.log(u1)), 2.0 * np.pi * u2
    out = np.empty(top.shape)
    out[:, 0::2], out[:, 1::2] = r * np.cos(a), r * np.sin(a)
    return out[:, :width].astype(np.float32)


@torch.no_grad()
def evaluate(model, images, labels=None, seed=EVAL_SEED, batch=500):
    """vae-eval's test_nelbo, test_rec and test_kl (nats per image) of the rows of images [n, d]
    (labels [n] for a cvae), image i with the eps of key_of(seed, i)."""
    rec = kl = 0.0
    for start in range(0, images.shape[0], batch):
        x = images[start:start + batch]
        y = model.one_hot(labels[start:start + batch]) if model.classes else None
        eps = torch.from_numpy(keyed_normals(seed, range(start, start + x.shape[0]), model.noise_width))
        r, k = model.terms(x, y, eps)
        rec += r.double().sum().item()
        kl += k.double().sum().item()
    n = images.shape[0]
    return {"test_nelbo": (rec + kl) / n, "test_rec": rec / n, "test_kl": kl / n, "test_count": n, "seed": seed}


def evaluate_folder(model, test, seed=EVAL_SEED):
    """evaluate() on the images (and labels) of vae-eval --write-test's folder `test`."""
    images = load_test_images(test)
    labels = load_test_labels(test, images.shape[0]) if model.classes else None
    if labels is not None and labels.max().item() >= model.classes:
        raise TestSetError(f"{test}/labels.npy: label {labels.max().item()} of a model of {model.classes} classes")
    return evaluate(model, images, labels, seed)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="the run folder vae-train wrote")
    p.add_argument("--test", required=True, metavar="DIR", help="the folder of vae-eval --write-test DIR")
    p.add_argument("--seed", type=int, help="seed of the eps (default: RUN/eval.json's, else 7)")
    a = p.parse_args()
    try:
        reference = {}
        eval_path = os.path.join(a.run, "eval.json")
        if os.path.isfile(eval_path):
            with open(eval_path) as f:
                reference = json.load(f)
        seed = a.seed if a.seed is not None else reference.get("seed", EVAL_SEED)
        out = evaluate_folder(load_run(a.run), a.test, seed)
    except (RunError, TestSetError) as e:
        sys.exit(f"vaekit_torch: {e}")
    except (OSError, ValueError) as e:
        sys.exit(f"vaekit_torch: {a.run}: {e}")
    if reference.get("seed") == seed and reference.get("test_count") == out["test_count"]:
        out["vaekit"] = {k: reference[k] for k in ("test_nelbo", "test_rec", "test_kl")}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
