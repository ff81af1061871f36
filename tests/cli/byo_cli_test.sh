#!/usr/bin/env bash
# Usage: byo_cli_test.sh ACTSPARSE SOURCE_DIR. "Bring your own network and energy table":
# Timeloop problem files (--layer FILE.yaml, --net-dir), Accelergy ERTs (--energy-table),
# --version and the refusal of layers too large for memory, end to end. The Timeloop and
# Accelergy files are the shared fixtures (../shared/fixtures), used in place; without them
# the test is skipped (exit 77).
set -u
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$2" && pwd)
FIX=$SRC/../shared/fixtures
if [ ! -d "$FIX/timeloop-layer-shapes" ] || [ ! -d "$FIX/accelergy-eyeriss-like" ]; then
    echo "SKIP: no $FIX (the shared fixtures of Timeloop/Accelergy files)"
    exit 77
fi
ALEX=$FIX/timeloop-layer-shapes/AlexNet
ERT=$FIX/accelergy-eyeriss-like/timeloop-mapper.ERT.yaml
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

# --version: the version and a commit (or "unknown").
"$A" --version >v.txt || fail "--version exited $?"
grep -Eq '^actsparse [0-9]+\.[0-9]+\.[0-9]+ \(git [^)]+\)$' v.txt || fail "--version: $(cat v.txt)"

# layers --net-dir: one layer per file, in name order, MACs the product of the instance.
"$A" layers --net-dir "$ALEX" --json >l.json || fail "layers --net-dir exited $?"
n_files=$(ls "$ALEX"/*.yaml | wc -l)
[ "$(json_get l.json "['layers'].__len__()")" -eq "$n_files" ] || fail "layer count"
[ "$(json_get l.json "['layers'][0]['name']")" = AlexNet_layer1 ] || fail "first layer name"
expect=$(python3 -c "
import yaml; i=yaml.safe_load(open('$ALEX/AlexNet_layer2.yaml'))['problem']['instance']
p=1
for d in 'NCMRSPQ': p*=i[d]
print(p)" 2>/dev/null) || expect=""
if [ -n "$expect" ]; then
    [ "$(json_get l.json "['layers'][1]['macs']")" = "$expect" ] || fail "layer 2 MACs"
fi
echo "ok   layers --net-dir"

# --layer FILE.yaml wherever a spec is accepted: trace synth and simulate give the same shape.
"$A" trace synth --layer "$ALEX/AlexNet_layer5.yaml" --density 0.5 --seed 1 --out t.trace \
    >/dev/null || fail "trace synth --layer FILE exited $?"
"$A" trace info t.trace --json >ti.json || fail "trace info exited $?"
"$A" layers --net-dir "$ALEX" --json >/dev/null
spec5=$(json_get l.json "['layers'][4]['shape']")
grep -q "\"spec\": \"$spec5\"" ti.json || fail "synth shape differs from layers': $spec5"
"$A" simulate --layer "$ALEX/AlexNet_layer5.yaml" --density 0.5 --quiet --out s0.json \
    || fail "simulate --layer FILE exited $?"
# --net-dir: every layer, first input dense.
"$A" simulate --net-dir "$ALEX" --layer AlexNet_layer5 --density 0.5 --seed 1 --quiet \
    --out s1.json || fail "simulate --net-dir exited $?"
[ "$(json_get s1.json "['network']")" = AlexNet ] || fail "network name"
echo "ok   --layer FILE.yaml, simulate --net-dir"

# --energy-table: the ERT's prices, one warning line naming the counters it lacks.
"$A" simulate --layer "$ALEX/AlexNet_layer5.yaml" --density 0.5 --quiet --out s2.json \
    --energy-table "$ERT" 2>w.txt || fail "simulate --energy-table exited $?"
[ "$(wc -l <w.txt)" -eq 1 ] || fail "ERT warning is not one line: $(cat w.txt)"
grep -q "no Accelergy action for .*noc_word_pj" w.txt || fail "warning: $(cat w.txt)"
glb=$(python3 -c "
import yaml
for t in yaml.safe_load(open('$ERT'))['ERT']['tables']:
    if 'shared_glb' in t['name']:
        print([a['energy'] for a in t['actions'] if a['name']=='read'][0])" 2>/dev/null) || glb=""
if [ -n "$glb" ]; then
    python3 -c "import json; assert abs(json.load(open('s2.json'))['arch']['energy']['glb_read_pj'] - $glb) < 1e-9" \
        || fail "report's arch does not carry the ERT's GLB read energy"
fi
python3 -c "
import json; a=json.load(open('s0.json')); b=json.load(open('s2.json'))
assert a['cycles']==b['cycles'], 'cycles changed'
assert a['energy_pj']['total']!=b['energy_pj']['total'], 'energy unchanged'" || fail "ERT energy"
echo "ok   --energy-table"

# Bad input: one line, exit 2, no output.
expect_input_error "missing problem file" "$A" simulate --layer nothere.yaml --out out.json
expect_input_error "not a folder" "$A" layers --net-dir nothere
mkdir -p empty && expect_input_error "empty folder" "$A" simulate --net-dir empty --out out.json
printf 'problem:\n  version: 0.4\n  instance: {C: 4, M: 4, R: 3, S: 3, P: 4, Q: 4, Wdilation: 2}\n' >dil.yaml
expect_input_error "dilation" "$A" trace synth --layer dil.yaml --density 0.5 --seed 1 --out out.trace
grep -q "dil.yaml: problem.instance.Wdilation" err.txt || fail "dilation message: $(cat err.txt)"
expect_input_error "width with net-dir" "$A" layers --net-dir "$ALEX" --width 0.5
printf 'ERT:\n  tables:\n  - {name: x.glb, actions: [{name: read, energy: lots}]}\n' >bad-ert.yaml
expect_input_error "bad ERT" "$A" simulate --layer C=4,M=4,P=4,Q=4 --energy-table bad-ert.yaml \
    --quiet --out out.json
grep -q "bad-ert.yaml: ERT.tables\[0\].actions\[0\].energy" err.txt || fail "ERT message: $(cat err.txt)"
expect_input_error "ERT on v2" "$A" simulate --arch eyeriss-v2 --layer C=4,M=4,P=4,Q=4 \
    --energy-table "$ERT" --quiet --out out.json
expect_input_error "layer too large" "$A" simulate --layer C=4000000,M=4000000,R=3,S=3,P=4000,Q=4000 \
    --out out.json
grep -q "layer too large" err.txt || fail "too-large message: $(cat err.txt)"
expect_input_error "layer larger than memory" "$A" trace synth \
    --layer C=200000,M=200000,R=3,S=3,P=3000,Q=3000 --density 0.5 --seed 1 --out out.trace
grep -q "of memory" err.txt || fail "memory message: $(cat err.txt)"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all byo checks passed"
