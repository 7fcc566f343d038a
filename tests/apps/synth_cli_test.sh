#!/usr/bin/env bash
# Command-line tests of `morphfit synth`: usage: synth_cli_test.sh MORPHFIT_BINARY CASE README
# Exit 0 = pass, 77 = skipped (ctest SKIP_RETURN_CODE), anything else = failure.
set -u
bin=$1
case_name=$2
readme=${3:-}
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

case "$case_name" in
  synth_help)
    "$bin" --help >"$tmp/out" 2>&1 || fail "morphfit --help exited $?"
    expect_in "  synth" "$tmp/out"
    "$bin" synth --help >"$tmp/help" 2>&1 || fail "morphfit synth --help exited $?"
    for f in --model --count --output_dir --size --from_fits --seed --shard --device --specular \
             --backgrounds --camera --augment --samples_per_shard --compression_level --preview \
             --preview_count --threads; do
      expect_in "$f " "$tmp/help"
    done
    ;;
  synth_run)
    out="$tmp/set"
    "$bin" synth --model sample --count 5 --samples_per_shard 2 --size 48 --specular \
      --output_dir "$out" --preview "$tmp/sheet.png" --threads 2 >"$tmp/out" 2>&1 ||
      { cat "$tmp/out"; fail "synth exited $?"; }
    for f in synth.json shard_00000_of_00003.h5 shard_00001_of_00003.h5 shard_00002_of_00003.h5; do
      [ -s "$out/$f" ] || { ls -la "$out"; fail "synth did not write $f"; }
    done
    [ -s "$tmp/sheet.png" ] || fail "no contact sheet"
    "$bin" synth --model sample --count 2 --size 32 --preview "$tmp/previews/" >"$tmp/outp" 2>&1 ||
      { cat "$tmp/outp"; fail "synth --preview DIR/ exited $?"; }
    [ -s "$tmp/previews/synth_preview.png" ] || fail "no contact sheet in the --preview folder"
    "$bin" synth --model sample --count 2 --size 32 --output_dir "$tmp/new_set" \
      --preview "$tmp/new_set/sheet.png" >"$tmp/outq" 2>&1 ||
      { cat "$tmp/outq"; fail "synth --preview inside a new --output_dir exited $?"; }
    [ -s "$tmp/new_set/sheet.png" ] || fail "no contact sheet inside the new --output_dir"
    expect_in "3 written" "$tmp/out"
    expect_in '"format": "morphfit.synth_set"' "$out/synth.json"
    ls "$out" | grep -q '\.tmp' && fail "temporary files left behind"
    # Resume: a deleted shard is regenerated, the others are kept.
    cp "$out/shard_00000_of_00003.h5" "$tmp/first.h5"
    rm "$out/shard_00001_of_00003.h5"
    "$bin" synth --model sample --count 5 --samples_per_shard 2 --size 48 --specular \
      --output_dir "$out" --threads 1 >"$tmp/out2" 2>&1 || { cat "$tmp/out2"; fail "resume exited $?"; }
    expect_in "1 written, 2 already present" "$tmp/out2"
    cmp -s "$out/shard_00000_of_00003.h5" "$tmp/first.h5" || fail "a present shard was rewritten"
    # Job-array sharding writes the same files.
    for k in 0 1; do
      "$bin" synth --model sample --count 5 --samples_per_shard 2 --size 48 --specular \
        --output_dir "$tmp/parts" --shard $k/2 --threads 1 >"$tmp/out3" 2>&1 ||
        { cat "$tmp/out3"; fail "--shard $k/2 exited $?"; }
    done
    for s in 0 1 2; do
      f=shard_0000${s}_of_00003.h5
      cmp -s "$out/$f" "$tmp/parts/$f" || fail "$f differs between sharded and whole runs"
    done
    # Another seed in the same folder is refused.
    "$bin" synth --model sample --count 5 --samples_per_shard 2 --size 48 --specular --seed 3 \
      --output_dir "$out" >"$tmp/out4" 2>&1 && fail "a different set in the same folder must fail"
    expect_in "holds a different synthetic set" "$tmp/out4"
    ;;
  synth_errors)
    "$bin" synth --model sample --count 0 --output_dir "$tmp/a" >"$tmp/o1" 2>&1 && fail "--count 0 must fail"
    expect_in "\-\-count must be a positive" "$tmp/o1"
    "$bin" synth --model "$tmp/missing.h5" --count 2 --output_dir "$tmp/b" >"$tmp/o2" 2>&1 &&
      fail "a missing model must fail"
    expect_in "missing.h5" "$tmp/o2"
    echo "not hdf5" >"$tmp/fits.h5"
    "$bin" synth --model sample --count 2 --from_fits "$tmp/fits.h5" --output_dir "$tmp/c" \
      >"$tmp/o3" 2>&1 && fail "a bad --from_fits must fail"
    expect_in "fits.h5" "$tmp/o3"
    "$bin" synth --model sample --count 2 --from_fits "$tmp/nope.h5" --output_dir "$tmp/c" \
      >"$tmp/o3b" 2>&1 && fail "a missing --from_fits must fail"
    expect_in "nope.h5" "$tmp/o3b"
    # --device cuda without CUDA in the build or without a usable device: the reason, and
    # nothing written (no folder, manifest, shard or preview). Where a device is usable it runs.
    if "$bin" synth --model sample --count 2 --size 32 --device cuda --output_dir "$tmp/d" \
         --preview "$tmp/d_preview.png" >"$tmp/o4" 2>&1; then
      [ -s "$tmp/d/shard_00000_of_00001.h5" ] || fail "--device cuda succeeded without a shard"
    else
      expect_in "\-\-device cuda: " "$tmp/o4"
      expect_in "use \-\-device cpu" "$tmp/o4"
      [ -e "$tmp/d" ] && fail "--device cuda wrote into --output_dir before failing"
      [ -e "$tmp/d_preview.png" ] && fail "--device cuda wrote a preview before failing"
    fi
    "$bin" synth --model sample --count 2 --device gpu --output_dir "$tmp/d2" >"$tmp/o4b" 2>&1 &&
      fail "--device gpu must fail"
    expect_in "\-\-device must be cpu or cuda, got 'gpu'" "$tmp/o4b"
    "$bin" synth --model sample --count 2 --shard 2/2 --output_dir "$tmp/e" >"$tmp/o5" 2>&1 &&
      fail "--shard 2/2 must fail"
    expect_in "\-\-shard" "$tmp/o5"
    "$bin" synth --model sample --count 2 --backgrounds "$tmp/nodir" --output_dir "$tmp/f" \
      >"$tmp/o6" 2>&1 && fail "a missing --backgrounds folder must fail"
    expect_in "nodir" "$tmp/o6"
    "$bin" synth --model sample --count 2 >"$tmp/o7" 2>&1 && fail "no --output_dir must fail"
    expect_in "\-\-output_dir is required" "$tmp/o7"
    [ -e "$tmp/a" ] && fail "a failed run must not create its output folder"
    ;;
  synth_python)
    python3 -c "import h5py, numpy" >/dev/null 2>&1 ||
      { echo "skipped: python3 with h5py and numpy is not importable"; exit 77; }
    [ -f "$readme" ] || fail "README not found at $readme"
    # The README's snippet, verbatim: the python block after the marker.
    awk '/<!-- synth-h5py-snippet -->/{m=1; next} m && /^```python/{p=1; next} p && /^```/{exit} p' \
      "$readme" >"$tmp/snippet.py"
    [ -s "$tmp/snippet.py" ] || fail "no h5py snippet in the README"
    (cd "$tmp" && "$bin" synth --model sample --count 2 --size 64 --output_dir synth_out \
      >"$tmp/out" 2>&1) || { cat "$tmp/out"; fail "synth exited $?"; }
    (cd "$tmp" && python3 snippet.py >"$tmp/py.out" 2>&1) || { cat "$tmp/py.out"; fail "the README snippet failed"; }
    expect_in "morphfit-sample-face" "$tmp/py.out"
    expect_in "face pixels" "$tmp/py.out"
    ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name"
