#!/usr/bin/env bash
# Usage: distributed_cli_test.sh ACTSPARSE
#
# Data-parallel training over torch c10d (Gloo, CPU), docs/scaling.md:
#   1. 2 ranks at batch B train the same weights as 1 rank at batch 2B (the same data-parallel
#      path with one rank: --world-size 1 --rendezvous): after one step within 5e-5, after
#      two within 2e-3 (the float noise of a different reduction order grows step by step;
#      the same run on 1 vs 2 threads differs by as much, docs/scaling.md);
#   2. rank 0 alone writes the run (log.jsonl counts the global batch);
#   3. SIGINT to one rank stops both at the same step, rank 0 checkpoints, and a resume of
#      both ranks ends with the weights of an uninterrupted run, byte for byte;
#   4. when a rank dies (SIGKILL), the other exits 1 with one clear line, well before its
#      --dist-timeout;
#   5. bad input: exit 2 and one line (rank not below the world size, no rendezvous, a
#      malformed or unreachable rendezvous).
# Needs Fashion-MNIST (dataset-fashion-mnist) and python3 (no modules).
set -u
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -x "$A" ] || { echo "FAIL: $1 is not an executable"; exit 1; }
command -v python3 >/dev/null || { echo "skipped: no python3"; exit 77; }
[ -d /usr/share/datasets/fashion-mnist ] || { echo "skipped: no Fashion-MNIST"; exit 77; }
work=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
export OMP_WAIT_POLICY=passive OMP_NUM_THREADS=1

common=(train --net squeezenet-fmnist --width 0.25 --limit-eval-batches 1 --no-progress
        --threads 1 --seed 3)

# Largest absolute difference between the F32 tensors of two safetensors files.
maxdiff() {
    python3 - "$1" "$2" <<'EOF'
import json, struct, sys
def load(p):
    b = open(p, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == '__metadata__' or v['dtype'] != 'F32':
            continue
        s, e = v['data_offsets']
        out[k] = struct.unpack('<%df' % ((e - s) // 4), b[8 + n + s:8 + n + e])
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
if a.keys() != b.keys():
    print('inf'); sys.exit()
print(max((abs(x - y) for k in a for x, y in zip(a[k], b[k])), default=0.0))
EOF
}
le() { python3 -c "import sys; sys.exit(0 if float('$1') <= float('$2') else 1)"; }

# Runs ranks 1 and 0 of "${common[@]}" "$@" into OUT with the file store STORE; prints the
# two exit codes (rank 0's first).
two_ranks() {
    local store=$1 out=$2
    shift 2
    "$A" "${common[@]}" "$@" --out "$out" --world-size 2 --rank 1 \
        --rendezvous "file://$store" >"$out.r1.log" 2>&1 &
    local p1=$!
    "$A" "${common[@]}" "$@" --out "$out" --world-size 2 --rank 0 \
        --rendezvous "file://$store" >"$out.r0.log" 2>&1
    local rc0=$?
    wait "$p1"
    local rc1=$?
    echo "$rc0 $rc1"
}

# --- 1, 2: equivalence ---------------------------------------------------------------------
for k in 1 2; do
    "$A" "${common[@]}" --epochs 1 --limit-batches $k --batch-size 32 --out one$k \
        --world-size 1 --rendezvous "file://$work/s1_$k" >one$k.log 2>&1 ||
        fail "1 rank, $k steps: $(cat one$k.log)"
    rcs=$(two_ranks "$work/s2_$k" two$k --epochs 1 --limit-batches $k --batch-size 16)
    [ "$rcs" = "0 0" ] || fail "2 ranks, $k steps: exit codes $rcs: $(cat two$k.r0.log two$k.r1.log)"
    if [ ! -f two$k/model.safetensors ] || [ ! -f one$k/model.safetensors ]; then
        fail "no weights after $k steps"
        continue
    fi
    d=$(maxdiff one$k/model.safetensors two$k/model.safetensors)
    tol=$([ $k = 1 ] && echo 5e-5 || echo 2e-3)
    le "$d" "$tol" || fail "$k steps: 2 ranks at 16 vs 1 rank at 32 differ by $d (> $tol)"
    echo "$k step(s): max |w(2 ranks x 16) - w(1 rank x 32)| = $d (tolerance $tol)"
done
grep -Eq '"images": ?32(\.0)?[,}]' two1/log.jsonl ||
    fail "log.jsonl does not count the global batch of 32"
grep -q "rank 1 done" two1.r1.log || fail "rank 1's message: $(cat two1.r1.log)"
[ "$(ls two1 | tr '\n' ' ')" = "$(ls one1 | tr '\n' ' ')" ] ||
    fail "the 2-rank run folder differs from the 1-rank one: $(ls two1) / $(ls one1)"

# --- 3: SIGINT to one rank, resume -----------------------------------------------------------
long=(--limit-batches 40 --batch-size 16 --epochs 2)
rcs=$(two_ranks "$work/s_ref" ref "${long[@]}")
[ "$rcs" = "0 0" ] || fail "uninterrupted 2-rank run: $rcs"
"$A" "${common[@]}" "${long[@]}" --out int --world-size 2 --rank 1 \
    --rendezvous "file://$work/s_int" >int.r1.log 2>&1 &
p1=$!
pids+=("$p1")
"$A" "${common[@]}" "${long[@]}" --out int --world-size 2 --rank 0 \
    --rendezvous "file://$work/s_int" >int.r0.log 2>&1 &
p0=$!
pids+=("$p0")
for _ in $(seq 300); do  # interrupt rank 1 once the first epoch has been logged
    [ -s int/log.jsonl ] && break
    sleep 0.1
done
kill -INT "$p1"
wait "$p0"
rc0=$?
wait "$p1"
rc1=$?
[ "$rc0" = 130 ] && [ "$rc1" = 130 ] || fail "SIGINT to rank 1: exit codes $rc0 $rc1 (want 130 130)"
grep -q "interrupted by another rank" int.r0.log || fail "rank 0's message: $(cat int.r0.log)"
[ -f int/checkpoint.pt ] || fail "no checkpoint after the interrupt"
rcs=$(two_ranks "$work/s_res" int "${long[@]}" --resume)
[ "$rcs" = "0 0" ] || fail "resume: exit codes $rcs: $(cat int.r0.log int.r1.log)"
if [ -f int/model.safetensors ] && [ -f ref/model.safetensors ]; then
    d=$(maxdiff ref/model.safetensors int/model.safetensors)
    [ "$d" = 0.0 ] || fail "interrupted + resumed weights differ from the uninterrupted run by $d"
else
    fail "no weights after the resume"
fi

# --- 4: a rank dies --------------------------------------------------------------------------
"$A" "${common[@]}" --dist-timeout 60 --limit-batches 100000 --batch-size 16 --out dead \
    --world-size 2 --rank 1 --rendezvous "file://$work/s_dead" >dead.r1.log 2>&1 &
p1=$!
pids+=("$p1")
start=$(date +%s)
"$A" "${common[@]}" --dist-timeout 60 --limit-batches 100000 --batch-size 16 --out dead \
    --world-size 2 --rank 0 --rendezvous "file://$work/s_dead" >dead.r0.log 2>&1 &
p0=$!
pids+=("$p0")
sleep 4
kill -9 "$p1"
wait "$p0"
rc=$?
took=$(($(date +%s) - start))
[ "$rc" = 1 ] || fail "rank 0 after rank 1 died: exit $rc (want 1): $(cat dead.r0.log)"
[ "$(wc -l <dead.r0.log)" = 1 ] || fail "rank 0's error is not one line: $(cat dead.r0.log)"
grep -q "lost contact with the other ranks" dead.r0.log || fail "message: $(cat dead.r0.log)"
[ "$took" -lt 50 ] || fail "rank 0 took $took s to notice (timeout 60 s)"
echo "rank 1 killed: rank 0 exited $rc after $took s: $(cat dead.r0.log)"

# --- 5: bad input ----------------------------------------------------------------------------
expect2() {
    local what=$1 want=$2
    shift 2
    out=$("$A" "${common[@]}" --epochs 1 --limit-batches 1 --batch-size 16 --out bad "$@" 2>&1)
    local rc=$?
    [ "$rc" = 2 ] || fail "$what: exit $rc (want 2): $out"
    [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "$what: not one line: $out"
    case $out in *"$want"*) ;; *) fail "$what: '$out' does not name $want" ;; esac
    [ ! -e bad ] || fail "$what: left a run folder"
    rm -rf bad
}
expect2 "rank 2 of 2" "--rank" --world-size 2 --rank 2 --rendezvous "file://$work/sb"
expect2 "no rendezvous" "--rendezvous" --world-size 2 --rank 0
expect2 "malformed" "--rendezvous" --world-size 2 --rank 1 --rendezvous "http://x"
expect2 "no folder" "--rendezvous" --world-size 2 --rank 1 \
    --rendezvous "file:///nonexistent/dir/s"
expect2 "unreachable" "--rendezvous" --world-size 2 --rank 1 --rendezvous "tcp://127.0.0.1:9" \
    --dist-timeout 3

[ "$fails" = 0 ] && echo "distributed: all checks passed" && exit 0
exit 1
