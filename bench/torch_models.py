"""The models of torch_peer.py: vaekit's VAEs written in PyTorch.

Vae: --arch mlp, a 784-H-Z ReLU encoder with mu and log-variance heads and the mirrored decoder;
--arch conv, the convolutional VAE described in torch_peer.py. Hvae: vaekit's --model hvae, two
stochastic layers as in Burda et al. (2016): q(z|x) through H (tanh), q(z2|z) and p(z|z2) through
50-50 (tanh) with z2 of 50, p(z2) = N(0, I), the decoder mirroring H; its log-variance heads start
at zero, as vaekit's do. Each model gives `log_ratio`, log p(z) - log q(z|x) of draws z, from which
log_weights forms the importance weights of the IWAE bound and of IW evaluation. p(x|z) is
Bernoulli, Gaussian or the discretized logistic of the 8-bit pixels (Likelihood).
"""
import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def linears(widths, activation=torch.nn.ReLU):
    """Linear layers through `widths`, each followed by `activation`."""
    nn = torch.nn
    return [m for a, b in zip(widths, widths[1:]) for m in (nn.Linear(a, b), activation())]


def logistic_log_likelihood(out, x):
    """log P(x|z) of the discretized logistic of 8-bit pixels (vaekit's --likelihood logistic),
    summed over the pixels: out [B, K, 2 * 784] holds the locations, then the log-scales (clamped
    below at -15, as vaekit does); x [B, 784] the pixels v / 255. Bin v is [v - 1/2, v + 1/2] / 255,
    bins 0 and 255 open to -inf and +inf. With u = e^-ls, a = (v + 1/2 - 255 mu) u / 255 and b the
    same at v - 1/2, an inner bin's log-mass is log sigmoid(a) + log sigmoid(-b) + log(1 - e^-(a-b)),
    three terms that never cancel (vaekit's identity; PixelCNN++ subtracts the two CDFs)."""
    d = x.shape[-1]
    mu, ls = out[..., :d], out[..., d:].clamp(min=-15.0)
    v = torch.round(x * 255)[:, None]
    t = torch.exp(-ls) / 255
    a = (v + 0.5 - 255 * mu) * t
    b = (v - 0.5 - 255 * mu) * t
    inner = -F.softplus(-a) - F.softplus(b) + torch.log(-torch.expm1(-t))
    return torch.where(v == 0, -F.softplus(-a), torch.where(v == 255, -F.softplus(b), inner)).sum(-1)


class Likelihood(torch.nn.Module):
    """p(x|z) from the decoder's output: "bernoulli" (logits), "gaussian" (a learned scalar sigma^2
    on the sigmoid mean) or "logistic" (the discretized logistic: a location and a log-scale per
    pixel, so the decoder is twice as wide)."""

    def __init__(self, likelihood):
        super().__init__()
        self.log_sigma2 = torch.nn.Parameter(torch.zeros(1)) if likelihood == "gaussian" else None
        self.logistic = likelihood == "logistic"
        self.channels = 2 if self.logistic else 1  # decoder outputs per pixel

    def log_likelihood(self, logits, x):
        """log p(x|z) of each row of logits [B, K, 784 channels] given x [B, 784], summed over the
        pixels.

        Bernoulli: -BCE-with-logits = x l - softplus(l), computed as a matrix-vector product and
        a softplus: the same quantity (up to rounding) in under half the time of the expanded BCE.
        """
        if self.logistic:
            return logistic_log_likelihood(logits, x)
        if self.log_sigma2 is None:
            return torch.matmul(logits, x[:, :, None])[..., 0] - F.softplus(logits).sum(-1)
        x = x[:, None]
        lv = self.log_sigma2
        sq = (x - torch.sigmoid(logits)) ** 2
        return -0.5 * (sq.sum(-1) * torch.exp(-lv) + logits.shape[-1] * (lv + LOG_2PI))

    def iwae_loss(self, x, k):
        """The negative importance-weighted bound of Burda et al. with k samples of z per image,
        averaged over the batch (k = 1: the one-sample ELBO with a Monte Carlo KL)."""
        log_w = log_weights(self, x, k)
        return -(torch.logsumexp(log_w, dim=1) - math.log(k)).mean()


class Vae(Likelihood):
    def __init__(self, arch, hidden, latent, likelihood):
        super().__init__(likelihood)
        nn = torch.nn
        # Built trunk, heads, decoder: the default init draws from the seeded RNG in this order,
        # which keeps the MLP's initial weights for a --seed what they were before conv existed.
        if arch == "conv":
            self.trunk = nn.Sequential(
                nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(),
                nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Flatten(), *linears([3136, hidden[-1]]))
        else:
            self.trunk = nn.Sequential(*linears([784] + hidden))
        self.mu = nn.Linear(hidden[-1], latent)
        self.logvar = nn.Linear(hidden[-1], latent)
        if arch == "conv":
            self.dec = nn.Sequential(
                *linears([latent, hidden[-1], 3136]), nn.Unflatten(1, (64, 7, 7)),
                nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, self.channels, 4, 2, 1),
                nn.Flatten())  # channels first: the locations, then the log-scales
        else:
            self.dec = nn.Sequential(*linears([latent] + hidden[::-1] + [784 * self.channels])[:-1])

    def encode(self, x):
        h = self.trunk(x)
        return self.mu(h), self.logvar(h)

    def decode(self, z):
        """The decoder's logits [rows, 784] (Gaussian: the mean is their sigmoid; logistic: [rows,
        2 * 784], the locations and the log-scales)."""
        return self.dec(z)

    def log_ratio(self, z, eps, logvar, generator=None):
        """log p(z) - log q(z|x) [B, K] of draws z = mu + exp(logvar / 2) eps [B, K, Z], with
        (z - mu) / sigma = eps and the log 2 pi terms cancelled: the same value and gradient."""
        return torch.sum(-0.5 * z * z + 0.5 * eps * eps + 0.5 * logvar, dim=-1)

    def loss(self, x, eps=None):
        """The negative ELBO per image, averaged over the batch: the closed-form KL and the
        reconstruction at one sample of z (from eps [B, Z], or drawn from torch's RNG)."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * (torch.randn_like(mu) if eps is None else eps)
        logits = self.decode(z)
        kl = 0.5 * torch.sum(logvar.exp() + mu * mu - 1 - logvar)
        if self.logistic:
            rec = -logistic_log_likelihood(logits[:, None], x).sum()
        elif self.log_sigma2 is None:
            rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        else:
            mean = torch.sigmoid(logits)
            lv = self.log_sigma2
            rec = 0.5 * torch.sum((x - mean) ** 2 * torch.exp(-lv) + lv + LOG_2PI)
        return (rec + kl) / x.shape[0]


class GaussianNet(torch.nn.Module):
    """A tanh trunk through `widths` and heads for the mean and the log-variance (starting at 0)."""

    def __init__(self, widths, out):
        super().__init__()
        nn = torch.nn
        self.trunk = nn.Sequential(*linears(widths, nn.Tanh))
        self.mu = nn.Linear(widths[-1], out)
        self.logvar = nn.Linear(widths[-1], out)
        with torch.no_grad():
            self.logvar.weight.zero_()
            self.logvar.bias.zero_()

    def forward(self, x):
        h = self.trunk(x)
        return self.mu(h), self.logvar(h)


def gaussian_log_density(z, mu, logvar):
    """log N(z; mu, e^logvar) summed over the last axis, without its log 2 pi terms."""
    return torch.sum(-0.5 * (z - mu) ** 2 * torch.exp(-logvar) - 0.5 * logvar, dim=-1)


class Hvae(Likelihood):
    def __init__(self, hidden, latent, likelihood, hidden2=(50, 50), latent2=50):
        super().__init__(likelihood)
        nn = torch.nn
        self.enc = GaussianNet([784] + hidden, latent)
        self.mu = self.enc.mu  # test_nelbo reads the latent width here
        self.up = GaussianNet([latent, *hidden2], latent2)
        self.down = GaussianNet([latent2, *hidden2[::-1]], latent)
        self.dec = nn.Sequential(*linears([latent] + hidden[::-1] + [784 * self.channels], nn.Tanh)[:-1])

    def encode(self, x):
        return self.enc(x)

    def decode(self, z):
        return self.dec(z)

    def log_ratio(self, z, eps, logvar, generator=None):
        """The one-sample bound on log p(z) - log q(z|x): log p(z|z2) + log p(z2) - log q(z|x)
        - log q(z2|z) at z2 = mu2(z) + exp(logvar2(z) / 2) eps2, eps2 from `generator`; the log
        2 pi terms cancel between p and q of each layer."""
        mu2, logvar2 = self.up(z)
        eps2 = torch.randn(mu2.shape, generator=generator)
        z2 = mu2 + torch.exp(0.5 * logvar2) * eps2
        log_q = torch.sum(-0.5 * eps * eps - 0.5 * logvar, dim=-1) \
            + torch.sum(-0.5 * eps2 * eps2 - 0.5 * logvar2, dim=-1)
        mu1, logvar1 = self.down(z2)
        return gaussian_log_density(z, mu1, logvar1) + torch.sum(-0.5 * z2 * z2, dim=-1) - log_q

    def loss(self, x, eps=None):
        """The one-sample negative ELBO per image (z from eps [B, Z] or torch's RNG, z2 from
        torch's RNG), averaged over the batch."""
        if eps is None:
            return self.iwae_loss(x, 1)
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * eps
        ratio = self.log_ratio(z[:, None], eps[:, None], logvar[:, None])[:, 0]
        return -(self.log_likelihood(self.decode(z)[:, None], x)[:, 0] + ratio).mean()


def log_weights(model, x, k, generator=None):
    """log w = log p(x|z) + log p(z) - log q(z|x) [B, K] of k samples z = mu + exp(logvar / 2) eps
    per row of x [B, 784], eps ~ N(0, I) from `generator` (default: torch's RNG). The decoder runs
    the B k samples as one batch."""
    b = x.shape[0]
    mu, logvar = model.encode(x)
    eps = torch.randn(b, k, mu.shape[1], generator=generator)
    z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps
    ratio = model.log_ratio(z, eps, logvar[:, None], generator)
    logits = model.decode(z.reshape(b * k, -1)).reshape(b, k, -1)
    return model.log_likelihood(logits, x) + ratio
