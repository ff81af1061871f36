# Sourced by CLI tests (byo_cli_test.sh, onnx_cli_test.sh): a scratch folder, removed on
# exit, becomes the working directory; fail MSG counts a failure; expect_input_error NAME
# CMD... checks exit 2, one line on stderr and no out.json / out.trace written; json_get FILE
# EXPR prints a value of a JSON file (EXPR like '["layers"][0]["name"]').
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_input_error() {
    local name=$1
    shift
    rm -f out.json out.trace
    "$@" >out.txt 2>err.txt
    local rc=$? before=$fails
    [ "$rc" -eq 2 ] || fail "$name: exit code $rc, want 2"
    [ "$(wc -l <err.txt)" -eq 1 ] || fail "$name: stderr is not one line: $(cat err.txt)"
    [ -e out.json ] || [ -e out.trace ] && fail "$name: partial output written"
    [ "$fails" -eq "$before" ] && echo "ok   $name: $(cat err.txt)"
}
json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d" + sys.argv[2]))' "$1" "$2"; }
