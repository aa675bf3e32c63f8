"""vaekit's diffusion model in PyTorch, for torch_peer.py --model diffusion: the U-Net of
vae/denoisers.hpp and the training step of vae/kinds/diffusion.cpp (Ho et al.'s simple loss).

UNet(C, B) on C x 28 x 28 images, base width B, time embedding E = 2B, group norm in B / 4 groups:
stem conv 3x3 -> res(B) -> conv 3x3 stride 2 -> res(B -> 2B) -> conv 3x3 stride 2 -> res(2B) ->
transposed conv 4x4 stride 2 -> [.. | skip] res(4B -> 2B) -> transposed conv 4x4 stride 2 ->
[.. | skip] res(2B -> B) -> group norm, SiLU, conv 3x3 -> C channels. A residual block is group
norm, SiLU, conv 3x3, plus Linear(SiLU(time)) at every pixel, group norm, SiLU, conv 3x3, plus the
input (through a 1x1 conv where the channels change). The time embedding: t's B sinusoids
(sin then cos, frequencies 10000^(-j / (B/2))) through Linear(B, E), SiLU, Linear(E, E).
"""
import math

import torch
import torch.nn.functional as F

nn = torch.nn


class ResBlock(nn.Module):
    def __init__(self, cin, cout, e, groups):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, cin), nn.Conv2d(cin, cout, 3, 1, 1)
        self.time = nn.Linear(e, cout)
        self.norm2, self.conv2 = nn.GroupNorm(groups, cout), nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, time):
        h = self.conv1(F.silu(self.norm1(x))) + self.time(F.silu(time))[:, :, None, None]
        return self.conv2(F.silu(self.norm2(h))) + self.skip(x)


class UNet(nn.Module):
    def __init__(self, c=1, b=32):
        super().__init__()
        e, g = 2 * b, b // 4
        self.b = b
        self.time = nn.Sequential(nn.Linear(b, e), nn.SiLU(), nn.Linear(e, e))
        self.stem = nn.Conv2d(c, b, 3, 1, 1)
        self.res0 = ResBlock(b, b, e, g)
        self.down0 = nn.Conv2d(b, b, 3, 2, 1)
        self.res1 = ResBlock(b, 2 * b, e, g)
        self.down1 = nn.Conv2d(2 * b, 2 * b, 3, 2, 1)
        self.mid = ResBlock(2 * b, 2 * b, e, g)
        self.up1 = nn.ConvTranspose2d(2 * b, 2 * b, 4, 2, 1)
        self.res3 = ResBlock(4 * b, 2 * b, e, g)
        self.up0 = nn.ConvTranspose2d(2 * b, b, 4, 2, 1)
        self.res4 = ResBlock(2 * b, b, e, g)
        self.head = nn.Sequential(nn.GroupNorm(g, b), nn.SiLU(), nn.Conv2d(b, c, 3, 1, 1))

    def sinusoids(self, t):
        half = self.b // 2
        f = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        a = t.float()[:, None] * f[None, :]
        return torch.cat([torch.sin(a), torch.cos(a)], dim=1)

    def forward(self, x, t):
        time = self.time(self.sinusoids(t))
        s0 = self.res0(self.stem(x), time)
        s1 = self.res1(self.down0(s0), time)
        mid = self.mid(self.down1(s1), time)
        u1 = self.res3(torch.cat([self.up1(mid), s1], dim=1), time)
        u0 = self.res4(torch.cat([self.up0(u1), s0], dim=1), time)
        return self.head(u0)


class Diffusion(nn.Module):
    """Ho et al.'s linear schedule (1e-4 to 0.02, scaled by 1000 / T) and simple loss."""

    def __init__(self, steps=1000, width=32):
        super().__init__()
        self.net = UNet(1, width)
        scale = 1000.0 / steps
        betas = torch.linspace(1e-4 * scale, 0.02 * scale, steps, dtype=torch.float64)
        self.register_buffer("abar", torch.cumprod(1 - betas, 0).float())

    def loss(self, x):
        """The mean over pixels of (eps - eps(x_t, t))^2, averaged over the batch; x in [0, 1]."""
        x0 = (2 * x - 1).view(-1, 1, 28, 28)
        t = torch.randint(1, self.abar.numel() + 1, (x0.shape[0],))
        abar = self.abar[t - 1].view(-1, 1, 1, 1)
        eps = torch.randn_like(x0)
        x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
        return ((eps - self.net(x_t, t)) ** 2).mean()
