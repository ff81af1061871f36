#!/usr/bin/env bash
# `train --dataset cifar10` on an ImageFolder archive through the CLI: trains a few steps,
# caches the decoded images in --data-cache, and trace export reads the same archive; an
# image of the wrong size is exit 2 with one line naming the archive member and no run folder.
A=$1
SRC=$2
command -v python3 >/dev/null || exit 77
# shellcheck source=tests/cli/cli_lib.sh
. "$SRC/tests/cli/cli_lib.sh"
export OMP_WAIT_POLICY=passive

python3 "$SRC/tests/cli/make_image_folder.py" good.tar.gz 12 2 || fail "make good.tar.gz"
TRAIN=(train --net squeezenet-cifar --width 0.125 --dataset cifar10 --epochs 1 --limit-batches 1
       --limit-eval-batches 1 --batch-size 16 --threads 2)
"$A" "${TRAIN[@]}" --data good.tar.gz --data-cache dc --out run >run.txt 2>run.err ||
    fail "train on an archive: exit $?: $(tail -3 run.err)"
[ -f run/summary.json ] || fail "no summary.json"
compgen -G "dc/images-*.bin" >/dev/null || fail "--data-cache dc holds no cache file: $(ls dc 2>&1)"
rm -rf dc  # the run records --data-cache dc: export decodes the archive again into it
"$A" trace export --run run --images 2 --out tr >/dev/null 2>tr.err ||
    fail "trace export from the archive: exit $?: $(cat tr.err)"
grep -q "decoded" tr.err || fail "trace export did not decode the archive: $(cat tr.err)"
compgen -G "dc/images-*.bin" >/dev/null || fail "trace export did not use the run's --data-cache"
[ -f tr/manifest.json ] || fail "no exported traces"
[ "$fails" -eq 0 ] && echo "ok   train and trace export on an ImageFolder archive, --data-cache"

python3 "$SRC/tests/cli/make_image_folder.py" small.tar.gz 2 1 28 || fail "make small.tar.gz"
"$A" "${TRAIN[@]}" --data small.tar.gz --data-cache none --out bad >out.txt 2>err.txt
rc=$?
[ "$rc" -eq 2 ] || fail "28x28 images: exit $rc, want 2"
[ "$(wc -l <err.txt)" -eq 1 ] || fail "28x28 images: stderr is not one line: $(cat err.txt)"
grep -q "small.tar.gz: cifar10/train/[a-z]*/000[01].png" err.txt ||
    fail "the error does not name the member: $(cat err.txt)"
[ -e bad ] && fail "a run folder was written"
[ "$fails" -eq 0 ] && echo "ok   a bad image: $(cat err.txt)"
exit $((fails > 0))
