#!/usr/bin/env bash
# Usage: calibrate_cli_test.sh ACTSPARSE. Checks `actsparse calibrate` end to end on a short
# sweep: the files, the schema fields the trainer reads, the instant cached re-run,
# --validate-traces, and bad input (exit 2, one line, no output file).
set -u
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -x "$A" ] || { echo "FAIL: $1 is not an executable"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect_input_error() {
    local name=$1
    shift
    rm -f bad.json
    "$@" --out bad.json --cache cache >out.txt 2>err.txt
    local rc=$? before=$fails
    [ "$rc" -eq 2 ] || fail "$name: exit code $rc, want 2"
    [ "$(wc -l <err.txt)" -eq 1 ] || fail "$name: stderr is not one line: $(cat err.txt)"
    grep -q '^actsparse: error: ' err.txt || fail "$name: no 'actsparse: error:' prefix"
    [ -e bad.json ] && fail "$name: wrote an output file"
    [ "$fails" -eq "$before" ] && echo "ok   $name: $(cat err.txt)"
}

short=(--net squeezenet-cifar --densities 0.2,1 --seeds 1 --patterns uniform
       --validate-densities 0.5 --validate-patterns uniform,block --jobs 2)

# Traces of two layers for --validate-traces.
mkdir traces
"$A" trace synth --net squeezenet-cifar --layer fire2.squeeze --density 0.4 --seed 5 \
    --out traces/a.trace >/dev/null || fail "trace synth exited $?"
"$A" trace synth --net squeezenet-cifar --layer fire3.expand_3x3 --density 0.3 --seed 6 \
    --pattern block --out traces/b.trace >/dev/null || fail "trace synth exited $?"
cat >traces/manifest.json <<'JSON'
{"network": "squeezenet-cifar",
 "layers": [{"name": "fire2.squeeze", "file": "a.trace"},
            {"name": "fire3.expand_3x3", "file": "b.trace"}]}
JSON

"$A" calibrate "${short[@]}" --zero-mode skip --cache cache --out calib.json \
    --validate-traces traces --figure-format svg >run1.txt 2>run1.err || fail "calibrate exited $?"
[ -s calib.json ] || fail "calib.json not written"
[ -s calib-report/report.md ] || fail "report.md not written"
[ -s calib-report/fig/layer_000.svg ] || fail "figure not drawn: $(tail -2 run1.err)"
grep -q '"schema": "actsparse.calibration/1"' calib.json || fail "schema"
grep -q '"zero_mode": "skip"' calib.json || fail "zero_mode"
for key in e1 e0 c1 c0 conv map_e map_c e_l c_l e0_l c0_l mapping_changes points traces; do
    grep -q "\"$key\":" calib.json || fail "no \"$key\" in calib.json"
done
grep -q '"mapping_density": 0.5' calib.json || fail "not planned for the default density 0.5"
grep -q 'ETA' run1.err || fail "no progress bar on stderr"
grep -q '^heldout ' run1.txt || fail "no validation summary on stdout"
ls calib.json.tmp* calib-report/*.tmp* 2>/dev/null && fail "temporary files left"
echo "ok   calibrate: $(head -1 run1.txt)"

# A re-run simulates nothing and writes the same document.
cp calib.json first.json
"$A" calibrate "${short[@]}" --zero-mode skip --cache cache --out calib.json \
    --validate-traces traces --report none --quiet || fail "re-run exited $?"
cmp -s first.json calib.json || fail "the cached re-run wrote another calib.json"
"$A" calibrate "${short[@]}" --zero-mode skip --cache cache --out again.json --report none \
    --validate-traces traces 2>/dev/null | grep -q ' 0 simulated' || fail "re-run simulated points"
echo "ok   cached re-run"

# Without validation: says so, no empty table, no validation figure, no gnuplot warnings.
"$A" calibrate --net squeezenet-cifar --densities 0.2,1 --seeds 1 --patterns uniform --jobs 2 \
    --validate-densities none --zero-mode skip --cache cache --out noval.json \
    --figure-format svg >noval.txt 2>noval.err || fail "calibrate --validate-densities none exited $?"
grep -q '^no validation was run' noval.txt || fail "no-validation run does not say so"
grep -q 'MAE' noval.txt && fail "no-validation run prints validation errors: $(cat noval.txt)"
grep -qi 'warning' noval.err && fail "no-validation run warns: $(grep -i warning noval.err)"
grep -q 'No validation was run' noval-report/report.md || fail "report.md does not say so"
[ -e noval-report/fig/validation.svg ] && fail "a validation figure without validation"
echo "ok   --validate-densities none"

# --mapping-density per-point re-plans each point (null in the file); a bad value is exit 2.
"$A" calibrate --net squeezenet-cifar --densities 0.2,1 --seeds 1 --patterns uniform --jobs 2 \
    --validate-densities none --zero-mode skip --cache cache --out perpoint.json --report none \
    --mapping-density per-point --quiet || fail "--mapping-density per-point exited $?"
grep -q '"mapping_density": null' perpoint.json || fail "per-point not recorded as null"
expect_input_error "bad mapping density" "$A" calibrate --net squeezenet-cifar --mapping-density 0
echo "ok   --mapping-density per-point"

expect_input_error "zero mode none" "$A" calibrate "${short[@]}" --zero-mode none
expect_input_error "bad density" "$A" calibrate --net squeezenet-cifar --densities 0.2,abc
expect_input_error "density > 1" "$A" calibrate --net squeezenet-cifar --densities 0.2,1.5
expect_input_error "held-out density in the fit" "$A" calibrate --net squeezenet-cifar \
    --densities 0.2,0.5,1 --validate-densities 0.5
expect_input_error "unknown network" "$A" calibrate --net lenet
expect_input_error "unknown pattern" "$A" calibrate --net squeezenet-cifar --patterns stripes
expect_input_error "unknown form" "$A" calibrate --net squeezenet-cifar --form best
expect_input_error "missing manifest" "$A" calibrate --net squeezenet-cifar --validate-traces nowhere
"$A" calibrate "${short[@]}" --out missing/dir/calib.json >/dev/null 2>err.txt
[ $? -eq 2 ] && grep -q -- '--out' err.txt && echo "ok   --out in a missing folder" \
    || fail "--out in a missing folder: $(cat err.txt)"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all calibrate CLI checks passed"
