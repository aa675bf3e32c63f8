"""vaekit's normalizing flows in PyTorch, for torch_peer.py --model flow and --posterior iaf: the
same maps, widths and starts as vae/flows/ and vae/kinds/flow.cpp.

Flow: x in [0, 1]^784 -> logit(0.05 + 0.9 x) -> T steps of actnorm, LU linear (y = P(z L U)) and
an affine coupling (half the columns condition s = scale * tanh(raw) and t for the other half, the
halves alternating) -> N(0, I); the loss is -log p(x) per image. IafVae: vaekit's VAE whose q(z|x)
is pushed through T IAF steps on MADE (one hidden layer of H ELU units, the encoder trunk's output
as context, gates starting at sigmoid(2)), trained on the Monte Carlo ELBO or the IWAE bound.
"""
import math

import torch
import torch.nn.functional as F

from torch_models import LOG_2PI, Vae, linears

nn = torch.nn


def standard_normal_log_density(z):
    return -0.5 * (z * z).sum(-1) - 0.5 * z.shape[-1] * LOG_2PI


class ActNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(d))
        self.shift = nn.Parameter(torch.zeros(d))

    def forward(self, z):
        return (z + self.shift) * torch.exp(self.log_scale), self.log_scale.sum().expand(z.shape[0])


class LuLinear(nn.Module):
    def __init__(self, d, generator):
        super().__init__()
        self.lower = nn.Parameter(torch.zeros(d, d))
        self.upper = nn.Parameter(torch.zeros(d, d))
        self.log_diag = nn.Parameter(torch.zeros(d))
        self.register_buffer("lower_mask", torch.tril(torch.ones(d, d), -1))
        self.register_buffer("upper_mask", torch.triu(torch.ones(d, d), 1))
        self.register_buffer("eye", torch.eye(d))
        self.register_buffer("perm", torch.randperm(d, generator=generator))

    def forward(self, z):
        lower = self.lower * self.lower_mask + self.eye
        upper = self.upper * self.upper_mask + torch.diag(torch.exp(self.log_diag))
        return (z @ lower @ upper)[:, self.perm], self.log_diag.sum().expand(z.shape[0])


class Coupling(nn.Module):
    def __init__(self, d, second, hidden):
        super().__init__()
        self.fixed = d - d // 2 if second else d // 2
        self.second = second
        out = nn.Linear(hidden[-1], 2 * (d - self.fixed))
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)
        self.net = nn.Sequential(*linears([self.fixed] + hidden), out)
        self.scale = nn.Parameter(torch.ones(d - self.fixed))

    def forward(self, z):
        at = z.shape[1] - self.fixed if self.second else self.fixed
        a, b = z[:, :at], z[:, at:]
        fixed, changed = (b, a) if self.second else (a, b)
        raw, shift = self.net(fixed).split(changed.shape[1], dim=1)
        s = self.scale * torch.tanh(raw)
        changed = changed * torch.exp(s) + shift
        return (torch.cat([changed, fixed], 1) if self.second else torch.cat([fixed, changed], 1)), s.sum(1)


class Flow(nn.Module):
    ALPHA = 0.05

    def __init__(self, hidden, steps, d=784):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        layers = []
        for s in range(steps):
            layers += [ActNorm(d), LuLinear(d, generator), Coupling(d, s % 2 == 1, hidden)]
        self.layers = nn.ModuleList(layers)

    def log_prob(self, x):
        a = self.ALPHA
        p = a + (1 - 2 * a) * x
        z = torch.log(p) - torch.log1p(-p)
        log_det = (math.log(1 - 2 * a) - torch.log(p) - torch.log1p(-p)).sum(1)
        for layer in self.layers:
            z, ld = layer(z)
            log_det = log_det + ld
        return standard_normal_log_density(z) + log_det

    def loss(self, x):
        return -self.log_prob(x).mean()


class IafStep(nn.Module):
    def __init__(self, d, hidden, context, reversed_order):
        super().__init__()
        degree = torch.arange(d, 0, -1) if reversed_order else torch.arange(1, d + 1)
        hidden_degree = 1 + torch.arange(hidden) % max(d - 1, 1) if d > 1 else torch.zeros(hidden, dtype=torch.long)
        self.register_buffer("mask_in", (hidden_degree[None, :] >= degree[:, None]).float().t())
        self.register_buffer("mask_out", (degree[None, :] > hidden_degree[:, None]).float().t())
        self.inp = nn.Linear(d, hidden)
        self.context = nn.Linear(context, hidden, bias=False)
        self.mean = nn.Linear(hidden, d)
        self.gate = nn.Linear(hidden, d)
        for head in (self.mean, self.gate):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)
        nn.init.constant_(self.gate.bias, 2.0)

    def forward(self, z, h):
        u = F.elu(F.linear(z, self.inp.weight * self.mask_in, self.inp.bias) + self.context(h))
        m = F.linear(u, self.mean.weight * self.mask_out, self.mean.bias)
        s = F.linear(u, self.gate.weight * self.mask_out, self.gate.bias)
        sigma = torch.sigmoid(s)
        return m + sigma * (z - m), -F.softplus(-s).sum(-1)


class IafVae(Vae):
    def __init__(self, arch, hidden, latent, likelihood, steps, iaf_hidden=256):
        super().__init__(arch, hidden, latent, likelihood)
        self.steps = nn.ModuleList(IafStep(latent, iaf_hidden, hidden[-1], t % 2 == 1) for t in range(steps))

    def log_weights(self, x, k):
        """log p(x|z) + log p(z) - log q(z|x) [B, K] for K draws per image through the IAF."""
        h = self.trunk(x)
        mu, logvar = self.mu(h), self.logvar(h)
        eps = torch.randn(x.shape[0], k, mu.shape[1])
        z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps
        log_q = (-0.5 * eps * eps - 0.5 * logvar[:, None] - 0.5 * LOG_2PI).sum(-1)
        hk = h[:, None].expand(-1, k, -1)
        for step in self.steps:
            z, ld = step(z, hk)
            log_q = log_q - ld
        logits = self.decode(z.reshape(-1, z.shape[-1])).reshape(z.shape[0], k, -1)
        return self.log_likelihood(logits, x) + standard_normal_log_density(z) - log_q

    def loss(self, x):
        return -self.log_weights(x, 1).mean()

    def iwae_loss(self, x, k):
        return -(torch.logsumexp(self.log_weights(x, k), dim=1) - math.log(k)).mean()
