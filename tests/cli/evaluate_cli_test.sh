#!/usr/bin/env bash
# Usage: evaluate_cli_test.sh ACTSPARSE SOURCE_DIR. Checks `actsparse evaluate` end to end on
# made-up run folders (traces from `trace synth`, no trainer needed): calibrations that do not
# fit the runs (another network, width, mapping density or zero mode) are one-line exit-2
# errors with no output, or warnings with --allow-calibration-mismatch; --zero-mode accepts
# exactly gate, skip and both; an unfinished training run is refused with the command that
# continues it; the figure script names its files relative to figures/ (a copied folder
# redraws its own PNGs) and the files are named <network>-<zero mode>-*.png.
set -u
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_input_error() {
    local name=$1 want=$2
    shift 2
    rm -rf out
    "$@" >out.txt 2>err.txt
    local rc=$? before=$fails
    [ "$rc" -eq 2 ] || fail "$name: exit code $rc, want 2 ($(cat err.txt))"
    [ "$(wc -l <err.txt)" -eq 1 ] || fail "$name: stderr is not one line: $(cat err.txt)"
    grep -qF -- "$want" err.txt || fail "$name: stderr lacks '$want': $(cat err.txt)"
    [ -s out.txt ] && fail "$name: wrote to stdout: $(cat out.txt)"
    [ -e out ] && fail "$name: partial output in out/"
    [ "$fails" -eq "$before" ] && echo "ok   $name: $(cat err.txt)"
}

# Two run folders of a made-up two-layer network "tiny" at width 0.25, 2 test images each.
L0="N=2,C=4,M=8,R=3,S=3,P=8,Q=8,pad=1"  # 18432 MACs per image
L1="N=2,C=8,M=8,R=1,S=1,P=8,Q=8"        # 4096 MACs per image
make_run() {  # make_run DIR METHOD ACCURACY DENSITY
    mkdir -p "$1/traces"
    "$A" trace synth --layer "$L0" --density 1 --seed 7 --out "$1/traces/0.trace" >/dev/null \
        || fail "trace synth for $1 layer 0"
    "$A" trace synth --layer "$L1" --density "$4" --seed 8 --out "$1/traces/1.trace" >/dev/null \
        || fail "trace synth for $1 layer 1"
    cat >"$1/traces/manifest.json" <<EOF
{"network": "tiny", "width": 0.25, "images": 2, "layers": [
 {"index": 0, "name": "$L0", "file": "0.trace", "input_sparse": false},
 {"index": 1, "name": "$L1", "file": "1.trace", "input_sparse": true}]}
EOF
    cat >"$1/summary.json" <<EOF
{"schema": "actsparse.summary/1", "network": "tiny", "width": 0.25, "method": "$2",
 "test": {"accuracy": $3}}
EOF
}
make_run base baseline 0.9 0.8
make_run hyb proposed-hybrid 0.88 0.3
# calib.json as `calibrate` writes it (the fields evaluate reads); layer names are the
# synthetic traces' (their shape specs), conv their MACs at batch 1.
calib() {  # calib FILE NETWORK ZERO_MODE WIDTH_MULT MAPPING_DENSITY
    cat >"$1" <<EOF
{"schema": "actsparse.calibration/1", "network": "$2", "batch": 1, "width_mult": $4,
 "zero_mode": "$3", "form": "free", "mapping_density": $5,
 "global": {"e1": 1, "e0": 1, "c1": 1, "c0": 1},
 "layers": [
  {"index": 0, "name": "$L0", "conv": 18432, "map_e": 1, "map_c": 1,
   "e_l": 2e5, "c_l": 900, "e0_l": 1e5, "c0_l": 400},
  {"index": 1, "name": "$L1", "conv": 4096, "map_e": 1, "map_c": 1,
   "e_l": 4e5, "c_l": 300, "e0_l": 1e5, "c0_l": 200}]}
EOF
}
calib good.json tiny skip 0.25 null
calib gate.json tiny gate 0.25 null
calib other-net.json squeezenet-fmnist skip 0.25 null
calib width1.json tiny skip 1 null
calib md05.json tiny skip 0.25 0.5
# The same with an arch_hash: the evaluated arch's (from a simulate report) and another one.
"$A" simulate --layer C=2,M=2,R=1,S=1,P=2,Q=2 --zero-mode skip --quiet --out hash.json ||
    fail "simulate for the arch hash: exit $?"
HASH=$(python3 -c 'import json; print(json.load(open("hash.json"))["arch_hash"])')
sed "s/\"form\"/\"arch_hash\": \"$HASH\", \"form\"/" good.json >hashed.json
sed 's/"form"/"arch_hash": "0123456789abcdef", "form"/' good.json >otherarch.json
EV=("$A" evaluate --runs base hyb --images 2 --zero-mode skip)

# A fitting calibration: predictions in the table, no warning.
"${EV[@]}" --calibration good.json --out out >ok.txt 2>ok.err || fail "good calibration: exit $?: $(cat ok.err)"
grep -qF '| baseline (base) | 90.0% |' out/results.md || fail "no baseline row: $(cat out/results.md)"
grep '^| proposed-hybrid (hyb) |' out/results.md | grep -qE '\| -?[0-9.]+% \| -?[0-9.]+% \|$' \
    || fail "good calibration: no predicted errors in the row: $(grep hyb out/results.md)"
grep -q warning ok.err && fail "good calibration warns: $(cat ok.err)"
grep -qF '"warnings": []' out/results.json || fail "results.json warnings not empty"
echo "ok   a fitting calibration predicts"

# Calibrations that do not fit: exit 2, one line naming the file and the field.
expect_input_error "another network" \
    'other-net.json.network: is "squeezenet-fmnist" but the runs are tiny' \
    "${EV[@]}" --calibration other-net.json --out out
expect_input_error "another width" 'width1.json.width_mult: was made at width 1.0, run base is width 0.25' \
    "${EV[@]}" --calibration width1.json --out out
expect_input_error "--mapping-density against null" \
    "good.json.mapping_density: is null (planned for each point's density) but --mapping-density is 0.5" \
    "${EV[@]}" --calibration good.json --mapping-density 0.5 --out out
expect_input_error "mapping density against per-image" \
    'md05.json.mapping_density: is 0.5 but --mapping-density is per-image' \
    "${EV[@]}" --calibration md05.json --mapping-density per-image --out out
expect_input_error "calibrations of two mapping densities" \
    "gate.json.mapping_density: is null (planned for each point's density) but the mapping density (from md05.json) is 0.5" \
    "$A" evaluate --runs base hyb --images 2 --zero-mode both --calibration md05.json \
    --calibration gate.json --out out
expect_input_error "a bad --mapping-density" \
    '--mapping-density: expected a density in (0, 1], per-point or per-image, got "half"' \
    "${EV[@]}" --calibration md05.json --mapping-density half --out out
expect_input_error "another architecture" \
    'otherarch.json.arch_hash: is 0123456789abcdef, fitted on another architecture or energy table than --arch (' \
    "${EV[@]}" --calibration otherarch.json --out out
"${EV[@]}" --calibration hashed.json --out out >/dev/null 2>hashed.err ||
    fail "a calibration with the evaluated arch's hash: exit $?: $(cat hashed.err)"
grep -q warning hashed.err && fail "the evaluated arch's hash warns: $(cat hashed.err)"
expect_input_error "a zero mode not evaluated" \
    'gate.json.zero_mode: is "gate" but --zero-mode evaluates skip' \
    "${EV[@]}" --calibration gate.json --out out
grep -qF -- '--allow-calibration-mismatch' err.txt || fail "the error does not name the override"
# Agreeing mapping densities are fine; without --mapping-density evaluate plans for the
# density the calibration records (null: per image), and without a calibration for 0.5.
"${EV[@]}" --calibration md05.json --mapping-density 0.5 --out out >/dev/null 2>md.err \
    || fail "--mapping-density 0.5 with a 0.5 calibration: exit $?: $(cat md.err)"
"${EV[@]}" --calibration md05.json --out out >/dev/null 2>md.err \
    || fail "no --mapping-density with a 0.5 calibration: exit $?: $(cat md.err)"
grep -qF -- '--mapping-density 0.5 ' out/results.md || fail "0.5 not taken from md05.json"
"${EV[@]}" --calibration good.json --out out >/dev/null 2>md.err \
    || fail "no --mapping-density with a per-point calibration: exit $?: $(cat md.err)"
grep -qF -- '--mapping-density per-image ' out/results.md || fail "per-image not taken from good.json"
"${EV[@]}" --out out >/dev/null 2>md.err || fail "no calibration: exit $?: $(cat md.err)"
grep -qF -- '--mapping-density 0.5 ' out/results.md || fail "the default 0.5 not recorded"
echo "ok   the mapping density follows the calibration, else the default"

# With the override: warnings on stderr and in results.md, the width-1 calibration used as
# given, the other network's left unused ('-').
rm -rf out
"${EV[@]}" --calibration width1.json --calibration other-net.json --allow-calibration-mismatch \
    --out out >ov.txt 2>ov.err || fail "--allow-calibration-mismatch: exit $?: $(cat ov.err)"
grep -qF 'warning: width1.json.width_mult: was made at width 1.0, run base is width 0.25; used as given' ov.err \
    || fail "no width warning: $(cat ov.err)"
grep -qF 'warning: other-net.json.network: is "squeezenet-fmnist" but the runs are tiny; not used' ov.err \
    || fail "no network warning: $(cat ov.err)"
grep -qF 'width1.json.width_mult' out/results.md || fail "results.md lacks the warning"
grep -qF -- '--allow-calibration-mismatch' out/results.md || fail "results.md lacks the flag"
grep '^| proposed-hybrid (hyb) |' out/results.md | grep -qE '\| -?[0-9.]+% \|$' \
    || fail "width-1 calibration not used: $(grep hyb out/results.md)"
echo "ok   --allow-calibration-mismatch warns"

# --zero-mode: exactly gate, skip and both.
for bad in none dense; do
    expect_input_error "--zero-mode $bad" "--zero-mode: expected gate, skip or both, got \"$bad\"" \
        "$A" evaluate --runs base --images 2 --zero-mode "$bad" --out out
done
"$A" evaluate --help | grep -qF 'gate | skip | both' || fail "help does not list gate | skip | both"
"$A" evaluate --help | grep -q 'none' && fail "help mentions none"
"$A" evaluate --runs base --images 2 --zero-mode gate --out out >/dev/null 2>&1 \
    || fail "--zero-mode gate refused"

# An interrupted training run: config.json and checkpoint.pt, no summary.json.
mkdir -p unfinished
echo '{}' >unfinished/config.json
echo x >unfinished/checkpoint.pt
# shellcheck disable=SC2016  # the backquotes are the message's, not a command
expect_input_error "unfinished run" \
    'unfinished: unfinished training run (no summary.json; its progress is in checkpoint.pt): continue it with `actsparse train --out unfinished --resume`' \
    "$A" evaluate --runs base unfinished --images 2 --out out
grep -q 'cannot open' err.txt && fail "unfinished run: still 'cannot open'"
mkdir -p empty
expect_input_error "not a run folder" 'empty/summary.json: missing: not a training run folder' \
    "$A" evaluate --runs empty --images 2 --out out

# Figures: named <network>-<zero mode>-*, the script's paths relative to figures/.
rm -rf out
"${EV[@]}" --calibration good.json --out out >/dev/null 2>&1 || fail "figures run: exit $?"
[ -f out/figures/tiny-skip.gp ] || fail "no figures/tiny-skip.gp: $(ls out/figures)"
[ -f out/figures/tiny-skip.dat ] || fail "no figures/tiny-skip.dat"
grep -qF "$work" out/figures/tiny-skip.gp && fail "the .gp names an absolute path"
for f in tiny-skip-layers.png tiny-skip-density-vs-energy.png tiny-skip-accuracy-vs-energy.png; do
    grep -qF "set output '$f'" out/figures/tiny-skip.gp || fail ".gp does not write $f"
done
grep -qF "set title 'tiny (skip): top-1 accuracy against energy'" out/figures/tiny-skip.gp \
    || fail "accuracy-vs-energy has no title"
grep -q '^set offsets graph' out/figures/tiny-skip.gp || fail "no axis offsets"
grep -qF 'set key inside bottom right' out/figures/tiny-skip.gp || fail "accuracy-vs-energy key not inside"
if command -v gnuplot >/dev/null; then
    for f in tiny-skip-layers.png tiny-skip-density-vs-energy.png tiny-skip-accuracy-vs-energy.png; do
        [ -s "out/figures/$f" ] || fail "figure $f not drawn"
        grep -qF "(figures/$f)" out/results.md || fail "results.md does not show $f"
    done
    # Redrawing in a copy writes the copy's PNGs, not the original's.
    cp -r out copy
    rm copy/figures/*.png
    touch -d '2001-01-01' out/figures/*.png
    before=$(stat -c %Y out/figures/*.png | sort -u)
    (cd copy/figures && gnuplot tiny-skip.gp) || fail "gnuplot in the copy failed"
    [ "$(stat -c %Y out/figures/*.png | sort -u)" = "$before" ] \
        || fail "redrawing the copy touched the original's PNGs"
    for f in tiny-skip-layers.png tiny-skip-density-vs-energy.png tiny-skip-accuracy-vs-energy.png; do
        [ -s "copy/figures/$f" ] || fail "the copy's $f not redrawn"
    done
    echo "ok   figures relative to their folder"
else
    echo "skip figure drawing: no gnuplot"
fi

[ "$fails" -eq 0 ] && echo "all evaluate CLI checks passed"
[ "$fails" -eq 0 ]
