#!/usr/bin/env python3
"""Turns scripts/bench's measurements.jsonl into the markdown tables of the README.

Each line is one measurement: `who` (vaekit, torch or roofline), `mode` (step, epoch or iw), `threads`,
and images per second (vae-eval's lines give seconds and test_count instead). A measurement taken
more than once counts with its best run, on either side.
"""
import json
import sys


def rate(m):
    if m.get("who") == "vaekit" and m.get("mode") == "iw":
        return m["test_count"] / m["seconds"]
    return m["images_per_second"]


def fmt(v):
    return f"{v:,.0f}" if v is not None else "–"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "–"


def best(rows, who, **match):
    vals = [rate(m) for m in rows if m["who"] == who and all(str(m.get(k)) == str(v) for k, v in match.items())]
    return max(vals) if vals else None


def one(rows, who, **match):
    """The fastest of the matching measurements (a repeated one's best run), or None."""
    found = [m for m in rows if m["who"] == who and all(str(m.get(k)) == str(v) for k, v in match.items())]
    return max(found, key=rate) if found else None


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    for m in rows:
        m["threads"] = str(m.get("threads"))
    kernels = {}
    for m in rows:
        if m.get("kernels"):
            kernels.setdefault(m["who"], set()).add(m["kernels"])
    if kernels:
        print("Kernels that ran (each library's own pick): " +
              "; ".join(f"{who} {', '.join(sorted(k))}" for who, k in kernels.items()) + ".\n")

    # Rows from either side, so that a row vaekit failed to measure still shows torch's numbers.
    keys = []
    for m in rows:
        k = (m.get("arch"), m.get("likelihood"), str(m.get("batch")))
        if m.get("mode") == "step" and k not in keys:
            keys.append(k)
    print("Training steps, images/s (median step); roofline = the step's GEMMs alone / the step; "
          "peak = the step's GEMM flops per second as a share of the same threads' float FMA peak "
          "(bench/fma_peak.hpp, measured in the same run).\n")
    print("| arch | likelihood | batch | vaekit 1 thr | vaekit 2 thr | torch 1 thr | torch 2 thr "
          "| best vs best | roofline 1 thr | roofline 2 thr | peak 1 thr | peak 2 thr |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for arch, lik, batch in keys:
        sel = dict(mode="step", arch=arch, likelihood=lik, batch=batch)
        v1, v2 = (one(rows, "vaekit", threads=t, **sel) for t in ("1", "2"))
        t1, t2 = (best(rows, "torch", threads=t, **sel) for t in ("1", "2"))
        vb, tb = best(rows, "vaekit", **sel), best(rows, "torch", **sel)
        r1, r2 = (f"{v['roofline_fraction']:.2f}" if v else "–" for v in (v1, v2))
        p1, p2 = (f"{v['peak_fraction']:.2f}" if v and "peak_fraction" in v else "–" for v in (v1, v2))
        print(f"| {arch} | {lik} | {batch} | {fmt(v1 and rate(v1))} | {fmt(v2 and rate(v2))} | {fmt(t1)} "
              f"| {fmt(t2)} | {ratio(vb, tb)} | {r1} | {r2} | {p1} | {p2} |")

    print("\nWhole training epochs of the pytorch/examples protocol (Bernoulli, dynamic binarization, "
          "batch 128, Adam), images/s; roofline = the batch-128 step's GEMMs alone (vae-bench) / the epoch; "
          "peak = the epoch's GEMM flops per second (the step's per image) over the threads' float FMA peak:\n")
    print("| model | threads | vaekit | torch | roofline | peak | vaekit peak RSS | best vs best |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m in rows:  # the MLP epochs of older logs carry no arch
        if m.get("mode") == "epoch":
            m.setdefault("arch", "784-400-20")
    for arch in dict.fromkeys(m["arch"] for m in rows if m.get("mode") == "epoch"):
        both = ratio(best(rows, "vaekit", mode="epoch", arch=arch), best(rows, "torch", mode="epoch", arch=arch))
        for t in ("1", "2"):
            v = one(rows, "vaekit", mode="epoch", arch=arch, threads=t)
            tt = best(rows, "torch", mode="epoch", arch=arch, threads=t)
            step = one(rows, "vaekit", mode="step", arch=arch, likelihood="bernoulli", batch="128", threads=t)
            roof = f"{rate(v) / step['roofline_images_per_second']:.2f}" if v and step else "–"
            share = (f"{rate(v) / rate(step) * step['peak_fraction']:.2f}"
                     if v and step and "peak_fraction" in step else "–")
            rss = f"{v['peak_rss_mb']:.0f} MB" if v and "peak_rss_mb" in v else "–"
            print(f"| {arch} | {t} | {fmt(v and rate(v))} | {fmt(tt)} | {roof} | {share} | {rss} "
                  f"| {both if t == '2' else ''} |")

    for k in dict.fromkeys(str(m.get("iw")) for m in rows if m.get("mode") == "iw" and m["who"] == "vaekit"):
        count = one(rows, "vaekit", mode="iw", iw=k)["test_count"]
        print(f"\nImportance-weighted evaluation, K = {k}, {count:,} test images, images/s; roofline = "
              f"the evaluation's GEMMs alone (gemm-bench --iw {k}) / the evaluation:\n")
        print("| threads | vaekit | torch | roofline |")
        print("| ---: | ---: | ---: | ---: |")
        for t in ("1", "2"):
            v = best(rows, "vaekit", mode="iw", iw=k, threads=t)
            r = best(rows, "roofline", mode="iw", iw=k, threads=t)
            roof = f"{v / r:.2f}" if v and r else "–"
            print(f"| {t} | {fmt(v)} | {fmt(best(rows, 'torch', mode='iw', iw=k, threads=t))} | {roof} |")
        print(f"\nvaekit's best over torch's best: "
              f"{ratio(best(rows, 'vaekit', mode='iw', iw=k), best(rows, 'torch', mode='iw', iw=k))}")

    gemms = [m for m in rows if m.get("who") == "gemm"]
    if gemms:
        peaks = [m for m in rows if m.get("who") == "fma_peak"]
        print("\nGEMMs of the MLP (batch 128) and conv steps through blas::gemm (the build's library), GFLOP/s "
              "and, in brackets, the share of the same threads' float FMA peak (bench/gemm-bench):\n")
        for p in peaks:
            print(f"- FMA peak, {p['threads']} thread(s): {p['float256']:.0f} GFLOP/s with 256-bit float FMAs, "
                  f"{p['float512']:.0f} with 512-bit, {p['bf16']:.0f} with 512-bit bf16 dot products")
        print()
        print("| product | m | n | k | 1 thr | 2 thr, vaekit's blocks | 2 thr, the library's own threads |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for shape in dict.fromkeys(m["shape"] for m in gemms):
            def g(threads, split):
                hit = [m for m in gemms if m["shape"] == shape and m["threads"] == threads and
                       (threads == "1" or m["split"] == split)]
                if not hit:
                    return "–"
                share = f" ({hit[0]['peak_fraction']:.2f})" if "peak_fraction" in hit[0] else ""
                return f"{hit[0]['gflops']:.0f}{share}"
            m0 = next(m for m in gemms if m["shape"] == shape)
            print(f"| {shape} | {m0['m']} | {m0['n']} | {m0['k']} | {g('1', '')} | {g('2', 'blocks')} "
                  f"| {g('2', 'openblas')} |")


if __name__ == "__main__":
    main()
