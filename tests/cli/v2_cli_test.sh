#!/usr/bin/env bash
# Usage: v2_cli_test.sh ACTSPARSE SOURCE_DIR. `actsparse simulate --arch eyeriss-v2` end to
# end (report keys, exact output, MAC split, mapping round trip, both fidelities, exit-2
# errors) and `trace synth --weight-density`.
set -u
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
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
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# trace synth --weight-density: the file reads back at the requested weight density.
"$A" trace synth --layer C=16,M=16,R=3,S=3,P=8,Q=8,pad=1 --density 0.5 --weight-density 0.25 \
    --seed 3 --arch eyeriss-v2 --out w.trace >/dev/null || fail "synth --weight-density exited $?"
"$A" trace info w.trace | grep -q '^weights:   density 0.2500 (576 of 2304' \
    || fail "weight density not 0.25: $("$A" trace info w.trace | grep weights)"
"$A" trace info w.trace --json --verify | grep -q '"ofmap_verified": true' || fail "synth ofmap"
"$A" trace synth --layer C=16,M=16,R=3,S=3,P=8,Q=8,pad=1 --density 0.5 --weight-density 0.5 \
    --weight-pattern channel --seed 3 --out wc.trace >/dev/null || fail "channel pattern"
expect_input_error "weight density out of range" "$A" trace synth --layer C=4,M=4,R=1,S=1,P=4,Q=4 \
    --density 0.5 --weight-density 1.5 --seed 1 --out out.json
expect_input_error "bad weight pattern" "$A" trace synth --layer C=4,M=4,R=1,S=1,P=4,Q=4 \
    --density 0.5 --weight-pattern stripes --seed 1 --out out.json
echo "ok   trace synth --weight-density"

# simulate --arch eyeriss-v2 on the sparse trace: exact output, v2 keys, MAC split.
"$A" simulate --arch eyeriss-v2 --trace w.trace --out r.json --ofmap o.trace --quiet \
    || fail "v2 simulate exited $?"
"$A" trace info o.trace --json --verify | grep -q '"ofmap_verified": true' || fail "v2 ofmap"
for key in '"processing"' '"total"' '"performed"' '"skipped_iact"' '"skipped_weight"' \
    '"gated_iact"' '"energy_pj"' '"by_level"' '"accesses"' '"v2"' '"m0"'; do
    grep -q "$key" r.json || fail "v2 report lacks $key"
done
if command -v python3 >/dev/null; then
    sum=$(json r.json "j['macs']['performed']+j['macs']['gated_iact']+j['macs']['gated_weight']+j['macs']['skipped_iact']+j['macs']['skipped_weight']-j['macs']['dense']")
    [ "$sum" = 0 ] || fail "MAC split does not add up ($sum)"
    sw=$(json r.json "j['macs']['skipped_weight'] > 0")
    [ "$sw" = True ] || fail "no MAC skipped by a zero weight"
fi
# Cycle fidelity: same counts and cycles.
"$A" simulate --arch eyeriss-v2 --trace w.trace --fidelity cycle --out rc.json --quiet \
    || fail "v2 cycle fidelity exited $?"
grep '"processing":' r.json | head -1 >a.txt
grep '"processing":' rc.json | head -1 >b.txt
cmp -s a.txt b.txt || fail "fast and cycle fidelities differ"
# The report's mapping, and a bare v2 array mapping, are accepted back.
"$A" simulate --arch eyeriss-v2 --trace w.trace --mapping r.json --out r2.json --quiet \
    || fail "v2 --mapping report exited $?"
grep '"total":' r.json | head -1 >a.txt
grep '"total":' r2.json | head -1 >b.txt
cmp -s a.txt b.txt || fail "same v2 mapping, different totals"
echo '{"m0":8,"c0":4,"s0":3,"e0":4,"q0":4,"fr":3,"cv":1,"chains":16,"order":"ngmpq"}' >v2m.json
"$A" simulate --arch eyeriss-v2 --trace w.trace --mapping v2m.json --out r3.json --quiet \
    || fail "bare v2 mapping exited $?"
grep -q '"chains": 16' r3.json || fail "bare v2 mapping not used"
echo "ok   simulate --arch eyeriss-v2"

# A whole network with weight sparsity.
"$A" simulate --arch eyeriss-v2 --net squeezenet-cifar --zero-mode skip --density 0.5 \
    --weight-density 0.5 --out n.json --quiet || fail "v2 network exited $?"
echo "ok   network"

echo '{"m0":8,"c0":8,"s0":3,"e0":4,"q0":4,"fr":3,"cv":1,"chains":16,"order":"ngmpq"}' >bad.json
expect_input_error "v2 mapping over the iact spad" "$A" simulate --arch eyeriss-v2 \
    --trace w.trace --mapping bad.json --out out.json
"$A" simulate --trace w.trace --out v1.json --quiet || fail "v1 on the same trace exited $?"
expect_input_error "v1 mapping on v2" "$A" simulate --arch eyeriss-v2 --trace w.trace \
    --mapping v1.json --out out.json
expect_input_error "v2 mapping on v1" "$A" simulate --trace w.trace --mapping r.json --out out.json
expect_input_error "no VCD on v2" "$A" simulate --arch eyeriss-v2 --trace w.trace --vcd x.vcd \
    --out out.json

[ "$fails" -eq 0 ] && echo "all v2 CLI checks passed"
exit $((fails > 0))
