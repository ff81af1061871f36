#!/usr/bin/env bash
# Usage: shard_cli_test.sh ACTSPARSE. `calibrate --shard I/N` and `--merge`: two shards run at
# once into one cache and the merge writes the single-process calib.json bit for bit; a shard
# killed with SIGKILL loses only its in-flight points; bad input (exit 2, one line, no file).
set -u
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -x "$A" ] || { echo "FAIL: $1 is not an executable"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
count() { grep -oE "[0-9]+ $1" "$2" | grep -oE '^[0-9]+'; }

short=(--net squeezenet-cifar --densities 0.2,1 --seeds 1 --patterns uniform
       --validate-densities 0.5 --validate-patterns uniform --zero-mode skip --report none)

# The reference: one process, its own cache.
"$A" calibrate "${short[@]}" --jobs 2 --cache ref-cache --out one.json --quiet \
    || fail "single-process calibrate exited $?"

# Two shards at once into a shared cache, then the merge.
"$A" calibrate "${short[@]}" --jobs 1 --cache shared --shard 0/2 >s0.txt 2>s0.err &
p0=$!
"$A" calibrate "${short[@]}" --jobs 1 --cache shared --shard 1/2 >s1.txt 2>s1.err &
p1=$!
wait "$p0" || fail "shard 0/2 exited $?: $(tail -1 s0.err)"
wait "$p1" || fail "shard 1/2 exited $?: $(tail -1 s1.err)"
[ -e calib.json ] && fail "a shard wrote calib.json"
u0=$(count "unique" s0.txt) n0=$(count "simulated here" s0.txt) n1=$(count "simulated here" s1.txt)
o0=$(count "left to other shards" s0.txt) o1=$(count "left to other shards" s1.txt)
[ -n "$u0" ] && [ -n "$n0" ] && [ -n "$n1" ] || fail "shard summaries: $(cat s0.txt s1.txt)"
[ "$n0" -gt 0 ] && [ "$n1" -gt 0 ] || fail "a shard simulated nothing ($n0, $n1)"
# Disjoint and complete: together the shards simulated each unique point exactly once.
[ "$((n0 + n1))" -eq "$u0" ] || fail "shards simulated $n0 + $n1 points, the sweep has $u0"
[ "$o0" -gt 0 ] && [ "$o1" -gt 0 ] || fail "a shard left nothing to the other: $o0, $o1"
"$A" calibrate "${short[@]}" --cache shared --merge --out merged.json >m.txt 2>m.err \
    || fail "--merge exited $?: $(cat m.err)"
grep -q ' 0 simulated' m.txt || fail "--merge simulated points: $(head -1 m.txt)"
cmp -s one.json merged.json || fail "merged calib.json differs from the single-process one"
echo "ok   two shards at once + merge = one process ($n0 + $n1 of $u0 points)"

# A shard killed mid-run keeps what it finished; its rerun simulates only the rest.
"$A" calibrate "${short[@]}" --jobs 1 --cache killed --shard 0/1 >k.txt 2>k.err &
pk=$!
for _ in $(seq 1 200); do  # until the first point is cached (at most 20 s)
    [ -n "$(find killed -name '*.json' 2>/dev/null | head -1)" ] && break
    sleep 0.1
done
kill -9 "$pk" 2>/dev/null
wait "$pk" 2>/dev/null
done_before=$(find killed -name '*.json' | wc -l)
[ "$done_before" -gt 0 ] || fail "no point was cached before the kill"
"$A" calibrate "${short[@]}" --jobs 1 --cache killed --shard 0/1 >k2.txt 2>k2.err \
    || fail "rerun of the killed shard exited $?: $(tail -1 k2.err)"
c2=$(count "cached" k2.txt) u2=$(count "unique" k2.txt) n2=$(count "simulated here" k2.txt)
[ "$c2" -ge "$done_before" ] || fail "rerun found $c2 cached points, $done_before were written"
[ "$((c2 + n2))" -eq "$u2" ] || fail "rerun: $c2 cached + $n2 simulated != $u2"
"$A" calibrate "${short[@]}" --cache killed --merge --out k.json --quiet || fail "merge exited $?"
cmp -s one.json k.json || fail "calib.json after a killed shard differs"
echo "ok   a killed shard loses only its in-flight points ($done_before cached before the kill)"

expect_input_error() {
    local name=$1 want=$2
    shift 2
    rm -f bad.json
    "$@" --out bad.json >out.txt 2>err.txt
    local rc=$? before=$fails
    [ "$rc" -eq 2 ] || fail "$name: exit code $rc, want 2"
    [ "$(wc -l <err.txt)" -eq 1 ] || fail "$name: stderr is not one line: $(cat err.txt)"
    grep -q -- "$want" err.txt || fail "$name: stderr lacks '$want': $(cat err.txt)"
    [ -e bad.json ] && fail "$name: wrote an output file"
    [ "$fails" -eq "$before" ] && echo "ok   $name: $(cat err.txt)"
}
expect_input_error "shard index too large" "--shard: expected I/N" \
    "$A" calibrate "${short[@]}" --cache c --shard 3/2
expect_input_error "shard not I/N" "--shard: expected I/N" \
    "$A" calibrate "${short[@]}" --cache c --shard 1
expect_input_error "shard without a cache" "--cache" \
    "$A" calibrate "${short[@]}" --cache none --shard 0/2
expect_input_error "merge with points missing" "--merge: .* points are not in the cache" \
    "$A" calibrate "${short[@]}" --cache empty-cache --merge
"$A" calibrate "${short[@]}" --cache c --shard 0/2 --merge >out.txt 2>err.txt
[ $? -ne 0 ] && grep -q -- '--merge\|--shard' err.txt && echo "ok   --shard with --merge refused" \
    || fail "--shard with --merge: $(cat err.txt)"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all shard CLI checks passed"
