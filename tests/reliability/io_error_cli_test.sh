#!/usr/bin/env bash
# Usage: io_error_cli_test.sh ACTSPARSE
# A machine failure while writing an output is exit 1 with one line naming the file (not
# exit 2, which means bad input), and leaves neither the file nor a temporary beside it. A
# full disk is simulated with a file size limit (ulimit -f; SIGXFSZ ignored so write()
# fails with EFBIG), which works as root where permissions would not. An unusable output
# path (no such folder) stays bad input: exit 2.
set -u
A=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -x "$A" ] || { echo "FAIL: $1 is not an executable"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# shellcheck disable=SC2054  # the commas are the shape spec
synth=(trace synth --layer C=64,M=16,R=3,S=3,P=32,Q=32,pad=1 --density 0.5 --seed 1)

"$A" "${synth[@]}" --out ok.trace >/dev/null 2>err.txt || fail "plain trace synth exited $?"
[ "$(stat -c %s ok.trace)" -gt 65536 ] || fail "the trace is too small for the 64 KiB limit"

(trap '' XFSZ; ulimit -f 64; exec "$A" "${synth[@]}" --out full.trace) >out.txt 2>err.txt
rc=$?
[ "$rc" -eq 1 ] || fail "a full disk: exit code $rc, want 1 ($(cat err.txt))"
[ "$(wc -l <err.txt)" -eq 1 ] || fail "a full disk: stderr is not one line: $(cat err.txt)"
grep -q 'full.trace: cannot write: File too large' err.txt || fail "message: $(cat err.txt)"
grep -q '^actsparse: error: ' err.txt || fail "no 'actsparse: error:' prefix: $(cat err.txt)"
ls full.trace* 2>/dev/null && fail "a full disk left files behind"
echo "ok   full disk: exit $rc: $(cat err.txt)"

"$A" "${synth[@]}" --out no/such/folder/x.trace >out.txt 2>err.txt
rc=$?
[ "$rc" -eq 2 ] || fail "a missing folder: exit code $rc, want 2 ($(cat err.txt))"
grep -q '^actsparse: error: ' err.txt || fail "a missing folder: no 'actsparse: error:' prefix"
echo "ok   missing folder: exit $rc: $(cat err.txt)"
[ "$fails" -eq 0 ] || { echo "FAIL: $fails checks"; exit 1; }
echo "io errors: OK"
