#!/bin/sh
# build.sh [OUTDIR]: build libevex-emu.so, evex-needed, evex-stats (and copy
# evex-run) into OUTDIR (default ./build). Needs only gcc (Debian 12: gcc 12).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build}
mkdir -p "$out"
CC=${CC:-gcc}
CFLAGS="-O2 -g -Wall -Wextra -Wno-unused-parameter -fno-strict-aliasing -frounding-math -fsignaling-nans -fno-tree-vectorize -ftls-model=initial-exec -mno-avx -mno-avx512f"
src=$here/src
$CC $CFLAGS -fPIC -shared -o "$out/libevex-emu.so" "$src/evex_emu.c" "$src/native_scan.c" "$src/evex_rt.c" "$src/tramp.S" \
    -Wl,-z,now -Wl,--version-script="$src/exports.map" -ldl -lm -lpthread
$CC -O2 -Wall -o "$out/evex-needed" "$src/evex_needed.c"
$CC -O2 -Wall -o "$out/evex-stats" "$src/evex_stats_tool.c"
cp "$here/evex-run" "$out/evex-run"
echo "built $out/libevex-emu.so $out/evex-needed $out/evex-stats $out/evex-run"
