#!/usr/bin/env bash
# Usage: trace_numpy_test.sh ACTSPARSE SOURCE_DIR. Runs the NumPy reader printed in
# docs/formats.md on a fresh trace, and checks the file with an independent NumPy
# convolution. Exit 77 (skipped) when no python3 with NumPy is installed.
set -u
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$2" && pwd)
[ -x "$A" ] || { echo "FAIL: $1 is not an executable"; exit 1; }
py=""
for cand in python3 /usr/bin/python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import numpy' 2>/dev/null; then
        py=$cand
        break
    fi
done
if [ -z "$py" ]; then
    echo "SKIP: no python3 with NumPy (apt-get install python3-numpy)"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

# The snippet, exactly as the docs show it.
sed -n '/<!-- python-reader:begin/,/<!-- python-reader:end/p' "$SRC/docs/formats.md" |
    sed '1d;$d' | sed '/^```/d' >reader.py
[ -s reader.py ] || { echo "FAIL: no reader snippet in docs/formats.md"; exit 1; }

"$A" trace synth --layer C=16,M=16,R=3,S=3,P=8,Q=8,pad=1 --density 0.3 --seed 7 --out f.trace >/dev/null || exit 1
out=$("$py" reader.py f.trace) || { echo "FAIL: the docs snippet failed"; exit 1; }
echo "snippet: $out"
want=" C=16,M=16,R=3,S=3,P=8,Q=8,pad=1 ifmap [1, 16, 8, 8] density 0.2998"
[ "$out" = "$want" ] || { echo "FAIL: want '$want'"; exit 1; }

# Strided, grouped, padded, batched layer with an I64 check done in NumPy from scratch.
"$A" trace synth --layer N=2,C=6,M=4,G=2,R=3,S=2,P=5,Q=4,stride=2,Hpad=1,Wpad=1 --density 0.6 \
    --seed 3 --pattern block --block 2 --out g.trace >/dev/null || exit 1
cat >check.py <<'PY'
import sys
import numpy as np
exec(open("reader.py").read().split("\nmeta, t = ")[0])
meta, t = read_trace(sys.argv[1])
x, w, y = t["ifmap"].astype(np.int64), t["weight"].astype(np.int64), t["ofmap_acc"]
m = {k: int(meta[k]) for k in ["N", "C", "M", "R", "S", "P", "Q", "G", "Hstride", "Wstride", "Hpad", "Wpad"]}
xp = np.pad(x, ((0, 0), (0, 0), (m["Hpad"],) * 2, (m["Wpad"],) * 2))
cg, mg = m["C"] // m["G"], m["M"] // m["G"]
ref = np.zeros((m["N"], m["M"], m["P"], m["Q"]), dtype=np.int64)
for o in range(m["M"]):
    g = o // mg
    for r in range(m["R"]):
        for s in range(m["S"]):
            patch = xp[:, g * cg:(g + 1) * cg, r:r + m["Hstride"] * m["P"]:m["Hstride"],
                       s:s + m["Wstride"] * m["Q"]:m["Wstride"]][:, :, :m["P"], :m["Q"]]
            ref[:, o] += np.einsum("nchw,c->nhw", patch, w[o, :, r, s])
assert y.shape == ref.shape, (y.shape, ref.shape)
assert np.array_equal(y, ref), "ofmap_acc differs from the NumPy convolution"
assert (t["ifmap"] >= 0).all()
print("numpy convolution matches ofmap_acc", list(y.shape))
PY
"$py" check.py g.trace || { echo "FAIL: NumPy cross-check"; exit 1; }
echo "all NumPy checks passed"
