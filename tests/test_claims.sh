#!/usr/bin/env bash
# lecture-claims --quick end to end: claims.json holds all twelve claims with every field, finite
# figures with one value per seed, and verdicts that follow from those figures; report.md and
# report.html are there; bad input gives one clear line.
set -uo pipefail
build=$1
bin="$build/experiments"
here=$(dirname "$0")
source "$here/claims_quick.sh"
data=/usr/share/datasets/fashion-mnist
if [ ! -d "$data" ]; then echo "skipped: $data is missing (scripts/test installs dataset-fashion-mnist)"; exit 77; fi
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

start=$(date +%s)
dir=$(quick_claims "$build") || { echo "FAILED: lecture-claims --quick did not finish"; exit 1; }
echo "ok: lecture-claims --quick output in $dir ($(( $(date +%s) - start )) s here, including any wait)"

python3 - "$dir/claims.json" <<'PY' || fails=$((fails + 1))
import json, math, sys
doc = json.load(open(sys.argv[1]))
bad = []
claims = doc.get("claims", [])
seeds = doc["settings"]["seeds"]
if sorted(c.get("id") for c in claims) != list(range(1, 13)): bad.append("ids are not 1..12 once each")
for c in claims:
    cid = c.get("id")
    for key in ("slug", "statement", "rule", "summary"):
        if not isinstance(c.get(key), str) or not c[key]: bad.append(f"claim {cid}: no {key}")
    if not isinstance(c.get("settings"), dict) or not c["settings"]: bad.append(f"claim {cid}: no settings")
    if c.get("seeds") != list(range(1, seeds + 1)): bad.append(f"claim {cid}: seeds {c.get('seeds')}")
    if c.get("verdict") not in ("supported", "not supported", "mixed"): bad.append(f"claim {cid}: verdict {c.get('verdict')}")
    figs = c.get("figures") or []
    if not figs: bad.append(f"claim {cid}: no figures")
    for f in figs:
        vals = [f.get("mean"), f.get("sd")] + list(f.get("per_seed") or [])
        if len(f.get("per_seed") or []) != seeds: bad.append(f"claim {cid}: {f.get('name')}: not one value per seed")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
            bad.append(f"claim {cid}: {f.get('name')}: a figure is not a finite number: {vals}")
        elif abs(sum(f["per_seed"]) / seeds - f["mean"]) > 1e-9 * max(1, abs(f["mean"])):
            bad.append(f"claim {cid}: {f.get('name')}: mean is not the mean of the seeds")

# Verdicts follow from the figures: recompute two rules from the per-seed values.
def fig(cid, name):
    c = next(c for c in claims if c["id"] == cid)
    return next(f["per_seed"] for f in c["figures"] if f["name"] == name)
def by_seeds(passes):
    return "supported" if all(passes) else "not supported" if not any(passes) else "mixed"
def both(a, b): return a if a == b else "mixed"
real, rec, samp = (fig(8, "Laplacian variance, " + k) for k in ("real test images", "VAE reconstructions", "VAE samples"))
want8 = by_seeds([s < r and c < r for r, c, s in zip(real, rec, samp)])
cp, ce = fig(2, "classifier confidence, z ~ N(0, I)"), fig(2, "classifier confidence, z = μ(x)")
dp, de = fig(2, "nearest training image distance, z ~ N(0, I)"), fig(2, "nearest training image distance, z = μ(x)")
want2 = both(by_seeds([p < e for p, e in zip(cp, ce)]), by_seeds([p > e for p, e in zip(dp, de)]))
# Claim 12: every model's bound, Fréchet distance and sharpness, and the verdict from the diffusion
# model against the 1-layer VAE (sharper: Laplacian ratio closer to 1; lower Fréchet distance).
models = ("VAE (1 layer)", "HVAE (2 layers)", "HVAE (3 layers)", "diffusion")
c12 = next((c for c in claims if c["id"] == 12), {"figures": []})
names12 = {f["name"] for f in c12["figures"]}
k = c12.get("settings", {}).get("iw_samples")
need12 = [f"{what}, {m}" for m in models for what in ("bound (bits/dim, NELBO)", "Fréchet distance", "Laplacian-variance ratio")]
need12 += [f"IW NLL (bits/dim, K = {k}), {m}" for m in models[:3]] + ["Fréchet distance, held-out test images (floor)"]
missing12 = [n for n in need12 if n not in names12]
if missing12: bad.append(f"claim 12: figures missing: {missing12}")
else:
    rv, rd = fig(12, "Laplacian-variance ratio, " + models[0]), fig(12, "Laplacian-variance ratio, diffusion")
    fv, fd = fig(12, "Fréchet distance, " + models[0]), fig(12, "Fréchet distance, diffusion")
    want12 = both(by_seeds([abs(1 - d) < abs(1 - v) for v, d in zip(rv, rd)]), by_seeds([d < v for v, d in zip(fv, fd)]))
for cid, want in ((8, want8), (2, want2)) + (((12, want12),) if not missing12 else ()):
    got = next(c["verdict"] for c in claims if c["id"] == cid)
    if got != want: bad.append(f"claim {cid}: verdict {got}, its figures give {want}")
for b in bad: print("FAILED:", b)
if not bad: print(f"ok: claims.json has 12 claims, every field, finite figures over {seeds} seeds, verdicts from the figures")
sys.exit(1 if bad else 0)
PY

for f in report.md report.html; do
  if [ -s "$dir/$f" ]; then echo "ok: $f written"; else echo "FAILED: no $f"; fails=$((fails + 1)); fi
done
sections=$(grep -c '^## [1-9][0-9]*\. ' "$dir/report.md")
if [ "$sections" -eq 12 ]; then echo "ok: report.md has a section per claim"
else echo "FAILED: report.md has $sections claim sections"; fails=$((fails + 1)); fi
# An SVG's xmlns names a namespace and fetches nothing; a src, href or url() would fetch.
if grep -Eq '(src|href)="https?://|url\(https?://' "$dir/report.html"; then echo "FAILED: report.html refers to the network"; fails=$((fails + 1))
else echo "ok: report.html fetches nothing"; fi

# expect_error DESCRIPTION PATTERN ARGS...: non-zero exit, the last stderr line matches PATTERN.
expect_error() {
  local what=$1 pattern=$2; shift 2
  "$bin/lecture-claims" "$@" >/dev/null 2>"$tmp/err"
  local rc=$?
  if [ $rc -ne 0 ] && tail -n 1 "$tmp/err" | grep -q -- "$pattern"; then echo "ok: $what"
  else echo "FAILED: $what (exit $rc): $(cat "$tmp/err")"; fails=$((fails + 1)); fi
}
expect_error "--seeds 0 is refused" "seeds must be at least 1" --quick --seeds 0 --out "$tmp/x"
expect_error "--out is required" "out" --quick
expect_error "--only 13 is refused" "only takes claim numbers 1 to 12" --quick --only 13 --out "$tmp/z"
expect_error "--only 2,,3 is refused" "only takes claim numbers" --quick --only 2,,3 --out "$tmp/z"
expect_error "a missing data folder is named" "$tmp/none" --quick --data "$tmp/none" --out "$tmp/y"

if [ $fails -eq 0 ]; then echo "claims: all checks passed"; exit 0; fi
echo "claims: $fails checks failed"; exit 1
