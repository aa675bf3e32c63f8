"""The models of torch_peer.py: vaekit's VAEs written in PyTorch.

Vae: --arch mlp, a 784-H-Z ReLU encoder with mu and log-variance heads and the mirrored decoder;
--arch conv, the convolutional VAE described in torch_peer.py. Hvae: vaekit's --model hvae, two
stochastic layers as in Burda et al. (2016): q(z|x) through H (tanh), q(z2|z) and p(z|z2) through
50-50 (tanh) with z2 of 50, p(z2) = N(0, I), the decoder mirroring H; its log-variance heads start
at zero, as vaekit's do. Each model gives `log_ratio`, log p(z) - log q(z|x) of draws z, from which
log_weights forms the importance weights of the IWAE bound and of IW evaluation. The constructors'
optional arguments (activation, input widths, deeper stacks) are what vaekit_torch.py needs to rebuild
any run of these kinds from vaekit's checkpoints; their defaults are the peers of the benchmarks.
p(x|z) is Bernoulli, Gaussian or the discretized logistic of the 8-bit pixels (Likelihood).
"""
import collections
import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def linears(widths, activation=torch.nn.ReLU):
    """Linear layers through `widths`, each followed by `activation`."""
    nn = torch.nn
    return [m for a, b in zip(widths, widths[1:]) for m in (nn.Linear(a, b), activation())]


def bernoulli(out, x, params):
    """log p(x|z) of logits `out` [..., K, d] at x [..., 1, d], summed over the pixels: -BCE-with-logits
    = x l - softplus(l), as a matrix-vector product and a softplus: the same quantity (up to
    rounding) in under half the time of the expanded BCE."""
    return torch.matmul(out, x.transpose(-1, -2))[..., 0] - F.softplus(out).sum(-1)


def gaussian(out, x, params):
    """log N(x; sigmoid(out), sigma^2) summed over the pixels, with params["log_sigma2"] one value
    for all pixels or one per pixel (vaekit's learned, optimal and fixed sigma^2 are all the
    stored value at evaluation)."""
    lv = params["log_sigma2"]
    sq = (x - torch.sigmoid(out)) ** 2
    weighted = sq.sum(-1) * torch.exp(-lv) if lv.numel() == 1 else (sq * torch.exp(-lv)).sum(-1)
    return -0.5 * (weighted + (lv + LOG_2PI).sum() * (out.shape[-1] // lv.numel()))


def logistic(out, x, params):
    """log P(x|z) of the discretized logistic of 8-bit pixels (vaekit's --likelihood logistic),
    summed over the pixels: out [..., K, 2 * d] holds the locations, then the log-scales (clamped
    below at -15, as vaekit does); x [..., 1, d] the pixels v / 255. Bin v is [v - 1/2, v + 1/2] / 255,
    bins 0 and 255 open to -inf and +inf. With u = e^-ls, a = (v + 1/2 - 255 mu) u / 255 and b the
    same at v - 1/2, an inner bin's log-mass is log sigmoid(a) + log sigmoid(-b) + log(1 - e^-(a-b)),
    three terms that never cancel (vaekit's identity; PixelCNN++ subtracts the two CDFs)."""
    d = x.shape[-1]
    mu, ls = out[..., :d], out[..., d:].clamp(min=-15.0)
    v = torch.round(x * 255)
    t = torch.exp(-ls) / 255
    a = (v + 0.5 - 255 * mu) * t
    b = (v - 0.5 - 255 * mu) * t
    inner = -F.softplus(-a) - F.softplus(b) + torch.log(-torch.expm1(-t))
    return torch.where(v == 0, -F.softplus(-a), torch.where(v == 255, -F.softplus(b), inner)).sum(-1)


def squared_error(out, x, params):
    """The autoencoders' -||x - sigmoid(out)||^2: no normalized density."""
    return -((x - torch.sigmoid(out)) ** 2).sum(-1)


# p(x|z) by vaekit's name: log p(x|z) of the decoder's last layer `out` at x (broadcast), with the
# likelihood's own parameters by name; and the mean image E[x|z] of `out`. Another likelihood is
# one function and one line here.
LikelihoodKind = collections.namedtuple("LikelihoodKind", "log_prob mean")
LIKELIHOODS = {
    "bernoulli": LikelihoodKind(bernoulli, torch.sigmoid),
    "gaussian": LikelihoodKind(gaussian, torch.sigmoid),
    "squared_error": LikelihoodKind(squared_error, torch.sigmoid),
}


class Likelihood(torch.nn.Module):
    """p(x|z) from the decoder's output: "bernoulli" (logits), "gaussian" (a learned scalar sigma^2
    on the sigmoid mean) or "logistic" (the discretized logistic: a location and a log-scale per
    pixel, so the decoder is twice as wide). vaekit_torch.py passes None: it reads the run's
    likelihood itself, from LIKELIHOODS."""

    def __init__(self, likelihood):
        super().__init__()
        self.log_sigma2 = torch.nn.Parameter(torch.zeros(1)) if likelihood == "gaussian" else None
        self.logistic = likelihood == "logistic"
        self.channels = 2 if self.logistic else 1  # decoder outputs per pixel

    def log_likelihood(self, logits, x):
        """log p(x|z) of each row of logits [B, K, 784 channels] given x [B, 784], summed over the
        pixels."""
        if self.logistic:
            return logistic(logits, x[:, None], {})
        if self.log_sigma2 is None:
            return bernoulli(logits, x[:, None], {})
        return gaussian(logits, x[:, None], {"log_sigma2": self.log_sigma2})

    def iwae_loss(self, x, k):
        """The negative importance-weighted bound of Burda et al. with k samples of z per image,
        averaged over the batch (k = 1: the one-sample ELBO with a Monte Carlo KL)."""
        log_w = log_weights(self, x, k)
        return -(torch.logsumexp(log_w, dim=1) - math.log(k)).mean()


class Vae(Likelihood):
    def __init__(self, arch, hidden, latent, likelihood, activation=torch.nn.ReLU, inputs=784,
                 decoder_inputs=None, posterior=True):
        """`inputs` and `decoder_inputs` (default: latent) are the widths the MLP encoder and
        decoder take (a label beside x or z makes them wider); the conv family is ReLU throughout
        on 784 pixels; without a posterior (the autoencoders) there is no log-variance head."""
        super().__init__(likelihood)
        nn = torch.nn
        # Built trunk, heads, decoder: the default init draws from the seeded RNG in this order,
        # which keeps the MLP's initial weights for a --seed what they were before conv existed.
        if arch == "conv":
            self.trunk = nn.Sequential(
                nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(),
                nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Flatten(), *linears([3136, hidden[-1]]))
        else:
            self.trunk = nn.Sequential(*linears([inputs] + hidden, activation))
        self.mu = nn.Linear(hidden[-1], latent)
        self.logvar = nn.Linear(hidden[-1], latent) if posterior else None
        if arch == "conv":
            self.dec = nn.Sequential(
                *linears([latent, hidden[-1], 3136]), nn.Unflatten(1, (64, 7, 7)),
                nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, self.channels, 4, 2, 1),
                nn.Flatten())  # channels first: the locations, then the log-scales
        else:
            widths = [decoder_inputs or latent] + hidden[::-1] + [784 * self.channels]
            self.dec = nn.Sequential(*linears(widths, activation)[:-1])

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
            rec = -logistic(logits[:, None], x[:, None], {}).sum()
        elif self.log_sigma2 is None:
            rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        else:
            mean = torch.sigmoid(logits)
            lv = self.log_sigma2
            rec = 0.5 * torch.sum((x - mean) ** 2 * torch.exp(-lv) + lv + LOG_2PI)
        return (rec + kl) / x.shape[0]


class GaussianNet(torch.nn.Module):
    """A trunk through `widths` (tanh unless `activation` says otherwise) and heads for the mean and
    the log-variance (starting at 0)."""

    def __init__(self, widths, out, activation=torch.nn.Tanh):
        super().__init__()
        nn = torch.nn
        self.trunk = nn.Sequential(*linears(widths, activation))
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
    """`latents_above` the widths of z2, z3, ...: each q(z_{l+1}|z_l) (up) and p(z_l|z_{l+1}) (down)
    through `hidden2` (mirrored for down), p(z_top) = N(0, I)."""

    def __init__(self, hidden, latent, likelihood, hidden2=(50, 50), latents_above=(50,),
                 activation=torch.nn.Tanh):
        super().__init__(likelihood)
        nn = torch.nn
        self.enc = GaussianNet([784] + hidden, latent, activation)
        self.mu = self.enc.mu  # test_nelbo reads the latent width here
        self.widths = list(latents_above)
        self.up, self.down = nn.ModuleList(), nn.ModuleList()
        for below, width in zip([latent] + self.widths, self.widths):
            self.up.append(GaussianNet([below, *hidden2], width, activation))
            self.down.append(GaussianNet([width, *hidden2[::-1]], below, activation))
        self.dec = nn.Sequential(*linears([latent] + hidden[::-1] + [784 * self.channels], activation)[:-1])

    def encode(self, x):
        return self.enc(x)

    def decode(self, z):
        return self.dec(z)

    def log_ratio(self, z, eps, logvar, generator=None, eps_above=None):
        """The one-sample bound on log p(z) - log q(z|x): log p(z|z2) + ... + log p(z_top)
        - log q(z|x) - log q(z2|z) - ... at z_{l+1} = mu(z_l) + exp(logvar(z_l) / 2) eps_{l+1}, the
        eps of the layers above from the columns of eps_above in turn (default: drawn from
        `generator`); the log 2 pi terms cancel between p and q of each layer."""
        log_q = torch.sum(-0.5 * eps * eps - 0.5 * logvar, dim=-1)
        zs, col = [z], 0
        for up, width in zip(self.up, self.widths):
            mu, lv = up(zs[-1])
            e = torch.randn(mu.shape, generator=generator) if eps_above is None \
                else eps_above[..., col:col + width]
            zs.append(mu + torch.exp(0.5 * lv) * e)
            log_q = log_q + torch.sum(-0.5 * e * e - 0.5 * lv, dim=-1)
            col += width
        log_p = torch.sum(-0.5 * zs[-1] ** 2, dim=-1)
        for below, above, down in zip(zs, zs[1:], self.down):
            log_p = log_p + gaussian_log_density(below, *down(above))
        return log_p - log_q

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
