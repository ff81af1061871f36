#!/usr/bin/env bash
# Usage: kill_resume_test.sh calibrate|train ACTSPARSE [KILLS]
#
# Crash safety of the durable writers (core::write_file_atomic, the checkpoint and the
# calibration point cache): runs `actsparse calibrate` or `actsparse train` on a tiny job,
# SIGKILLs its whole process group (forked calibration workers included) KILLS times
# (default 20) at random moments spread over a complete run, and after every kill checks
#   - that no file under the job's final names is truncated or half-written: every cache
#     entry and JSON file parses, checkpoint.pt is a zip archive whose CRCs all match,
#     model.safetensors has its full header and data, log.jsonl has at most a torn last line
#     (the log is appended, by design; a resume trims it), calib.json if present is the
#     complete reference document;
#   - that a resume (the same command again; train with --resume) completes with exit 0 and
#     ends with the same result as an uninterrupted run: calib.json byte-identical, the
#     trained weights (model.safetensors' tensors) byte-identical (CPU, fixed thread count).
# Stale temporary files of killed processes are counted and printed, not failed on.
# KILL_SEED=N reproduces a sequence of kill moments. Needs python3 (Debian's; no modules).
set -u
mode=${1:?mode: calibrate or train}
A=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
kills=${3:-20}
[ -x "$A" ] || { echo "FAIL: $2 is not an executable"; exit 1; }
command -v python3 >/dev/null || { echo "skipped: no python3"; exit 77; }
seed=${KILL_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$seed
echo "KILL_SEED=$seed"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
set -m  # every background job is a process group of its own: kill -- -PGID reaches workers

case $mode in
calibrate)
    # shellcheck disable=SC2054  # the commas are the --densities list
    job=(calibrate --net squeezenet-cifar --densities 0.2,1 --seeds 1 --patterns uniform
         --validate-densities 0.5 --validate-patterns uniform --jobs 2 --report none --quiet)
    run_job() { "$A" "${job[@]}" --cache "$1/cache" --out "$1/calib.json"; }
    resume_job() { run_job "$1"; }
    ;;
train)
    mkdir data
    # A Fashion-MNIST-shaped folder (28x28 IDX, gzipped): 160 training and 32 test images
    # whose label is a bright bar's row, as tests/trainer/test_util.h writes it.
    python3 - data <<'PY' || exit 1
import gzip, struct, sys
d = sys.argv[1]
def write(prefix, n, salt):
    img = bytearray(struct.pack(">IIII", 0x803, n, 28, 28))
    lab = bytearray(struct.pack(">II", 0x801, n))
    for i in range(n):
        label = (i * 7 + salt) % 10
        lab.append(label)
        for p in range(28 * 28):
            bar = (p // 28) // 2 == label + 2
            img.append(200 + (p + i) % 50 if bar else (p * 13 + i * 7) % 60)
    with gzip.open(f"{d}/{prefix}-images-idx3-ubyte.gz", "wb") as f: f.write(img)
    with gzip.open(f"{d}/{prefix}-labels-idx1-ubyte.gz", "wb") as f: f.write(lab)
write("train", 160, 0)
write("t10k", 32, 3)
PY
    # Five epochs of 8 batches (most kills land after the first checkpoint), a mid-epoch
    # checkpoint every ~30 ms of wall time.
    job=(train --net squeezenet-fmnist --width 0.125 --data "$work/data" --epochs 5
         --batch-size 16 --limit-batches 8 --limit-eval-batches 1 --val-fraction 0.2
         --threads 1 --seed 3 --checkpoint-minutes 0.0005 --no-progress)
    run_job() { "$A" "${job[@]}" --out "$1/run"; }
    resume_job() { "$A" "${job[@]}" --out "$1/run" --resume; }
    ;;
*)
    echo "FAIL: unknown mode $mode"
    exit 1
    ;;
esac

# Checks every file under a job folder; prints "stale N" (temporary files) on success.
check_files() {
    python3 - "$1" "$mode" <<'PY'
import json, os, struct, sys, zipfile
root, mode = sys.argv[1], sys.argv[2]
bad, stale = [], 0
for dirpath, _, files in os.walk(root):
    for name in files:
        p = os.path.join(dirpath, name)
        if ".tmp." in name:
            stale += 1
            continue
        try:
            if name.endswith(".json"):
                j = json.load(open(p))
                if "/cache/" in p and not ("key" in j and "result" in j):
                    bad.append(p + ": cache entry without key/result")
            elif name == "log.jsonl":
                lines = open(p).read().split("\n")
                torn = lines[-1] != ""  # a complete log ends with a newline
                for line in lines[:-1]:
                    json.loads(line)
                if torn:
                    try:
                        json.loads(lines[-1])
                    except ValueError:
                        pass  # the torn last line a resume trims
            elif name.endswith(".pt"):
                with zipfile.ZipFile(p) as z:
                    if z.testzip() is not None:
                        bad.append(p + ": CRC mismatch")
            elif name.endswith(".safetensors"):
                blob = open(p, "rb").read()
                (n,) = struct.unpack("<Q", blob[:8])
                h = json.loads(blob[8:8 + n])
                end = max(v["data_offsets"][1] for k, v in h.items() if k != "__metadata__")
                if len(blob) != 8 + n + end:
                    bad.append(f"{p}: {len(blob)} bytes, header says {8 + n + end}")
        except Exception as e:  # noqa: BLE001 - any failure to read is the finding
            bad.append(f"{p}: {type(e).__name__}: {e}")
for b in bad:
    print("BAD", b)
print("stale", stale)
sys.exit(1 if bad else 0)
PY
}

result_of() { if [ "$mode" = calibrate ]; then echo "$1/calib.json"; else echo "$1/run/model.safetensors"; fi; }

# Same result: calib.json byte for byte; for train the weights (every tensor's name, dtype,
# shape and bytes; the metadata holds the wall time spent training, which differs).
same_result() {
    [ -e "$2" ] || return 1
    if [ "$mode" = calibrate ]; then
        cmp -s "$1" "$2"
        return
    fi
    python3 - "$1" "$2" <<'PY'
import json, struct, sys
def tensors(p):
    blob = open(p, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    h = json.loads(blob[8:8 + n])
    h.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], blob[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for k, v in h.items()}
sys.exit(0 if tensors(sys.argv[1]) == tensors(sys.argv[2]) else 1)
PY
}

# The reference: one uninterrupted run, timed (the kills are spread over its duration).
mkdir ref
t0=$(date +%s%N)
run_job ref >ref.out 2>ref.err || { echo "FAIL: the reference run exited $?"; tail -5 ref.err; exit 1; }
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ref=$(result_of ref)
[ -s "$ref" ] || { echo "FAIL: the reference run wrote no $ref"; exit 1; }
check_files ref >/dev/null || fail "the reference run's files do not check"
echo "reference run: ${ms} ms"

killed=0 stale_total=0 from_state=0
for ((i = 1; i <= kills; i++)); do
    d=k$i
    mkdir "$d"
    # Uniform over [0, 1.1 x the reference time): some kills hit the start-up, some the
    # end (the final writes), a few hit nothing.
    delay_ms=$(( RANDOM * (ms * 11 / 10 + 1) / 32768 ))
    run_job "$d" >"$d.out" 2>"$d.err" &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    [ "$rc" -eq 137 ] && killed=$((killed + 1))  # else it had finished (rc 0) first
    if ! out=$(check_files "$d"); then
        fail "kill $i at ${delay_ms} ms left broken files:"
        echo "$out"
    fi
    if [ -e "$(result_of "$d")" ] && [ "$mode" = calibrate ] && ! cmp -s "$ref" "$(result_of "$d")"; then
        fail "kill $i at ${delay_ms} ms: calib.json exists but differs from the reference"
    fi
    # What the resume starts from: a checkpoint (train) or cached points (calibrate).
    if [ "$mode" = train ]; then
        [ -f "$d/run/checkpoint.pt" ] && from_state=$((from_state + 1))
    else
        [ -n "$(find "$d/cache" -name '*.json' ! -name '*.tmp.*' 2>/dev/null | head -1)" ] &&
            from_state=$((from_state + 1))
    fi
    resume_job "$d" >"$d.resume.out" 2>"$d.resume.err"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "kill $i at ${delay_ms} ms: the resume exited $rc: $(tail -2 "$d.resume.err")"
    elif ! same_result "$ref" "$(result_of "$d")"; then
        fail "kill $i at ${delay_ms} ms: the resumed result differs from the reference"
    fi
    out=$(check_files "$d") || { fail "kill $i: broken files after the resume:"; echo "$out"; }
    stale=$(echo "$out" | sed -n 's/^stale //p')
    stale_total=$((stale_total + ${stale:-0}))
    echo "kill $i at ${delay_ms} ms: resumed ok (${stale:-0} stale temporary files)"
    rm -rf "$d" "$d".*
done
echo "$mode: $killed of $kills kills ended a running job (the others came after its end)," \
    "$from_state resumes started from saved state (checkpoint or cached points)," \
    "$stale_total stale temporary files"
if [ "$fails" -gt 0 ]; then
    echo "FAIL: $fails checks failed (KILL_SEED=$seed)"
    exit 1
fi
echo "$mode kill/resume: OK"
