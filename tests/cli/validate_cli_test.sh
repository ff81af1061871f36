#!/usr/bin/env bash
# Usage: validate_cli_test.sh ACTSPARSE SOURCE_DIR. Checks `actsparse validate` end to end:
# one real layer against the built-in Eyeriss v1 reference (table, JSON, Markdown), --strict
# on a tiny made-up reference (targets met / missed, independent of the PE timing), and the
# one-line exit-2 errors (no measured reference for the arch, a bad reference field, unknown
# layer, no published mapping) with no partial output.
set -u
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$2" && pwd)
REF="$SRC/validation/eyeriss-v1-jssc17.yaml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_input_error() {
    local name=$1 want=$2
    shift 2
    rm -f out.json out.md
    "$@" >out.txt 2>err.txt
    local rc=$? before=$fails
    [ "$rc" -eq 2 ] || fail "$name: exit code $rc, want 2"
    [ "$(wc -l <err.txt)" -eq 1 ] || fail "$name: stderr is not one line: $(cat err.txt)"
    grep -q -- "$want" err.txt || fail "$name: stderr lacks '$want': $(cat err.txt)"
    [ -e out.json ] && fail "$name: partial JSON written"
    [ -e out.md ] && fail "$name: partial Markdown written"
    [ "$fails" -eq "$before" ] && echo "ok   $name: $(cat err.txt)"
}

# One AlexNet layer against the built-in reference (the smallest, conv5: a few seconds).
"$A" validate --arch eyeriss-v1 --layers CONV5 --json v.json --markdown v.md >v.txt 2>v.err \
    || fail "validate --layers CONV5 exited $? ($(cat v.err))"
for want in 'link clock 60 MHz' 'core clock 200 MHz' 'zero mode gate' 'conv5 (CONV5)' \
    'processing latency (ms)' 'total latency w/ DRAM (ms)' 'GLB accesses (array) (MB)' \
    'GLB accesses incl. DRAM fills and the ofmap read-out' \
    'DRAM accesses (MB)' 'active PEs' 'Table III: m=64,n=4,e=13,p=16,q=3,r=2,t=2' \
    'total (1 layers' 'targets met:'; do
    grep -qF -- "$want" v.txt || fail "table lacks '$want'"
done
# The measured column is the reference's: 10.0 ms, 10.5 ms, 24.9 MB, 1.3 MB, 156 PEs.
grep -E '^  processing latency \(ms\) +[0-9.]+ +10\.0 ' v.txt >/dev/null || fail "conv5 measured 10.0 ms"
grep -E '^  active PEs +[0-9]+ +156 ' v.txt >/dev/null || fail "conv5 measured 156 PEs"
for key in '"schema": "actsparse.validation/1"' '"processing_latency_ms"' '"total_latency_ms"' \
    '"glb_mb"' '"dram_mb"' '"active_pes"' '"glb_words"' '"dram_words"' '"table_iii_mapping"' \
    '"totals"' '"clock_mhz": 60'; do
    grep -qF -- "$key" v.json || fail "JSON lacks $key"
done
grep -qF '| conv5 (CONV5) |' v.md || fail "Markdown lacks the conv5 row"
# The compared GLB count is the array's side: the ofmap read-out (4 x 256 x 13 x 13 words,
# one read per final accumulator) and the DMA's writes are left out of it.
grep -qF '"ofmap_readout": 173056' v.json || fail "ofmap read-out is not N*M*P*Q = 173056 words"
sed -n '/"glb_words"/,/}/p' v.json >glb.txt
words() { grep -oE "\"$1\": [0-9]+" glb.txt | head -1 | grep -oE '[0-9]+$'; }
side=$(( $(words ifmap_reads) + $(words filter_reads) + $(words psum_writes) \
         + $(words psum_reads) - $(words ofmap_readout) ))
[ "$side" -eq "$(words array_side)" ] || fail "array_side $(words array_side) != $side"
all=$(( side + $(words ifmap_writes) + $(words filter_writes) + $(words ofmap_readout) ))
[ "$all" -eq "$(words all)" ] || fail "all $(words all) != $all"
echo "ok   conv5 against the built-in reference"

# An arch YAML named eyeriss-v1 with another link clock is validated at the reference's 60 MHz,
# and the output says so.
sed -E 's/^(  clock_mhz:) [0-9.]+ /\1 200 /' "$SRC/configs/eyeriss-v1.yaml" >link200.yaml
grep -q '^  clock_mhz: 200 ' link200.yaml || fail "could not make link200.yaml"
"$A" validate --arch link200.yaml --layers conv5 --json l.json >l.txt 2>&1 \
    || fail "validate --arch link200.yaml exited $?: $(tail -2 l.txt)"
grep -qF "link clock 60 MHz from the reference overrides the arch's dram.clock_mhz = 200" l.txt \
    || fail "no override line: $(head -6 l.txt)"
grep -qF '"clock_mhz": 60' l.json || fail "the JSON's arch is not the run's (60 MHz link)"
echo "ok   link clock override"

# The Table III mapping is used as published with --mapping-source paper.
"$A" validate --layers conv5 --mapping-source paper --json p.json >p.txt 2>p.err \
    || fail "validate --mapping-source paper exited $? ($(cat p.err))"
grep -qF 'array n=4,p=16,q=3,e=13,r=2,t=2,filter_rows=3,filter_cols=3' p.txt \
    || fail "paper mapping not used: $(grep mapping: p.txt)"
grep -E '^  active PEs +156 +156 ' p.txt >/dev/null || fail "Table III conv5 covers 156 PEs"
echo "ok   --mapping-source paper"

# --strict on a tiny made-up reference: a SqueezeNet layer, so it runs in well under a second.
# Generous targets are met (exit 0), impossible ones are missed (exit 1).
make_ref() {  # $1 = target of the relative metrics, $2 = target of active PEs
    sed -n '1,/^networks:/p' "$REF" | sed -E "s/^    target: [0-9]+%/    target: $1/; s/^    target: equal/    target: $2/"
    cat <<EOF
  tiny:
    network: squeezenet-fmnist
    batch: 1
    core_clock_mhz: 200
    link_clock_mhz: 60
    zero_mode: gate
    citations: {table: made up, batch: x, core_clock_mhz: x, link_clock_mhz: x, macs_m: x,
                zeros_pct: x, mapping: x, processing_latency_ms: x, total_latency_ms: x,
                glb_mb: x, dram_mb: x, active_pes: x}
    totals: {processing_latency_ms: 1, total_latency_ms: 1, glb_mb: 1, dram_mb: 1, active_pes: 1}
    layers:
      - {name: fire2.squeeze, paper_name: F2S, macs_m: 0.301056, zeros_pct: 50,
         processing_latency_ms: 0.05, total_latency_ms: 0.1, glb_mb: 0.5, dram_mb: 0.1,
         active_pes: 100}
EOF
}
make_ref '100000%' none >easy.yaml
make_ref '0%' equal >hard.yaml
grep -q '^    target: 100000%' easy.yaml || fail "could not make easy.yaml"
"$A" validate --reference easy.yaml --network tiny --strict >s.txt 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "--strict with met targets exited $rc: $(tail -3 s.txt)"
"$A" validate --reference easy.yaml --network tiny --layers F2S >s.txt 2>&1 \
    || fail "--layers by paper name exited $?"
"$A" validate --reference hard.yaml --network tiny --strict --json s.json >s.txt 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "--strict with missed targets exited $rc, want 1"
grep -q -- '--strict: [0-9]* target(s) missed' s.txt || fail "--strict gives no reason"
[ -s s.json ] || fail "--strict run wrote no JSON"
"$A" validate --reference hard.yaml --network tiny >s.txt 2>&1 \
    || fail "without --strict missed targets exited $?"
echo "ok   --strict"

# ofmap_zeros_pct: the synthetic layer writes an ofmap with that many zeros (the bias before
# its ReLU); without it the random weights decide (about half). It needs a citation.
sed -E 's/zeros_pct: 50,/zeros_pct: 50, ofmap_zeros_pct: 80,/' easy.yaml >ofz-nocite.yaml
grep -q 'ofmap_zeros_pct: 80' ofz-nocite.yaml || fail "could not make ofz-nocite.yaml"
sed -E 's/citations: \{table: made up,/citations: {table: made up, ofmap_zeros_pct: x,/' \
    ofz-nocite.yaml >ofz.yaml
grep -q 'ofmap_zeros_pct: x' ofz.yaml || fail "could not make ofz.yaml"
"$A" validate --reference ofz.yaml --network tiny --json o.json >o.txt 2>&1 \
    || fail "validate with ofmap_zeros_pct exited $?: $(tail -2 o.txt)"
grep -qE '"ofmap_density_target": 0\.(2|19999)' o.json || fail "no ofmap_density_target 0.2"
od=$(grep -oE '"ofmap_density": [0-9.e-]+' o.json | head -1 | grep -oE '[0-9.e-]+$')
awk -v d="$od" 'BEGIN { exit !(d > 0.195 && d < 0.205) }' || fail "ofmap density $od, want 0.2"
grep -qE 'ofmap density 0\.(20|19)[0-9]* \(the reference' o.txt \
    || fail "the layer line does not give the ofmap density: $(grep 'ofmap density' o.txt)"
"$A" validate --reference easy.yaml --network tiny --json o.json >o.txt 2>&1 || fail "exited $?"
grep -qF '"ofmap_density_target": null' o.json || fail "a target without ofmap_zeros_pct"
od=$(grep -oE '"ofmap_density": [0-9.e-]+' o.json | head -1 | grep -oE '[0-9.e-]+$')
awk -v d="$od" 'BEGIN { exit !(d > 0.3) }' || fail "synthetic ofmap density $od, want about 0.5"
echo "ok   ofmap_zeros_pct"

# A layer the arch cannot map is reported, the table is still produced (exit 0; --strict: 1).
# (A 1-word filter buffer: no chunk of any mapping fits.)
sed 's/^  filter_bytes: 8192 /  filter_bytes: 2    /' "$SRC/configs/eyeriss-v1.yaml" >tiny-glb.yaml
grep -q 'filter_bytes: 2 ' tiny-glb.yaml || fail "could not make tiny-glb.yaml"
"$A" validate --arch tiny-glb.yaml --layers conv5 --json n.json >n.txt 2>&1 \
    || fail "an unmappable layer exited $?: $(tail -2 n.txt)"
grep -q 'conv5 (CONV5): not simulated: ' n.txt || fail "no 'not simulated' line: $(cat n.txt)"
grep -q '"not_simulated"' n.json || fail "JSON lacks not_simulated"
"$A" validate --arch tiny-glb.yaml --layers conv5 --strict >n.txt 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "--strict with an unmappable layer exited $rc, want 1"
echo "ok   a layer that does not map"

# Errors: one line, exit 2, nothing written.
expect_input_error "arch without a reference" "no measured reference" \
    "$A" validate --arch eyeriss-v2 --json out.json --markdown out.md
sed 's/^name: eyeriss-v1/name: my-accelerator/' "$SRC/configs/eyeriss-v1.yaml" >other.yaml
expect_input_error "arch YAML of another name" "no measured reference for arch 'my-accelerator'" \
    "$A" validate --arch other.yaml --json out.json
sed 's/^        glb_mb: 50.2$/        glb_mb: lots/' "$REF" >bad.yaml
grep -q 'glb_mb: lots' bad.yaml || fail "could not make bad.yaml"
expect_input_error "bad reference field" "bad.yaml: networks.alexnet.layers\[2\].glb_mb" \
    "$A" validate --reference bad.yaml --json out.json
expect_input_error "ofmap_zeros_pct without its citation" \
    "ofz-nocite.yaml: networks.tiny.citations.ofmap_zeros_pct" \
    "$A" validate --reference ofz-nocite.yaml --network tiny --json out.json
sed '/^        active_pes: 135$/d' "$REF" >missing.yaml
expect_input_error "missing reference field" "missing.yaml: networks.alexnet.layers\[1\].active_pes" \
    "$A" validate --reference missing.yaml --json out.json
sed 's/^        macs_m: 299.0$/        macs_m: 150.0/' "$REF" >macs.yaml
expect_input_error "reference of another network" "macs.yaml: networks.alexnet.layers\[4\].macs_m" \
    "$A" validate --reference macs.yaml --json out.json
printf 'schema: [unclosed\n' >broken.yaml
expect_input_error "reference not YAML" "broken.yaml" "$A" validate --reference broken.yaml --json out.json
expect_input_error "unknown layer" "--layers" "$A" validate --layers conv9 --json out.json
expect_input_error "unknown network" "--network" "$A" validate --network resnet --json out.json
expect_input_error "no published mapping" "--mapping-source" \
    "$A" validate --network vgg16 --mapping-source paper --json out.json
expect_input_error "bad fidelity" "--fidelity" "$A" validate --fidelity exact --json out.json
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
