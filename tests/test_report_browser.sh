#!/usr/bin/env bash
# report.html in a real browser: headless chromium renders a short run's page, an RGB conv run's
# (synthetic CIFAR-10 batches) and the report of lecture-claims --quick, which must draw
# every figure (the page's own marker, see experiments/draw/html.hpp) with nothing on the
# console. A copy with a broken picture, a broken chart path and a console error must fail the
# same check, so that the check can fail. Keeps BUILD/report-screenshot.png and
# BUILD/claims-screenshot.png to look at.
set -uo pipefail
build=$1
bin="$build/experiments"
data=/usr/share/datasets/fashion-mnist
browser=$(command -v chromium || true)
if [ -z "$browser" ]; then
  echo "skipped: chromium is not installed (scripts/test installs it: apt-get install chromium)"
  exit 77
fi
if [ ! -d "$data" ]; then
  echo "skipped: $data is missing (scripts/test installs dataset-fashion-mnist)"
  exit 77
fi
source "$(dirname "$0")/claims_quick.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# chrome FLAGS... URL: a fresh profile each time and nothing that reaches for the network. The
# timeout only ends a browser that hangs: generous, as a loaded machine starts chromium slowly (the
# page's own time is virtual, --virtual-time-budget).
chrome() {
  timeout 240 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d "$tmp/profile.XXXXXX")" --enable-logging=stderr --v=0 "$@"
}
# verdict PAGE: prints "ok" or why the page failed, then the page's "N of M" figures drawn.
verdict() {
  chrome --window-size=1280,1000 --virtual-time-budget=10000 --dump-dom "file://$1" >"$tmp/dom" 2>"$tmp/log"
  python3 - "$tmp/dom" "$tmp/log" <<'PY'
import html, re, sys
dom = open(sys.argv[1], errors="replace").read()
log = open(sys.argv[2], errors="replace").read()
reasons = []
status = re.search(r'<html[^>]*data-report-status="(\w+)"', dom)
if not status: reasons.append("the page set no data-report-status (its script did not finish)")
elif status.group(1) != "ready": reasons.append("data-report-status=" + status.group(1))
errors = re.search(r'<pre id="report-errors"[^>]*>(.*?)</pre>', dom, re.S)
if errors and errors.group(1).strip(): reasons.append("page: " + html.unescape(errors.group(1)).strip().replace("\n", "; "))
# Chromium logs every console message and uncaught error of the page as a CONSOLE line; the
# report logs nothing.
reasons += ["console: " + l.split("]", 1)[-1].strip() for l in log.splitlines() if ":CONSOLE" in l]
drawn = re.search(r'data-figures-drawn="([^"]*)"', dom)
print("ok" if not reasons else " | ".join(reasons))
print(drawn.group(1) if drawn else "? of ?")
PY
}

# page_drawn WHAT PAGE LEAST: chromium drew every figure of PAGE, at least LEAST, with nothing on the console.
page_drawn() {
  local figures
  figures=$(grep -c '<figure id=' "$2" 2>/dev/null || echo 0)
  mapfile -t result < <(verdict "$2")
  if [ "${result[0]}" = ok ] && [ "${result[1]}" = "$figures of $figures" ] && [ "$figures" -ge "$3" ]; then
    echo "ok: chromium drew all ${result[1]} figures of $1 with nothing on the console"
  else
    echo "FAILED: $1: ${result[0]} (figures drawn: ${result[1]}, expected $figures, at least $3)"; fails=$((fails + 1))
  fi
}

run="$tmp/run"
"$bin/vae-train" --limit 10000 --epochs 3 --hidden 64 --latent 2 --threads 1 --out "$run" >/dev/null 2>&1
"$bin/vae-eval" --run "$run" --limit 200 --iw 2 --threads 1 >/dev/null 2>&1
if [ ! -s "$run/report.html" ]; then echo "FAILED: vae-train and vae-eval left no report.html"; exit 1; fi

figures=$(grep -c '<figure id=' "$run/report.html")
missing=""
for png in "$run"/*.png; do
  name=$(basename "$png" .png)
  grep -q "<figure id=\"$name\"><img" "$run/report.html" || missing="$missing $name"
done
if [ -z "$missing" ]; then echo "ok: every picture of the folder is a figure of the page ($figures figures)"
else echo "FAILED: pictures missing from the page:$missing"; fails=$((fails + 1)); fi

mapfile -t result < <(verdict "$run/report.html")
if [ "${result[0]}" = ok ] && [ "${result[1]}" = "$figures of $figures" ]; then
  echo "ok: chromium drew all ${result[1]} figures with nothing on the console"
else
  echo "FAILED: chromium: ${result[0]} (figures drawn: ${result[1]}, expected $figures)"; fails=$((fails + 1))
fi

# As tall as the page says it is, so the screenshot shows every figure.
height=$(grep -o 'data-page-height="[0-9]*"' "$tmp/dom" | grep -o '[0-9]*' || echo 4000)
chrome --screenshot="$build/report-screenshot.png" --window-size="1280,$height" --hide-scrollbars \
  --virtual-time-budget=10000 "file://$run/report.html" >/dev/null 2>&1
if [ -s "$build/report-screenshot.png" ]; then echo "ok: screenshot in $build/report-screenshot.png"
else echo "FAILED: no screenshot"; fails=$((fails + 1)); fi

# The page of a conv VAE on 32x32 RGB images (synthetic CIFAR-10 batches): its colour pictures drawn.
python3 "$(dirname "$0")/synthetic_images.py" "$tmp/images"
"$bin/vae-train" --arch conv --epochs 1 --batch 50 --latent 2 --threads 1 --data "$tmp/images/cifar" \
  --out "$tmp/rgb" >/dev/null 2>&1
page_drawn "the RGB conv run's report" "$tmp/rgb/report.html" 5

# The claims report of lecture-claims --quick (the claims test's run, or this test's if it comes first).
if claims=$(quick_claims "$build"); then
  page="$claims/report.html"
  page_drawn "the claims report" "$page" 9
  height=$(grep -o 'data-page-height="[0-9]*"' "$tmp/dom" | grep -o '[0-9]*' || echo 8000)
  chrome --screenshot="$build/claims-screenshot.png" --window-size="1280,$height" --hide-scrollbars \
    --virtual-time-budget=10000 "file://$page" >/dev/null 2>&1
  if [ -s "$build/claims-screenshot.png" ]; then echo "ok: screenshot in $build/claims-screenshot.png"
  else echo "FAILED: no claims screenshot"; fails=$((fails + 1)); fi
else
  echo "FAILED: lecture-claims --quick gave no report"; fails=$((fails + 1))
fi

# The control: one picture's data undecodable, one chart's path unparsable, one console error.
python3 - "$run/report.html" "$tmp/broken.html" <<'PY'
import sys
page = open(sys.argv[1]).read()
page = page.replace("base64,iVBOR", "base64,AAAA", 1).replace('<path d="M', '<path d="Q', 1)
page = page.replace("</body>", "<script>console.error('planted error')</script></body>")
open(sys.argv[2], "w").write(page)
PY
mapfile -t result < <(verdict "$tmp/broken.html")
for reason in "did not load: <img>" "attribute d" "planted error" "data-report-status=failed"; do
  case "${result[0]}" in
    *"$reason"*) echo "ok: a broken page fails the check ($reason)" ;;
    *) echo "FAILED: a broken page was not caught for '$reason': ${result[0]}"; fails=$((fails + 1)) ;;
  esac
done

if [ $fails -eq 0 ]; then echo "report-browser: all checks passed"; exit 0; fi
echo "report-browser: $fails checks failed"; exit 1
