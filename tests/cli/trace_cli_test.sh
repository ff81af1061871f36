#!/usr/bin/env bash
# Usage: trace_cli_test.sh ACTSPARSE SOURCE_DIR. Checks `actsparse trace` end to end.
set -u
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$2" && pwd)
[ -x "$A" ] || { echo "FAIL: $1 is not an executable"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_input_error NAME CMD...: exit code 2 and exactly one line on stderr.
expect_input_error() {
    local name=$1
    shift
    "$@" >out.txt 2>err.txt
    local rc=$? before=$fails
    [ "$rc" -eq 2 ] || fail "$name: exit code $rc, want 2"
    [ "$(wc -l <err.txt)" -eq 1 ] || fail "$name: stderr is not one line: $(cat err.txt)"
    grep -q '^actsparse: error: ' err.txt || fail "$name: no 'actsparse: error:' prefix"
    [ "$fails" -eq "$before" ] && echo "ok   $name: $(cat err.txt)"
}

# The issue's acceptance command.
"$A" trace synth --layer C=16,M=16,R=3,S=3,P=8,Q=8,pad=1 --density 0.3 --seed 7 --out f.trace \
    || fail "synth exited $?"
[ -s f.trace ] || fail "f.trace not written"
"$A" trace info f.trace --json --verify >info.json || fail "info exited $?"
density=$(sed -n 's/^ *"density": \([0-9.e-]*\),*$/\1/p' info.json)
awk -v d="$density" 'BEGIN { exit !(d >= 0.29 && d <= 0.31) }' || fail "density '$density' not 0.30 +- 0.01"
grep -q '"spec": "N=1,C=16,M=16,R=3,S=3,P=8,Q=8,H=8,W=8,G=1,Hstride=1,Wstride=1,Hpad=1,Wpad=1"' info.json \
    || fail "shape not read back: $(grep spec info.json)"
grep -q '"ofmap_verified": true' info.json || fail "ofmap_acc not verified"
"$A" trace info f.trace | grep -q '^density:   0.2998 (307 of 1024' || fail "text info density"
echo "ok   synth + info: density $density"

# Same seed, same bytes; another seed, other bytes.
"$A" trace synth --layer C=16,M=16,R=3,S=3,P=8,Q=8,pad=1 --density 0.3 --seed 7 --out g.trace >/dev/null
cmp -s f.trace g.trace || fail "same seed gave different files"
"$A" trace synth --layer C=16,M=16,R=3,S=3,P=8,Q=8,pad=1 --density 0.3 --seed 8 --out h.trace >/dev/null
cmp -s f.trace h.trace && fail "different seeds gave the same file"

# A layer of a built-in network, with the structured patterns.
"$A" trace synth --net mobilenetv2-cifar --layer features.1.dw --batch 2 --density 0.5 --seed 1 \
    --pattern channel --out n.trace >/dev/null || fail "--net synth exited $?"
"$A" trace info n.trace --json >n.json
grep -q '"network": "mobilenetv2-cifar"' n.json || fail "network not recorded"
grep -q '"N": 2' n.json || fail "batch not applied"
"$A" trace synth --layer C=8,M=8,R=3,S=3,P=13,Q=13,pad=1 --density 0.4 --seed 2 --pattern block \
    --block 3 --out b.trace >/dev/null || fail "block synth exited $?"
"$A" trace info b.trace --verify >/dev/null || fail "block trace does not verify"

# Corrupted traces: truncated, header length beyond the file, a bit flipped in the JSON.
head -c 100 f.trace >trunc.trace
expect_input_error "truncated trace" "$A" trace info trunc.trace
cp f.trace long.trace
printf '\xff\xff\xff' | dd of=long.trace bs=1 seek=4 conv=notrunc status=none
expect_input_error "header length beyond file" "$A" trace info long.trace
cp f.trace json.trace
printf '!' | dd of=json.trace bs=1 seek=9 conv=notrunc status=none
expect_input_error "bad header JSON" "$A" trace info json.trace
: >empty.trace
expect_input_error "empty trace" "$A" trace info empty.trace
expect_input_error "missing trace" "$A" trace info nonexistent.trace

# The dtype error docs/formats.md quotes: an F32 ifmap (same header length, so only the dtype
# and hence the span disagree) is reported as a dtype error, not as the offsets it breaks.
LC_ALL=C sed 's/"dtype":"I16","shape":\[1,16,8,8\]/"dtype":"F32","shape":[1,16,8,8]/' f.trace >dt.trace
[ "$(wc -c <dt.trace)" -eq "$(wc -c <f.trace)" ] && ! cmp -s f.trace dt.trace || fail "could not make dt.trace"
expect_input_error "F32 ifmap" "$A" trace info dt.trace
grep -q '^actsparse: error: dt.trace: ifmap.dtype: expected I16, got F32$' err.txt \
    || fail "dtype message: $(cat err.txt)"

# Corrupted configs: unknown key, missing key, wrong type, bad YAML; no output file after.
sed 's/filter_spad_words:/filter_spad_wrds:/' "$SRC/configs/eyeriss-v1.yaml" >unknown.yaml
expect_input_error "config unknown key" "$A" trace synth --layer C=4,M=4,P=4,Q=4 --density 0.5 \
    --seed 1 --arch unknown.yaml --out c.trace
grep -q 'unknown.yaml: pe.filter_spad_wrds: unknown key' err.txt || fail "unknown key message: $(cat err.txt)"
grep -v 'glb_write_pj' "$SRC/configs/eyeriss-v1.yaml" >missing.yaml
expect_input_error "config missing key" "$A" trace synth --layer C=4,M=4,P=4,Q=4 --density 0.5 \
    --seed 1 --arch missing.yaml --out c.trace
grep -q 'missing.yaml: energy.glb_write_pj: missing required key' err.txt || fail "missing key message"
sed 's/rows: 12 /rows: twelve /' "$SRC/configs/eyeriss-v1.yaml" >type.yaml
expect_input_error "config type error" "$A" trace synth --layer C=4,M=4,P=4,Q=4 --density 0.5 \
    --seed 1 --arch type.yaml --out c.trace
grep -q 'type.yaml: array.rows: expected an integer' err.txt || fail "type error message: $(cat err.txt)"
printf 'array: [\n' >broken.yaml
expect_input_error "config bad YAML" "$A" trace synth --layer C=4,M=4,P=4,Q=4 --density 0.5 \
    --seed 1 --arch broken.yaml --out c.trace
[ -e c.trace ] && fail "an output file was written despite the bad config"

# Bad flags.
expect_input_error "density out of range" "$A" trace synth --layer C=4,M=4,P=4,Q=4 --density 1.5 --seed 1 --out c.trace
expect_input_error "bad layer spec" "$A" trace synth --layer C=4,M=4,X=1,P=4,Q=4 --density 0.5 --seed 1 --out c.trace
expect_input_error "bad pattern" "$A" trace synth --layer C=4,M=4,P=4,Q=4 --density 0.5 --seed 1 --pattern stripes --out c.trace
expect_input_error "unknown net layer" "$A" trace synth --net vgg16 --layer nope --density 0.5 --seed 1 --out c.trace
expect_input_error "batch without net" "$A" trace synth --layer C=4,M=4,P=4,Q=4 --batch 2 --density 0.5 --seed 1 --out c.trace
expect_input_error "width without net" "$A" trace synth --layer C=4,M=4,P=4,Q=4 --width 0.5 --density 0.5 --seed 1 --out c.trace
expect_input_error "negative width" "$A" trace synth --net vgg16 --layer features.0 --width -1 --density 0.5 --seed 1 --out c.trace
grep -q -- '--width: must be a finite number > 0' err.txt || fail "width message: $(cat err.txt)"
grep -q 'unknown key (keys: N C M R S P Q H W G Hstride Wstride Hpad Wpad stride pad)' \
    <("$A" trace synth --layer C=4,M=4,X=1,P=4,Q=4 --density 0.5 --seed 1 --out c.trace 2>&1) \
    || fail "unknown spec key does not list the keys"
[ -e c.trace ] && fail "an output file was written despite bad flags"

# --width: the layer of the narrower network, recorded in the metadata.
"$A" trace synth --net squeezenet-fmnist --width 0.25 --layer fire2.expand_3x3 --density 0.5 \
    --seed 1 --out w.trace >/dev/null || fail "synth --width exited $?"
"$A" trace info w.trace --json >w.json
grep -q '"spec": "N=1,C=4,M=16,' w.json || fail "width 0.25 shape: $(grep spec w.json)"
grep -q '"width": "0.25"' w.json || fail "width not recorded"
grep -q '"layer_index": "3"' w.json || fail "layer_index not recorded"

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all trace CLI checks passed"
