#!/usr/bin/env bash
# Usage: simulate_cli_test.sh ACTSPARSE SOURCE_DIR. Checks `actsparse simulate` end to end:
# reports, the exact output file, and one-line exit-2 errors with no partial output.
set -u
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_input_error() {
    local name=$1
    shift
    rm -f out.json
    "$@" >out.txt 2>err.txt
    local rc=$? before=$fails
    [ "$rc" -eq 2 ] || fail "$name: exit code $rc, want 2"
    [ "$(wc -l <err.txt)" -eq 1 ] || fail "$name: stderr is not one line: $(cat err.txt)"
    [ -e out.json ] && fail "$name: partial report written"
    [ "$fails" -eq "$before" ] && echo "ok   $name: $(cat err.txt)"
}

LAYER=C=8,M=16,R=3,S=3,P=10,Q=10,pad=1
"$A" simulate --layer $LAYER --density 0.4 --zero-mode skip --out r.json --ofmap o.trace --quiet \
    || fail "simulate exited $?"
for key in '"layer"' '"mapping"' '"density"' '"processing"' '"total"' '"dense"' '"performed"' \
    '"gated"' '"skipped"' '"energy_pj"' '"by_level"' '"accesses"' '"utilization"' '"arch"' \
    '"host_seconds"'; do
    grep -q "$key" r.json || fail "report lacks $key"
done
# The output trace's accumulators are the array's; `trace info --verify` recomputes them.
"$A" trace info o.trace --json --verify | grep -q '"ofmap_verified": true' || fail "ofmap not exact"
# The report's mapping can be passed back in and gives the same result.
"$A" simulate --layer $LAYER --density 0.4 --zero-mode skip --mapping r.json --out r2.json --quiet \
    || fail "re-run with --mapping exited $?"
grep '"total":' r.json | head -1 >a.txt
grep '"total":' r2.json | head -1 >b.txt
cmp -s a.txt b.txt || fail "same mapping, different totals"
echo "ok   report, ofmap, mapping round trip"

printf 'not a safetensors file' >bad.trace
expect_input_error "corrupt trace" "$A" simulate --trace bad.trace --out out.json
expect_input_error "impossible shape" "$A" simulate --layer C=4,M=4,R=3,S=3,P=8,Q=8,H=100 --out out.json
# One 8-byte bank (4 words): not even one 3 x 3 window fits, whatever the strips.
sed -e 's/^  bank_bytes: 4096 /  bank_bytes: 8    /' \
    -e 's/^  ifmap_psum_banks: 25 /  ifmap_psum_banks: 1  /' "$SRC/configs/eyeriss-v1.yaml" >tiny.yaml
grep -q 'bank_bytes: 8 ' tiny.yaml && grep -q 'ifmap_psum_banks: 1 ' tiny.yaml \
    || fail "could not make tiny.yaml"
expect_input_error "buffers too small" "$A" simulate --arch tiny.yaml --layer $LAYER --out out.json
echo '{"glb": {"n": 1}}' >m.json
expect_input_error "bad mapping file" "$A" simulate --layer $LAYER --mapping m.json --out out.json
expect_input_error "bad zero mode" "$A" simulate --layer $LAYER --zero-mode sometimes --out out.json
expect_input_error "unknown spec key" "$A" simulate --layer C=8,M=8,X=1,P=4,Q=4 --out out.json
grep -q -- '--layer: X: unknown key (keys: N C M R S P Q H W G Hstride Wstride Hpad Wpad stride pad)' \
    err.txt || fail "unknown key without the valid keys: $(cat err.txt)"

# --vcd is refused before anything is printed, naming the flag and what it needs.
"$A" trace synth --layer $LAYER --density 0.4 --seed 3 --out l.trace >/dev/null || fail "synth exited $?"
expect_input_error "vcd at fast fidelity" "$A" simulate --trace l.trace --vcd f.vcd --out out.json
grep -q -- '--vcd: needs --fidelity cycle' err.txt || fail "vcd error: $(cat err.txt)"
[ -s out.txt ] && fail "vcd at fast fidelity printed: $(cat out.txt)"
[ -e f.vcd ] && fail "vcd at fast fidelity wrote f.vcd"
# An error in the (first) layer leaves stdout empty too: the header comes with the first row.
expect_input_error "buffers too small, no table" "$A" simulate --arch tiny.yaml --layer $LAYER
[ -s out.txt ] && fail "a failed layer printed: $(cat out.txt)"

# The table: a network layer is labelled with its network, its index in the network and its
# name; energy in uJ, the same number as the report's pJ.
"$A" simulate --net mobilenetv2-cifar --layer features.4.project --density 0.4 --zero-mode skip \
    --out n.json >n.txt || fail "simulate --net --layer exited $?"
head -1 n.txt | grep -q '^idx  *network  *layer  *dens .* energy_uJ ' || fail "header: $(head -1 n.txt)"
grep -q '^11  *mobilenetv2-cifar  *features\.4\.project ' n.txt || fail "row label: $(sed -n 2p n.txt)"
grep -q '"index": 11' n.json || fail "report lacks the layer index"
row_uj=$(awk 'NR == 2 { print $7 }' n.txt)
total_uj=$(sed -n 's/^total: .* \([0-9.]*\) uJ (\([0-9.]*\) mJ).*/\1 \2/p' n.txt)
pj=$(sed -n 's/^ *"energy_pj": \([0-9.e+]*\),*$/\1/p' n.json | head -1)
awk -v r="$row_uj" -v t="$total_uj" -v p="$pj" 'BEGIN {
    split(t, x, " ");
    exit !(p > 0 && r == x[1] && (r - p / 1e6) ^ 2 < 1e-6 && (x[2] - p / 1e9) ^ 2 < 1e-12) }' \
    || fail "energy units: row '$row_uj' uJ, total '$total_uj', report $pj pJ"
# A trace is labelled with the network, layer and index it records.
"$A" trace synth --net squeezenet-fmnist --width 0.25 --layer fire2.expand_3x3 --density 0.5 \
    --seed 2 --out s.trace >/dev/null || fail "synth --net --width exited $?"
"$A" simulate --trace s.trace >s.txt || fail "simulate --trace exited $?"
grep -q '^3  *squeezenet-fmnist  *fire2\.expand_3x3 ' s.txt || fail "trace row: $(sed -n 2p s.txt)"
echo "ok   table labels and units"

# --width scales the network as calibrate and train do (the layers table's MACs).
macs=$("$A" layers --net squeezenet-fmnist --width 0.25 --json |
    awk '/"macs"/ { m = $2 } /"name": "fire2.expand_3x3"/ { sub(",", "", m); print m }')
"$A" simulate --net squeezenet-fmnist --width 0.25 --layer fire2.expand_3x3 --out w.json --quiet \
    || fail "simulate --width exited $?"
[ -n "$macs" ] && grep -q "\"dense\": $macs," w.json || fail "--width 0.25: dense MACs not $macs"
"$A" simulate --net squeezenet-fmnist --layer fire2.expand_3x3 --out w1.json --quiet
grep -q "\"dense\": $macs," w1.json && fail "--width made no difference"
expect_input_error "width without net" "$A" simulate --layer $LAYER --width 0.5 --out out.json
expect_input_error "zero width" "$A" simulate --net squeezenet-fmnist --width 0 --out out.json
grep -q -- '--width: must be a finite number > 0' err.txt || fail "width error: $(cat err.txt)"
echo "ok   --width"

# --block: the same block pattern as trace synth --block.
"$A" simulate --layer $LAYER --density 0.4 --pattern block --block 3 --ofmap b3.trace --quiet \
    || fail "simulate --block exited $?"
"$A" trace synth --layer $LAYER --density 0.4 --seed 1 --pattern block --block 3 --out t3.trace \
    >/dev/null
"$A" trace info b3.trace | grep -q 'synth_block = 3' || fail "--block 3 not used"
"$A" trace info b3.trace | grep '^density:' >a.txt
"$A" trace info t3.trace | grep '^density:' >b.txt
cmp -s a.txt b.txt || fail "simulate --block 3 and trace synth --block 3 differ: $(cat a.txt b.txt)"
expect_input_error "zero block" "$A" simulate --layer $LAYER --pattern block --block 0 --out out.json
echo "ok   --block"

# layers --list names every network the unknown-name error knows, one per line.
"$A" layers --list >list.txt || fail "layers --list exited $?"
expect_input_error "unknown network" "$A" layers --net nonet
known=$(sed -n 's/.*(known: \(.*\))$/\1/p' err.txt | tr -d ,)
[ -n "$known" ] || fail "no known-network list in: $(cat err.txt)"
[ "$(awk '{ print $1 }' list.txt | tr '\n' ' ')" = "$known " ] \
    || fail "layers --list: $(awk '{ print $1 }' list.txt | tr '\n' ' '), error: $known"
grep -q '^vgg16  *13 conv layers, input 3x224x224, ' list.txt || fail "vgg16 line: $(grep vgg16 list.txt)"
expect_input_error "layers without --net" "$A" layers
echo "ok   layers --list"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
