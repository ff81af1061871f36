#!/usr/bin/env bash
# v1 vs v2 density sweeps (docs/performance.md, "v1 vs v2 density sweeps"): every conv layer
# of each network, synthetic traces at each ifmap density (uniform zeros, dense weights,
# batch 1), zero mode skip on both arrays, fast fidelity; prints a Markdown table of total
# cycles and energy per density, then per v2 layer how close its processing cycles come to
# density-proportional.
#
#   scripts/density_sweep.sh [OUT]      (OUT: folder of the JSON reports, default /tmp/...)
#
# Environment: NETS ("mobilenetv2-cifar alexnet"), DENSITIES ("1.0 0.8 0.6 0.4 0.2 0.1"),
# ARCHS ("eyeriss-v1 eyeriss-v2"), WEIGHT_DENSITY (1.0), ACTSPARSE_BUILD_DIR (build).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ACTSPARSE_BUILD_DIR:-build}/bin/actsparse
OUT=${1:-$(mktemp -d /tmp/density_sweep.XXXXXX)}
NETS=${NETS:-"mobilenetv2-cifar alexnet"}
DENSITIES=${DENSITIES:-"1.0 0.8 0.6 0.4 0.2 0.1"}
ARCHS=${ARCHS:-"eyeriss-v1 eyeriss-v2"}
WEIGHT_DENSITY=${WEIGHT_DENSITY:-1.0}
mkdir -p "$OUT"
start=$(date +%s)
for net in $NETS; do
    for arch in $ARCHS; do
        for d in $DENSITIES; do
            f="$OUT/$net-$arch-$d.json"
            [ -f "$f" ] && continue
            "$BIN" simulate --net "$net" --arch "$arch" --zero-mode skip --density "$d" \
                --weight-density "$WEIGHT_DENSITY" --quiet --out "$f"
        done
    done
done
echo "simulated in $(($(date +%s) - start)) s host; reports in $OUT" >&2
python3 - "$OUT" "$NETS" "$ARCHS" "$DENSITIES" <<'PY'
import json, sys
out, nets, archs, dens = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
def load(net, arch, d):
    return json.load(open(f"{out}/{net}-{arch}-{d}.json"))
for net in nets:
    print(f"\n{net}, batch 1, zero mode skip (cycles = total incl. DRAM; energy in uJ)\n")
    head = "| density |" + "".join(f" {a} cycles | {a} energy uJ |" for a in archs)
    head += "".join(f" {a} cycles / dense |" for a in archs)
    print(head)
    print("|" + "---|" * (1 + 3 * len(archs)))
    base = {a: load(net, a, dens[0])["totals"] for a in archs}
    for d in dens:
        row = f"| {d} |"
        tots = {a: load(net, a, d)["totals"] for a in archs}
        for a in archs:
            row += f" {tots[a]['cycles_total']:,} | {tots[a]['energy_pj'] / 1e6:,.1f} |"
        for a in archs:
            row += f" {tots[a]['cycles_total'] / base[a]['cycles_total']:.3f} |"
        print(row)
    if "eyeriss-v2" in archs:
        # Per layer on v2: processing cycles at the lowest density over the dense ones, vs
        # the density; and what the layer's time is at that density.
        lo = dens[-1]
        dense = {l["layer"]: l for l in load(net, "eyeriss-v2", dens[0])["layers"]}
        sparse = load(net, "eyeriss-v2", lo)["layers"]
        groups = {}
        for l in sparse:
            ld = dense[l["layer"]]
            ratio = l["cycles"]["processing"] / max(ld["cycles"]["processing"], 1)
            util = ld["utilization"]
            dram_bound = l["cycles"]["total"] > 1.5 * l["cycles"]["processing"]
            kind = ("MAC-bound (dense util >= 0.25)" if util >= 0.25 else "low dense util (< 0.25)")
            groups.setdefault(kind, []).append((l["layer"], ratio, util, dram_bound,
                                                 l["cycles"]["processing"], l["cycles"]["total"]))
        print(f"\n{net} on eyeriss-v2: processing cycles at density {lo} / at {dens[0]} per layer class\n")
        print("| class | layers | median ratio | min | max | layers with total > 1.5 x processing |")
        print("|---|---|---|---|---|---|")
        for kind, ls in sorted(groups.items()):
            rs = sorted(r for _, r, *_ in ls)
            print(f"| {kind} | {len(ls)} | {rs[len(rs) // 2]:.3f} | {rs[0]:.3f} | {rs[-1]:.3f} | "
                  f"{sum(1 for x in ls if x[3])} |")
PY
echo "total $(($(date +%s) - start)) s host" >&2
