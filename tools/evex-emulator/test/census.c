/* census: static coverage check of the emulator against a binary's instructions.
 * Input (stdin): lines "HEXBYTES<TAB>module<TAB>objdump text" (see census.sh).
 * For each instruction: decode it (length must equal objdump's), then dry-run
 * the executor on a dummy CPU whose GPRs are 0 (memory accesses fault and are
 * caught: reaching memory means the form is implemented). Reports decode
 * length mismatches and forms the executor rejects. */
#define _GNU_SOURCE
#include "../src/evex_emu.h"
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sigjmp_buf jb;
static void on_segv(int s) { siglongjmp(jb, 1); }

int main(int argc, char **argv)
{
    char line[4096];
    int total = 0, badlen = 0, unimpl = 0, faulted = 0;
    static uint8_t xs[4096] __attribute__((aligned(64)));
    signal(SIGSEGV, on_segv);
    signal(SIGBUS, on_segv);
    while (fgets(line, sizeof line, stdin)) {
        char *hex = strtok(line, "\t"), *mod = strtok(0, "\t"), *txt = strtok(0, "\n");
        if (!hex || !mod) continue;
        uint8_t code[32] = {0};
        int n = 0;
        for (char *p = hex; p[0] && p[1] && n < 16; p += 2) { unsigned v; sscanf(p, "%2x", &v); code[n++] = v; }
        total++;
        struct insn I;
        if (evex_decode(code, &I) || I.len != n) {
            badlen++;
            printf("DECODE %s len=%d (objdump %d) %s: %s\n", mod, evex_decode(code, &I) ? -1 : I.len, n, hex, txt ? txt : "");
            continue;
        }
        uint64_t g[16] = {0}, fl = 0x202;
        memset(xs, 0, sizeof xs);
        *(uint32_t *)(xs + 24) = 0x1f80;
        *(uint64_t *)(xs + 512) = 7;
        struct cpu c = {.rflags = &fl, .rip = 0x1000, .xsave = xs};
        for (int i = 0; i < 16; i++) c.gpr[i] = &g[i];
        memset(evex_emu_tls(), 0, sizeof(struct evex_tls));
        evex_emu_tls()->k[1] = evex_emu_tls()->k[2] = 0x5555; /* gathers need a mask */
        if (sigsetjmp(jb, 1)) {
            unsigned m = 0x1f80;
            __asm__ volatile("ldmxcsr %0" : : "m"(m));
            faulted++;
            continue;
        }
        if (evex_exec(&c, &I)) {
            unimpl++;
            printf("UNIMPL %s %s: %s [%s]\n", mod, hex, txt ? txt : "", evex_err ? evex_err : "?");
        }
    }
    printf("census: %d instructions, %d decode mismatches, %d not implemented, %d reached memory\n", total, badlen, unimpl, faulted);
    return (badlen || unimpl) ? 1 : 0;
}
