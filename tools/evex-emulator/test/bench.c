/* bench: cost of one emulated instruction through SIGILL and through a
 * patched site (trampoline), and of a 4-instruction run. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern void b_one(void), b_run4(void);
__asm__(".text\n.p2align 4\nb_one:\n\tvpaddd %zmm17, %zmm18, %zmm19\n\tret\n"
        ".p2align 4\nb_run4:\n\tvpaddd %zmm17, %zmm18, %zmm19\n\tvpmovsxwd %ymm1, %zmm20\n\tkmovw %k1, %k2\n\tvmovdqu64 %zmm19, -0x80(%rsp)\n\tret\n");

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    double t0 = now();
    for (int i = 0; i < n; i++) b_one();
    double t1 = now();
    for (int i = 0; i < n; i++) b_run4();
    double t2 = now();
    printf("one EVEX instruction: %.2f us/call; run of 4 (EVEX, EVEX, VEX-k, EVEX): %.2f us/call\n", (t1 - t0) / n * 1e6, (t2 - t1) / n * 1e6);
    return 0;
}
