#!/usr/bin/env python3
"""Image sets for the program tests, written without numpy (a fresh machine's python3 has none).

synthetic_images.py OUT
    240 coloured blobs of 32x32 (label: the dominant colour) as CIFAR-10 batches (OUT/cifar: five
    training batches of 40, a test batch of 40) and as the same images in an .npy folder
    (OUT/rgb-npy: uint8 [N, 32, 32, 3], int64 labels); and 140 grey 20x12 blobs as one float32
    file without labels (OUT/grey.npy).
synthetic_images.py --copy-idx SRC OUT N
    the first N training images and all test images of the MNIST-format folder SRC as an .npy
    folder OUT (uint8 [N, H, W] and uint8 labels).
"""
import gzip
import math
import os
import random
import struct
import sys


def npy(path, descr, shape, payload):
    """An .npy file of format 1.0: dtype descr, C order."""
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, "".join(f"{d}, " for d in shape))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload)


def blob(rng, h, w, channels):
    cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(3, 8)
    colour = [rng.random() for _ in range(channels)]
    label = max(range(channels), key=lambda c: colour[c])
    px = [[[int(255 * colour[c] * math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r)))
            for c in range(channels)] for x in range(w)] for y in range(h)]
    return label, px


def cifar_batch(path, images):
    with open(path, "wb") as f:
        for label, px in images:
            f.write(bytes([label]) + bytes(px[y][x][c] for c in range(3) for y in range(32) for x in range(32)))


def synthetic(out):
    rng = random.Random(5)
    rgb = [blob(rng, 32, 32, 3) for _ in range(240)]
    train, test = rgb[:200], rgb[200:]
    os.makedirs(f"{out}/cifar")
    for b in range(5):
        cifar_batch(f"{out}/cifar/data_batch_{b + 1}.bin", train[40 * b:40 * (b + 1)])
    cifar_batch(f"{out}/cifar/test_batch.bin", test)
    os.makedirs(f"{out}/rgb-npy")
    for name, part in (("train", train), ("test", test)):
        npy(f"{out}/rgb-npy/{name}_images.npy", "|u1", (len(part), 32, 32, 3),
            bytes(v for _, px in part for row in px for pixel in row for v in pixel))
        npy(f"{out}/rgb-npy/{name}_labels.npy", "<i8", (len(part),),
            struct.pack(f"<{len(part)}q", *(label for label, _ in part)))
    grey = [blob(rng, 20, 12, 1) for _ in range(140)]
    npy(f"{out}/grey.npy", "<f4", (140, 20, 12),
        struct.pack(f"<{140 * 240}f", *(v / 255 for _, px in grey for row in px for pixel in row for v in pixel)))


def copy_idx(src, out, n_train):
    def idx(name):
        for path in (f"{src}/{name}", f"{src}/{name}.gz"):
            if os.path.exists(path):
                raw = open(path, "rb").read()
                return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        raise SystemExit(f"{src}: no {name}")
    os.makedirs(out)
    for name, idx_name, n in (("train", "train", n_train), ("test", "t10k", None)):
        images, labels = idx(f"{idx_name}-images-idx3-ubyte"), idx(f"{idx_name}-labels-idx1-ubyte")[8:]
        h, w = struct.unpack(">II", images[8:16])
        n = n or len(labels)
        npy(f"{out}/{name}_images.npy", "|u1", (n, h, w), images[16:16 + n * h * w])
        npy(f"{out}/{name}_labels.npy", "|u1", (n,), labels[:n])


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--copy-idx":
        copy_idx(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 2:
        synthetic(sys.argv[1])
    else:
        raise SystemExit(__doc__)
