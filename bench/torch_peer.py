#!/usr/bin/env python3
"""The comparison peer of vae-bench: the same VAE, batch and optimizer in PyTorch.

784-H-Z ReLU encoder with mu and log-variance heads, mirrored decoder, Adam 1e-3; Bernoulli
likelihood from logits (as pytorch/examples) or Gaussian with a learned scalar log sigma^2.
Prints one JSON line per measurement, in vae-bench's field names.
"""
import argparse
import json
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch_peer: python3-torch is not installed (apt-get install python3-torch)", file=sys.stderr)
    sys.exit(3)


class Vae(torch.nn.Module):
    def __init__(self, hidden, latent, gaussian):
        super().__init__()
        widths = [784] + hidden
        self.trunk = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.mu = torch.nn.Linear(widths[-1], latent)
        self.logvar = torch.nn.Linear(widths[-1], latent)
        back = [latent] + hidden[::-1] + [784]
        self.dec = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(back, back[1:]))
        self.log_sigma2 = torch.nn.Parameter(torch.zeros(1)) if gaussian else None

    def loss(self, x):
        h = x
        for layer in self.trunk:
            h = F.relu(layer(h))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        for i, layer in enumerate(self.dec):
            z = layer(z)
            if i + 1 < len(self.dec):
                z = F.relu(z)
        kl = 0.5 * torch.sum(logvar.exp() + mu * mu - 1 - logvar)
        if self.log_sigma2 is None:
            rec = F.binary_cross_entropy_with_logits(z, x, reduction="sum")
        else:
            mean = torch.sigmoid(z)
            lv = self.log_sigma2
            rec = 0.5 * torch.sum((x - mean) ** 2 * torch.exp(-lv) + lv + math.log(2 * math.pi))
        return (rec + kl) / x.shape[0]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--likelihood", default="bernoulli", choices=["bernoulli", "gaussian"])
    p.add_argument("--hidden", default="400")
    p.add_argument("--latent", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=2.0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Vae([int(h) for h in a.hidden.split(",")], a.latent, a.likelihood == "gaussian")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = (torch.rand(a.batch, 784) < 0.5).float()

    def step():
        opt.zero_grad()
        model.loss(x).backward()
        opt.step()

    for _ in range(3):
        step()
    times, end = [], time.perf_counter() + a.seconds
    while time.perf_counter() < end or len(times) < 5:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print(json.dumps({"peer": "torch " + torch.__version__, "arch": f"784-{a.hidden}-{a.latent}",
                      "likelihood": a.likelihood, "batch": a.batch, "threads": a.threads,
                      "step_ms": med * 1e3, "images_per_second": a.batch / med}))


if __name__ == "__main__":
    main()
