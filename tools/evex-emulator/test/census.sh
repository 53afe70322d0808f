#!/bin/sh
# census.sh BUILDDIR ELF...: disassemble the given binaries (e.g. an AVX-512
# Asterisk: sbin/asterisk and lib/asterisk/modules/*.so) with objdump and check
# that every EVEX / VEX-opmask instruction in them decodes to the length
# objdump finds and is accepted by the emulator (dry run, see census.c).
set -eu
out=$1; shift
for f in "$@"; do objdump -d "$f"; done | awk '
function flush() { if (pend) { gsub(/ /, "", bytes); print bytes "\t" mod "\t" txt; pend = 0 } }
BEGIN { FS = "\t" }
/file format/ { flush(); mod = $0; sub(/:.*/, "", mod); n = split(mod, parts, "/"); mod = parts[n]; next }
NF == 2 && $1 ~ /^ *[0-9a-f]+:$/ { if (pend) bytes = bytes " " $2; next }
NF >= 3 && $1 ~ /^ *[0-9a-f]+:$/ {
    flush()
    n = split($2, b, " "); i = 1
    while (i <= n && b[i] ~ /^(26|2e|36|3e|64|65|67)$/) i++
    if (i > n) next
    split($3, w, " ")
    if (b[i] == "62" || ((b[i] == "c4" || b[i] == "c5") && w[1] ~ /^k/)) { pend = 1; bytes = $2; txt = $3 }
    next
}
{ flush() }
END { flush() }' | "$out/census"
