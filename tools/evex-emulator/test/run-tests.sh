#!/bin/sh
# run-tests.sh [BUILDDIR]: build the emulator and its tests, then run
#  1. the unit tests through SIGILL only (EVEX_EMU_PATCH=0),
#  2. the unit tests through patched sites/trampolines (patch after 2 hits),
#  3. if EVEX_CENSUS_DIR names an unpacked AVX-512 Asterisk, the static census
#     of every EVEX/VEX-opmask instruction in its binaries (census.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../build}
"$here/../build.sh" "$out" >/dev/null
mkdir -p "$out"
out=$(cd "$out" && pwd)
gcc -O1 -g -Wall -Wno-unused-function -frounding-math -fno-strict-aliasing -mno-avx512f -o "$out/test_evex" \
    "$here/test_evex.c" "$here/harness.S" -L"$out" -levex-emu -Wl,-rpath,"$out" -lm
gcc -O1 -g -frounding-math -fno-strict-aliasing -o "$out/census" "$here/census.c" "$here/../src/evex_emu.c" "$here/../src/native_scan.c" -lm
gcc -O2 -o "$out/bench" "$here/bench.c"
if ! "$out/evex-needed"; then echo "this CPU runs AVX-512 natively: emulator tests skipped"; echo "0 passed, 0 failed"; exit 0; fi
rc=0
echo "== unit tests, SIGILL path"
EVEX_EMU_PATCH=0 "$out/test_evex" 40 || rc=1
echo "== unit tests, trampoline path"
EVEX_EMU_PATCH=1 EVEX_EMU_PATCH_AFTER=2 "$out/test_evex" 40 || rc=1
echo "== cost per emulated instruction"
for p in 0 1; do printf 'EVEX_EMU_PATCH=%s: ' $p; EVEX_EMU_PATCH=$p LD_PRELOAD="$out/libevex-emu.so" "$out/bench" 100000; done
if [ -n "${EVEX_CENSUS_DIR:-}" ]; then
  echo "== census of $EVEX_CENSUS_DIR"
  d=$EVEX_CENSUS_DIR
  "$here/census.sh" "$out" "$d"/sbin/asterisk "$d"/lib/asterisk/modules/*.so "$d"/lib/*.so* | tail -20 || rc=1
fi
exit $rc
