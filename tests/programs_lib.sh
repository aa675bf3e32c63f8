# What the program tests share: a temporary folder, checks that count failures, the one-line
# errors of bad input, and readers of the files the programs write. Sourced, with $bin set.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fails=$((fails + 1)); fi
}
# expect_error DESCRIPTION PATTERN COMMAND...: non-zero exit and one error line matching PATTERN.
expect_error() {
  local what=$1 pattern=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  # The error is one line: all of stderr, or the last line after progress bars.
  if [ $rc -ne 0 ] && { [ "$(wc -l <"$tmp/err")" -le 1 ] && grep -q -- "$pattern" "$tmp/err" ||
                        tail -n 1 "$tmp/err" | grep -q -- "$pattern"; }; then
    echo "ok: $what"
  else
    echo "FAILED: $what (exit $rc): $(cat "$tmp/err")"; fails=$((fails + 1))
  fi
}
json_equal_except_time() {
  python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("train_seconds", "images_per_second", "peak_rss_mb"):
    a.pop(k, None); b.pop(k, None)
sys.exit(0 if a == b else 1)
PY
}
close() {  # close FILE_A KEY_A FILE_B KEY_B RELATIVE_TOLERANCE
  python3 - "$@" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))[sys.argv[2]]; b = json.load(open(sys.argv[3]))[sys.argv[4]]
sys.exit(0 if abs(a - b) <= float(sys.argv[5]) * abs(a) else 1)
PY
}

# npy_fields FILE.npy PYTHON-CONDITION: on shape (a tuple) and x (the float32 values, a list), read
# without numpy (a fresh machine's python3 has none).
npy_fields() {
  python3 - "$1" "$2" <<'PY'
import ast, struct, sys
raw = open(sys.argv[1], "rb").read()
assert raw[:6] == b"\x93NUMPY"
n = struct.unpack("<H", raw[8:10])[0]
header = ast.literal_eval(raw[10:10 + n].decode())
shape = tuple(header["shape"])
count = 1
for s in shape: count *= s
x = list(struct.unpack("<%df" % count, raw[10 + n:10 + n + 4 * count]))
sys.exit(0 if header["descr"] == "<f4" and eval(sys.argv[2]) else 1)
PY
}
json_fields() {  # json_fields JSON PYTHON-CONDITION-ON-d
  python3 -c 'import json, math, sys; d = json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}
# finish NAME: the closing line and the exit code of a test script.
finish() {
  if [ $fails -eq 0 ]; then echo "$1: all checks passed"; exit 0; fi
  echo "$1: $fails checks failed"; exit 1
}
# A PNG reader with zlib alone (8-bit grey, RGB or RGBA, not interlaced: what libpng's simplified
# API writes): read_png(path) gives width, height and the rows of bytes, unfiltered.
read -r -d '' png_reader <<'PY'
import struct, zlib
def read_png(path):
    raw = open(path, "rb").read()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(raw):
        n, kind = struct.unpack(">I4s", raw[pos:pos + 8])
        body = raw[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert depth == 8 and interlace == 0 and color in (0, 2, 6)
    bpp = {0: 1, 2: 3, 6: 4}[color]
    data, stride, px, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for r in range(height):
        f, row = data[r * (stride + 1)], bytearray(data[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            paeth = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c) else c
            row[i] = (row[i] + [0, a, b, (a + b) // 2, paeth][f]) & 255
        px.append(bytes(row))
        prev = row
    return width, height, px
PY
# png_fields FILE.png PYTHON-CONDITION: on width, height and px (rows of bytes).
png_fields() {
  python3 -c "$png_reader
import sys
width, height, px = read_png(sys.argv[1])
sys.exit(0 if eval(sys.argv[2]) else 1)" "$1" "$2"
}
# png_pair A.png B.png PYTHON-CONDITION: on a and b, the two files' rows of bytes.
png_pair() {
  python3 -c "$png_reader
import sys
a, b = read_png(sys.argv[1])[2], read_png(sys.argv[2])[2]
sys.exit(0 if eval(sys.argv[3]) else 1)" "$1" "$2" "$3"
}
