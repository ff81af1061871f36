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
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
