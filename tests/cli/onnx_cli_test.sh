#!/usr/bin/env bash
# Usage: onnx_cli_test.sh ACTSPARSE SOURCE_DIR. ONNX models as networks (--onnx MODEL.onnx)
# through layers, simulate, trace synth and calibrate, end to end, on the fixtures of
# tests/fixtures/onnx (scripts/export_onnx_fixtures.py); bad models exit 2 with one line and
# write nothing.
set -u
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$2" && pwd)
FIX=$SRC/tests/fixtures/onnx
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

# layers --onnx: torchvision's mobilenet_v2 has the built-in's 52 convs plus its classifier.
"$A" layers --onnx "$FIX/mobilenet_v2.onnx" --json >l.json || fail "layers --onnx exited $?"
"$A" layers --net mobilenetv2-cifar --json >b.json || fail "layers --net exited $?"
[ "$(json_get l.json "['network']")" = mobilenet_v2 ] || fail "network name"
n=$(json_get l.json "['layers'].__len__()")
[ "$n" -eq $(($(json_get b.json "['layers'].__len__()") + 1)) ] || fail "layer count $n"
python3 -c "import json; d=json.load(open('l.json')); assert d['total_macs'] == sum(l['macs'] for l in d['layers'])" \
    || fail "total MACs are not the layers' sum"
[ "$(json_get l.json "['layers'][-1]['shape']")" = "N=1,C=1280,M=10,R=1,S=1,P=1,Q=1,H=1,W=1,G=1,Hstride=1,Wstride=1,Hpad=0,Wpad=0" ] \
    || fail "classifier shape: $(json_get l.json "['layers'][-1]['shape']")"
"$A" layers --onnx "$FIX/mobilenet_v2.onnx" --batch 2 >l.txt || fail "layers table exited $?"
tail -1 l.txt | grep -q "^mobilenet_v2: $n conv layers, $(($(json_get l.json "['total_macs']") * 2)) MACs at batch 2" \
    || fail "table summary: $(tail -1 l.txt)"
echo "ok   layers --onnx"

# simulate --onnx --layer NAME: one layer, named and indexed as layers --onnx lists it.
"$A" layers --onnx "$FIX/squeezenet1_1.onnx" --json >sq.json || fail "layers squeezenet exited $?"
name3=$(json_get sq.json "['layers'][3]['name']")
"$A" simulate --onnx "$FIX/squeezenet1_1.onnx" --layer "$name3" --density 0.5 --seed 1 --quiet \
    --out s.json || fail "simulate --onnx --layer exited $?"
[ "$(json_get s.json "['network']")" = squeezenet1_1 ] || fail "simulate network"
[ "$(json_get s.json "['index']")" = 3 ] || fail "simulate index"
[ "$(json_get s.json "['layers'].__len__()")" = 1 ] || fail "simulate ran more than one layer"
[ "$(json_get s.json "['macs']['dense']")" = "$(json_get sq.json "['layers'][3]['macs']")" ] \
    || fail "simulate dense MACs differ from layers'"
# Every layer of the tiny model, the first one with a dense input.
"$A" simulate --onnx "$FIX/tiny.onnx" --density 0.5 --seed 1 --quiet --out all.json \
    || fail "simulate --onnx (all layers) exited $?"
"$A" layers --onnx "$FIX/tiny.onnx" --json >t.json
[ "$(json_get all.json "['layers'].__len__()")" = "$(json_get t.json "['layers'].__len__()")" ] \
    || fail "simulate --onnx did not run every layer"
[ "$(json_get all.json "['totals']['dense_macs']")" = "$(json_get t.json "['total_macs']")" ] \
    || fail "simulate total dense MACs"
echo "ok   simulate --onnx"

# trace synth --onnx --layer NAME: the classifier (a Gemm) as a conv trace of the same shape.
fc=$(json_get t.json "['layers'][-1]['name']")
"$A" trace synth --onnx "$FIX/tiny.onnx" --layer "$fc" --density 0.5 --seed 1 --out fc.trace \
    >/dev/null || fail "trace synth --onnx exited $?"
"$A" trace info fc.trace --json >fi.json || fail "trace info exited $?"
grep -q "\"spec\": \"$(json_get t.json "['layers'][-1]['shape']")\"" fi.json || fail "synth shape"
echo "ok   trace synth --onnx"

# calibrate --onnx: a small sweep over the tiny model writes a calib.json for its layers.
"$A" calibrate --onnx "$FIX/tiny.onnx" --zero-mode skip --densities 0.3,1 --seeds 1 \
    --validate-densities none --jobs 1 --quiet --out c.json >c.txt 2>&1 || fail "calibrate --onnx exited $?: $(tail -3 c.txt)"
[ "$(json_get c.json "['network']")" = tiny ] || fail "calibrate network"
[ "$(json_get c.json "['layers'].__len__()")" = "$(json_get t.json "['layers'].__len__()")" ] \
    || fail "calibrate layer count"
echo "ok   calibrate --onnx"

# Bad input: one line, exit 2, no output.
expect_input_error "unsupported operator" "$A" simulate --onnx "$FIX/unsupported.onnx" --out out.json
grep -q "unsupported.onnx: node '/act/LeakyRelu' (op LeakyRelu): unsupported operator$" err.txt \
    || fail "unsupported message: $(cat err.txt)"
expect_input_error "missing model" "$A" layers --onnx nothere.onnx
grep -q "nothere.onnx" err.txt || fail "missing message: $(cat err.txt)"
printf '\377\377\377\377 not a model' >bad.onnx
expect_input_error "corrupt model" "$A" trace synth --onnx bad.onnx --layer x --density 0.5 \
    --seed 1 --out out.trace
grep -q "bad.onnx: not an ONNX model" err.txt || fail "corrupt message: $(cat err.txt)"
expect_input_error "folder as model" "$A" simulate --onnx "$FIX" --out out.json
expect_input_error "unknown layer" "$A" simulate --onnx "$FIX/tiny.onnx" --layer nope --out out.json
expect_input_error "--onnx and --net" "$A" layers --onnx "$FIX/tiny.onnx" --net alexnet
expect_input_error "--width with --onnx" "$A" layers --onnx "$FIX/tiny.onnx" --width 0.5

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all onnx checks passed"
