#!/usr/bin/env bash
# The Eyeriss v2-class array against what the JETCAS 2019 paper publishes (docs/validation.md,
# "Eyeriss v2-class array vs the JETCAS 2019 paper"; the published numbers and their
# citations are in validation/eyeriss-v2-jetcas19.yaml). Batch 1, fast fidelity, synthetic
# traces (uniform zeros), every conv layer; prints Markdown tables of simulated inferences/s
# and inferences/J next to the published ones, and the v2 / v1 ratios.
#
#   scripts/validate_v2.sh [OUT]      (OUT: folder of the JSON reports, default /tmp/...)
#
# The paper gives no densities (Table III is an image), so they are swept (assumptions, not
# fits): ACT_DENSITIES for the ifmaps of every conv layer but the first (the image is dense),
# WEIGHT_DENSITIES for every layer's weights. AlexNet also runs at the ifmap densities the
# Eyeriss v1 chip measured on dense AlexNet ([JSSC17] Table V, validation/eyeriss-v1-jssc17.yaml:
# 0.01 / 38.7 / 72.5 / 79.3 / 77.6 % zeros), named "jssc17". v2 runs in zero mode skip
# (the paper's "Sparse" PE); v1 (our 168-PE 16-bit Eyeriss, not the paper's scaled 192-PE 8-bit
# one) in gate with dense weights ("Dense ... can only clock-gate the cycles with zero data").
#
# Environment: ACT_DENSITIES ("1.0 0.5 0.35"), WEIGHT_DENSITIES ("1.0 0.5 0.3"), SEED (1),
# ACTSPARSE_BUILD_DIR (build). About 2 min host on 2 cores; reports are reused when present.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${ACTSPARSE_BUILD_DIR:-build}/bin/actsparse
OUT=${1:-$(mktemp -d /tmp/validate_v2.XXXXXX)}
ACT_DENSITIES=${ACT_DENSITIES:-"1.0 0.5 0.35"}
WEIGHT_DENSITIES=${WEIGHT_DENSITIES:-"1.0 0.5 0.3"}
SEED=${SEED:-1}
REF=validation/eyeriss-v2-jetcas19.yaml
MB=mobilenetv1-050-128
AX_LAYERS="conv1 conv2 conv3 conv4 conv5"
AX_JSSC17="0.9999 0.613 0.275 0.207 0.224"  # 1 - Table V zeros / 100 ([JSSC17])
# The FC layers, run as convs with a 1 x 1 output (the paper's figures include them; the
# built-in networks' FC layers are not conv ops). Their ifmaps are at the sweep's density;
# with the jssc17 profile at conv5's 0.224 (an assumption: [JSSC17] measures conv ifmaps only).
AX_FC="fc6:C=256,M=4096,R=6,S=6,P=1,Q=1 fc7:C=4096,M=4096,R=1,S=1,P=1,Q=1 fc8:C=4096,M=1000,R=1,S=1,P=1,Q=1"
MB_FC="fc:C=512,M=1000,R=1,S=1,P=1,Q=1"
mkdir -p "$OUT"
start=$(date +%s)

sim() {  # sim FILE ARGS...: one simulate run, skipped when its report exists
    local f=$1
    shift
    [ -f "$f" ] && return 0
    "$BIN" simulate "$@" --seed "$SEED" --quiet --out "$f.tmp" >/dev/null
    mv "$f.tmp" "$f"
}

# run NET ARCH MODE ACT W FIRST: every layer at ifmap density ACT except the first (FIRST at 1.0).
run() {
    local net=$1 arch=$2 mode=$3 act=$4 w=$5 first=$6
    local base="$OUT/$net-$arch-a$act-w$w"
    sim "$base.json" --net "$net" --arch "$arch" --zero-mode "$mode" --density "$act" \
        --weight-density "$w"
    if [ "$act" != "1.0" ]; then
        sim "$base-first.json" --net "$net" --layer "$first" --arch "$arch" --zero-mode "$mode" \
            --density 1.0 --weight-density "$w"
    fi
}

# run_jssc17 ARCH MODE W: AlexNet layer by layer at the measured ifmap densities.
run_jssc17() {
    local arch=$1 mode=$2 w=$3
    local -a ds=($AX_JSSC17)
    local i=0
    for l in $AX_LAYERS; do
        sim "$OUT/alexnet-$arch-ajssc17-w$w-$l.json" --net alexnet --layer "$l" --arch "$arch" \
            --zero-mode "$mode" --density "${ds[$i]}" --weight-density "$w"
        i=$((i + 1))
    done
}

# run_fc NET ARCH MODE ACT W SPECS: the FC layers (name:spec ...) at ifmap density ACT.
run_fc() {
    local net=$1 arch=$2 mode=$3 act=$4 w=$5 specs=$6
    local d=$act
    [ "$act" = jssc17 ] && d=0.224
    for ns in $specs; do
        sim "$OUT/$net-$arch-a$act-w$w-${ns%%:*}.json" --layer "${ns#*:}" --arch "$arch" \
            --zero-mode "$mode" --density "$d" --weight-density "$w"
    done
}

for a in $ACT_DENSITIES; do
    for w in $WEIGHT_DENSITIES; do
        run "$MB" eyeriss-v2 skip "$a" "$w" conv0
        run alexnet eyeriss-v2 skip "$a" "$w" conv1
        run_fc "$MB" eyeriss-v2 skip "$a" "$w" "$MB_FC"
        run_fc alexnet eyeriss-v2 skip "$a" "$w" "$AX_FC"
    done
    run "$MB" eyeriss-v1 gate "$a" 1.0 conv0
    run alexnet eyeriss-v1 gate "$a" 1.0 conv1
    run_fc "$MB" eyeriss-v1 gate "$a" 1.0 "$MB_FC"
    run_fc alexnet eyeriss-v1 gate "$a" 1.0 "$AX_FC"
done
for w in $WEIGHT_DENSITIES; do
    run_jssc17 eyeriss-v2 skip "$w"
    run_fc alexnet eyeriss-v2 skip jssc17 "$w" "$AX_FC"
done
run_jssc17 eyeriss-v1 gate 1.0
run_fc alexnet eyeriss-v1 gate jssc17 1.0 "$AX_FC"
echo "simulated in $(($(date +%s) - start)) s host; reports in $OUT" >&2

python3 - "$OUT" "$REF" "$MB" "$ACT_DENSITIES" "$WEIGHT_DENSITIES" "$AX_LAYERS" <<'PY'
import json, os, sys
import yaml

out, ref_path, mb = sys.argv[1], sys.argv[2], sys.argv[3]
acts, weights, ax_layers = sys.argv[4].split(), sys.argv[5].split(), sys.argv[6].split()
ref = yaml.safe_load(open(ref_path))
pub = ref["published"]
clock = float(ref["clock_mhz"]) * 1e6


def layers_of(f):
    return json.load(open(f))["layers"]


FC = {"alexnet": ["fc6", "fc7", "fc8"], mb: ["fc"]}


def single(f):
    r = json.load(open(f))
    return r["layers"][0] if "layers" in r else r


def result(net, arch, act, w, fc=False):
    """Sums over the conv layers (the first from its dense-image run), with FC if asked."""
    if act == "jssc17":
        ls = [layers_of(f"{out}/alexnet-{arch}-ajssc17-w{w}-{l}.json")[0] for l in ax_layers]
    else:
        base = f"{out}/{net}-{arch}-a{act}-w{w}"
        ls = layers_of(base + ".json")
        if os.path.exists(base + "-first.json"):
            ls = layers_of(base + "-first.json") + ls[1:]
    if fc:
        ls = ls + [single(f"{out}/{net}-{arch}-a{act}-w{w}-{n}.json") for n in FC[net]]
    r = {"proc": 0, "total": 0, "e": 0.0, "e_dram": 0.0, "dram_b": 0, "util": 0.0, "macs": 0}
    for l in ls:
        r["proc"] += l["cycles"]["processing"]
        r["total"] += l["cycles"]["total"]
        r["e"] += l["energy_pj"]["total"]
        r["e_dram"] += l["energy_pj"]["by_level"].get("dram", 0.0)
        r["macs"] += l["macs"]["dense"]
        if "v2" in l:
            r["dram_b"] += sum(l["v2"]["dram_bytes"].values())
    r["ips_proc"] = clock / r["proc"]
    r["ips_total"] = clock / r["total"]
    r["ipj"] = 1e12 / r["e"]
    r["ipj_chip"] = 1e12 / (r["e"] - r["e_dram"])
    return r


def table(net, act_list, pub_ips, pub_ipj, name):
    print(f"\n### {name} on eyeriss-v2 (skip), batch 1\n")
    print(f"Published: {pub_ips} inf/s, {pub_ipj} inf/J (sparse). Clock {clock / 1e6:.0f} MHz.\n")
    print("| ifmap density | weight density | processing cycles | inf/s (processing) | "
          "total cycles | inf/s (total) | energy uJ | DRAM share | inf/J (all) | "
          "inf/J (on-chip) | DRAM MB | +FC: inf/s (processing) | +FC: inf/s (total) | "
          "+FC: inf/J (all) | +FC: inf/J (on-chip) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for a in act_list:
        for w in weights:
            r = result(net, "eyeriss-v2", a, w)
            f = result(net, "eyeriss-v2", a, w, fc=True)
            print(f"| {a} | {w} | {r['proc']:,} | {r['ips_proc']:.1f} | {r['total']:,} | "
                  f"{r['ips_total']:.1f} | {r['e'] / 1e6:,.1f} | {r['e_dram'] / r['e']:.2f} | "
                  f"{r['ipj']:.1f} | {r['ipj_chip']:.1f} | {r['dram_b'] / 1e6:.2f} | "
                  f"{f['ips_proc']:.1f} | {f['ips_total']:.1f} | {f['ipj']:.1f} | "
                  f"{f['ipj_chip']:.1f} |")


ax_pub_j = pub["sparse_alexnet_inferences_per_j"]["value"]
table(mb, acts, pub["sparse_mobilenet_inferences_per_s"]["value"],
      pub["sparse_mobilenet_inferences_per_j"]["value"], "MobileNet-0.5-128 (`" + mb + "`)")
table("alexnet", ["jssc17"] + acts, pub["sparse_alexnet_inferences_per_s"]["value"],
      f"{ax_pub_j[0]}-{ax_pub_j[1]}", "AlexNet (`alexnet`, conv layers only)")

print("\n### v1 (our 168-PE 16-bit Eyeriss, gate, dense weights), batch 1\n")
print("| network | ifmap density | processing cycles | inf/s (processing) | total cycles | "
      "inf/s (total) | energy uJ | inf/J (all) | inf/J (on-chip) | +FC: inf/s (processing) | "
      "+FC: inf/s (total) | +FC: inf/J (on-chip) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for net, al in ((mb, acts), ("alexnet", ["jssc17"] + acts)):
    for a in al:
        r = result(net, "eyeriss-v1", a, "1.0")
        f = result(net, "eyeriss-v1", a, "1.0", fc=True)
        print(f"| {net} | {a} | {r['proc']:,} | {r['ips_proc']:.1f} | {r['total']:,} | "
              f"{r['ips_total']:.1f} | {r['e'] / 1e6:,.1f} | {r['ipj']:.1f} | {r['ipj_chip']:.1f} | "
              f"{f['ips_proc']:.1f} | {f['ips_total']:.1f} | {f['ipj_chip']:.1f} |")

s = pub["v2_sparse_mobilenet_over_v1_mobilenet"]
sa = pub["v2_sparse_alexnet_over_v1_alexnet"]
print(f"\n### v2 (skip, sparse weights) over v1 (gate, dense weights), same ifmap density\n")
print(f"Published (v1 = the paper's scaled 192-PE 8-bit Eyeriss): MobileNet {s['speedup']}x "
      f"faster, {s['energy_efficiency']}x inf/J; AlexNet {sa['speedup']}x, "
      f"{sa['energy_efficiency']}x.\n")
print("| network | ifmap density | v2 weight density | speed-up (processing) | speed-up (total) | "
      "inf/J ratio (all) | inf/J ratio (on-chip) | +FC: speed-up (processing) | "
      "+FC: speed-up (total) | +FC: inf/J ratio (on-chip) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for net, al in ((mb, acts), ("alexnet", ["jssc17"] + acts)):
    for a in al:
        v1 = result(net, "eyeriss-v1", a, "1.0")
        f1 = result(net, "eyeriss-v1", a, "1.0", fc=True)
        for w in weights:
            v2 = result(net, "eyeriss-v2", a, w)
            f2 = result(net, "eyeriss-v2", a, w, fc=True)
            print(f"| {net} | {a} | {w} | {v1['proc'] / v2['proc']:.2f} | "
                  f"{v1['total'] / v2['total']:.2f} | {v2['ipj'] / v1['ipj']:.2f} | "
                  f"{v2['ipj_chip'] / v1['ipj_chip']:.2f} | {f1['proc'] / f2['proc']:.2f} | "
                  f"{f1['total'] / f2['total']:.2f} | {f2['ipj_chip'] / f1['ipj_chip']:.2f} |")

d = pub["v2_mobilenet_over_alexnet_dense"]
sm = 1470.6 / pub["sparse_alexnet_inferences_per_s"]["value"]
print(f"\n### MobileNet over AlexNet on v2 (AlexNet at the jssc17 densities)\n")
print(f"Published: dense models {d['inferences_per_s_ratio']}x inf/s (nominal MACs "
      f"{d['nominal_mac_ratio']}x); sparse models 5.3x inf/s, 3.9x inf/J ([P] V-C).\n")
print("| MobileNet ifmap density | weight density | inf/s ratio (processing) | "
      "inf/s ratio (total) | inf/J ratio (all) | inf/J ratio (on-chip) |")
print("|---|---|---|---|---|---|")
for a in acts:
    for w in weights:
        m = result(mb, "eyeriss-v2", a, w)
        x = result("alexnet", "eyeriss-v2", "jssc17", w)
        print(f"| {a} | {w} | {x['proc'] / m['proc']:.2f} | {x['total'] / m['total']:.2f} | "
              f"{m['ipj'] / x['ipj']:.2f} | {m['ipj_chip'] / x['ipj_chip']:.2f} |")
print(f"\nConv MACs simulated: MobileNet {result(mb, 'eyeriss-v2', '1.0', '1.0')['macs']:,}, "
      f"AlexNet {result('alexnet', 'eyeriss-v2', '1.0', '1.0')['macs']:,} (conv ratio "
      f"{result('alexnet', 'eyeriss-v2', '1.0', '1.0')['macs'] / result(mb, 'eyeriss-v2', '1.0', '1.0')['macs']:.1f}x).")
PY
echo "total $(($(date +%s) - start)) s host" >&2
