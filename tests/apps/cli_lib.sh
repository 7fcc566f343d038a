# Shared by the command-line test scripts (sourced): a scratch folder removed on exit, and the
# two checks every case uses. Exit 0 = pass, 77 = skipped (ctest SKIP_RETURN_CODE), else failure.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_in() { grep -q -- "$1" "$2" || { echo "--- $2:"; cat "$2"; fail "expected '$1' in $2"; }; }
