"""The test set and the test NELBO of torch_peer.py --mode quality (and vaekit_torch.py's test set).

The test set is the folder vaekit's `vae-eval --write-test DIR` writes: images.npy (float32
[n, 784], the exact pixel values vaekit evaluates on), labels.npy and info.json ({"form":
"binarized" | "greyscale" | "dequantized", "count": n, "seed": s}).
"""
import json
import os

import numpy as np
import torch


class TestSetError(Exception):
    """A missing or malformed test folder."""


def load_test_images(directory, limit=None):
    """The rows of DIR/images.npy as a float32 tensor [n, 784], the first `limit` if given."""
    path = os.path.join(directory, "images.npy")
    if not os.path.isfile(path):
        raise TestSetError(f"{path} not found; vaekit's vae-eval --write-test {directory} writes it")
    try:
        images = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise TestSetError(f"cannot read {path} as a .npy array: {e}") from None
    if not isinstance(images, np.ndarray):
        raise TestSetError(f"{path} is an archive, not one .npy array")
    if images.dtype != np.float32 or images.ndim != 2 or images.shape[1] != 784 or not len(images):
        raise TestSetError(f"{path}: expected float32 [n, 784] with n >= 1, found "
                           f"{images.dtype} {list(images.shape)}")
    if not np.all((images >= 0) & (images <= 1)):  # also rejects NaN
        raise TestSetError(f"{path}: pixel values outside [0, 1]")
    info_path = os.path.join(directory, "info.json")
    if os.path.isfile(info_path):
        try:
            with open(info_path) as f:
                count = json.load(f).get("count")
        except (OSError, ValueError, AttributeError) as e:
            raise TestSetError(f"cannot read {info_path}: {e}") from None
        if count is not None and count != len(images):
            raise TestSetError(f"{info_path} says {count} images, {path} holds {len(images)}")
    if limit:
        images = images[:limit]
    return torch.from_numpy(np.ascontiguousarray(images))


def load_test_labels(directory, count):
    """The labels of DIR/labels.npy (float32 [count, 1] of whole numbers) as an int64 tensor [count]."""
    path = os.path.join(directory, "labels.npy")
    try:
        labels = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise TestSetError(f"cannot read {path} as a .npy array: {e}") from None
    if not isinstance(labels, np.ndarray) or labels.shape != (count, 1) or np.any(labels != np.round(labels)) \
            or np.any(labels < 0):
        raise TestSetError(f"{path}: expected {count} whole non-negative labels as [{count}, 1], found "
                           f"{getattr(labels, 'dtype', '?')} {list(getattr(labels, 'shape', []))}")
    return torch.from_numpy(labels.reshape(-1).astype(np.int64))


@torch.no_grad()
def test_nelbo(model, images, generator, batch=500):
    """The mean over the rows of images of the negative ELBO as vaekit evaluates it: the
    closed-form KL plus -log p(x|z) at one z = mu + exp(logvar / 2) eps, eps from generator."""
    total = 0.0
    for start in range(0, images.shape[0], batch):
        x = images[start:start + batch]
        eps = torch.randn(x.shape[0], model.mu.out_features, generator=generator)
        total += model.loss(x, eps).item() * x.shape[0]
    return total / images.shape[0]
