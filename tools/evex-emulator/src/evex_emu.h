/* evex-emu: software emulation of AVX-512 (EVEX) and opmask (VEX k*) instructions.
 * Shared definitions between the decoder/executor (evex_emu.c), the runtime
 * (evex_rt.c: SIGILL handler, trampolines, stats) and the unit test. */
#ifndef EVEX_EMU_H
#define EVEX_EMU_H
#include <stdint.h>

typedef union {
    uint8_t b[64]; int8_t sb[64];
    uint16_t w[32]; int16_t sw[32];
    uint32_t d[16]; int32_t sd[16];
    uint64_t q[8]; int64_t sq[8];
    float f[16]; double g[8];
} vec_t;

/* Per-thread virtual register state (initial-exec TLS). */
struct evex_tls {
    uint8_t zhi[16][32];    /* bits 511:256 of zmm0-15 */
    uint8_t shadow[16][32]; /* bits 255:0 of zmm0-15 as the emulator last wrote them */
    uint32_t hi_valid;      /* bit n: zhi[n] is live (nonzero) and guarded by shadow[n] */
    uint32_t pad;
    uint8_t z16[16][64];    /* zmm16-31 */
    uint64_t k[8];          /* k0-k7 */
    uint64_t last_end;      /* where native execution resumed after the last run (0 = unknown) */
    uint32_t may_write;     /* zmm0-15 that native code may have written since the emulator's write */
    uint32_t pad2;
    uint64_t wrip[16];      /* address of the emulator's last 512-bit write (diagnostics) */
};

/* A view of the interrupted CPU state (signal ucontext or trampoline frame). */
struct cpu {
    uint64_t *gpr[16];  /* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 (encoding order) */
    uint64_t *rflags;
    uint64_t rip;       /* address of the instruction */
    uint8_t *xsave;     /* standard-format XSAVE image: legacy region, header, AVX */
};

struct insn {
    const uint8_t *p;
    int len;
    int seg;            /* 0, 4 = fs, 5 = gs */
    int a32;            /* 0x67 */
    int kind;           /* 1 = EVEX, 2 = VEX */
    int map, pp, W, LL, z, bc, aaa;
    int vvvv;           /* 0..31 (EVEX: includes V') */
    int Vp;             /* EVEX.V' (as a positive bit) */
    int reg;            /* ModRM.reg with R, R' : 0..31 */
    int reg3;           /* raw ModRM.reg */
    int rm;             /* mod==3: ModRM.rm with B (and X for EVEX vector regs) */
    int rmg;            /* mod==3: ModRM.rm with B only (GPR / k numbering) */
    int mod;
    int opc;
    int base;           /* -1 none */
    int index;          /* -1 none (GPR form) */
    int vindex;         /* VSIB vector index register 0..31 */
    int scale;
    int32_t disp;
    int disp8;          /* displacement is compressed disp8 */
    int riprel;
    int imm;            /* -1 if none */
    const char *name;   /* set by the executor */
};

extern __thread struct evex_tls evex_T __attribute__((tls_model("initial-exec")));
extern uint32_t evex_avx_off;
struct evex_tls *evex_emu_tls(void);   /* offset of the AVX component in the XSAVE image */

/* Decode the instruction at p. Returns 0 on success, -1 if not EVEX/VEX. */
int evex_decode(const uint8_t *p, struct insn *I);
/* Execute a decoded instruction on c. Returns 0 on success, -1 if not
 * implemented (I->name may say why). Does not advance RIP. */
int evex_exec(struct cpu *c, struct insn *I);
/* Bracket each run of emulated instructions: S = address of its first
 * instruction, E = address where native execution resumes after it.
 * in_stub(a) says whether a is inside a trampoline stub, readable(a) whether
 * code at a is still mapped (both may be NULL). Returns 1 if it analysed
 * native code. */
int evex_begin_run(uint64_t S, int (*in_stub)(uint64_t), int (*readable)(uint64_t));
void evex_end_run(uint64_t E);
void evex_scan_cache_flush(void);   /* after code was unloaded/reloaded */
#define SCAN_UNKNOWN 0x80000000u
#define SCAN_ZEROUPPER 0x10000u
uint32_t evex_native_scan(uint64_t E, uint64_t S, int (*in_stub)(uint64_t));
/* Diagnostics: called when an ambiguous upper half is treated as zeroed. */
extern void (*evex_shadow_hook)(int n, uint64_t wrip, uint64_t rrip, int kind);
/* Reason set by evex_exec for a failure. */
extern __thread const char *evex_err;

#endif
