/* evex-needed: exit 0 if AVX-512 code needs the emulator on this machine
 * (CPU without AVX512F, or OS without opmask/ZMM state in XCR0), 1 if the
 * CPU and OS run AVX-512 natively. With -v, says which. */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    unsigned a, b, c, d, lo = 0, hi = 0;
    int f = 0, os = 0;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) f = (b >> 16) & 1;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27))) {
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        os = (lo & 0xe6) == 0xe6;
    }
    int native = f && os;
    if (argc > 1 && !strcmp(argv[1], "-v"))
        printf("AVX512F cpu=%d os(XCR0=0x%x)=%d -> %s\n", f, lo, os, native ? "native, no emulator" : "emulator needed");
    return native ? 1 : 0;
}
