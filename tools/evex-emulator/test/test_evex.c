/* Unit tests for libevex-emu.so.
 *
 * Each case is a tiny function holding EVEX (or VEX opmask) instructions,
 * encoded by the assembler from the mnemonic text below (some edge forms as
 * raw .byte sequences). The harness loads a random architectural state
 * (zmm0-31, k0-7, GPRs, flags, a memory buffer), executes the function
 * (which traps into the emulator, or jumps to a trampoline once patched) and
 * compares the whole resulting state with an independent reference model
 * written here from the Intel SDM definitions.
 *
 * zmm0-15 bits 255:0 are loaded into the real registers by the harness; bits
 * 511:256, zmm16-31 and k0-7 are put into (and read back from) the emulator's
 * per-thread state through evex_emu_state().
 */
#define _GNU_SOURCE
#include "../src/evex_emu.h"
#include <fenv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct evex_tls *evex_emu_state(void);
int evex_emu_active(void);

struct regs { uint8_t ymm[16][32]; uint64_t gpr[16]; uint64_t rflags; uint32_t mxcsr; uint32_t pad; };
void run_case(struct regs *r, void (*fn)(void));

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

typedef struct { vec_t z[32]; uint64_t k[8]; uint64_t g[16]; uint64_t fl; uint32_t mxcsr; } st_t;

#define MEMSZ 2048
static uint8_t *M;      /* test memory, below 2 GiB (MAP_32BIT) for addr32 tests */
#define MB (M + 512)    /* rsi points here */

/* ------------------------------------------------------------------ */
/* random state                                                          */

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }
static float rndf(void) { return (float)((int64_t)(rnd() % 2000001) - 1000000) / (float)(1 + rnd() % 1000); }
static double rndd(void) { return (double)((int64_t)(rnd() % 2000001) - 1000000) / (double)(1 + rnd() % 1000); }

static void randomize(st_t *s, uint8_t *mem)
{
    for (int i = 0; i < 32; i++) for (int j = 0; j < 8; j++) s->z[i].q[j] = rnd();
    for (int i = 0; i < 8; i++) s->k[i] = rnd();
    for (int i = 0; i < 16; i++) s->g[i] = rnd();
    s->g[RSI] = (uint64_t)MB;
    s->g[RDI] = (uint64_t)MB + 256;
    s->g[RCX] = rnd() % 8;
    s->g[RSP] = 0;
    s->fl = 0x202 | (rnd() & 0x8d5);
    s->mxcsr = 0x1f80;
    for (int i = 0; i < MEMSZ; i++) mem[i] = (uint8_t)rnd();
}

/* FP-friendly contents (finite, moderate) for all vector registers and memory */
static void prep_fps(st_t *s, uint8_t *mem)
{
    for (int i = 0; i < 32; i++) for (int j = 0; j < 16; j++) s->z[i].f[j] = rndf();
    for (int i = 0; i < MEMSZ / 4; i++) ((float *)mem)[i] = rndf();
}
static void prep_fpd(st_t *s, uint8_t *mem)
{
    for (int i = 0; i < 32; i++) for (int j = 0; j < 8; j++) s->z[i].g[j] = rndd();
    for (int i = 0; i < MEMSZ / 8; i++) ((double *)mem)[i] = rndd();
}

/* ------------------------------------------------------------------ */
/* load state / run / read back                                          */

static void exec_state(void (*fn)(void), st_t *s, uint8_t *mem_in, uint8_t *mem_out)
{
    struct evex_tls *T = evex_emu_state();
    struct regs r;
    memcpy(M, mem_in, MEMSZ);
    for (int n = 0; n < 16; n++) {
        memcpy(r.ymm[n], s->z[n].b, 32);
        memcpy(T->zhi[n], s->z[n].b + 32, 32);
        memcpy(T->shadow[n], s->z[n].b, 32);
    }
    T->hi_valid = 0xffff;
    T->may_write = 0;                 /* the state is as the emulator left it ... */
    T->last_end = (uint64_t)fn;       /* ... right at the test function's entry */
    for (int n = 16; n < 32; n++) memcpy(T->z16[n - 16], s->z[n].b, 64);
    memcpy(T->k, s->k, sizeof s->k);
    memcpy(r.gpr, s->g, sizeof r.gpr);
    r.rflags = s->fl;
    r.mxcsr = s->mxcsr;
    run_case(&r, fn);
    for (int n = 0; n < 16; n++) {
        memcpy(s->z[n].b, r.ymm[n], 32);
        if ((T->hi_valid >> n & 1) && !memcmp(T->shadow[n], r.ymm[n], 32)) memcpy(s->z[n].b + 32, T->zhi[n], 32);
        else memset(s->z[n].b + 32, 0, 32);
    }
    for (int n = 16; n < 32; n++) memcpy(s->z[n].b, T->z16[n - 16], 64);
    memcpy(s->k, T->k, sizeof s->k);
    memcpy(s->g, r.gpr, sizeof r.gpr);
    s->g[RSP] = 0;
    s->fl = r.rflags;
    s->mxcsr = r.mxcsr;
    memcpy(mem_out, M, MEMSZ);
}

/* ------------------------------------------------------------------ */
/* reference helpers                                                     */

static uint64_t GE(const vec_t *v, int es, int i)
{
    switch (es) { case 1: return v->b[i]; case 2: return v->w[i]; case 4: return v->d[i]; default: return v->q[i]; }
}
static void SE(vec_t *v, int es, int i, uint64_t x)
{
    switch (es) { case 1: v->b[i] = (uint8_t)x; break; case 2: v->w[i] = (uint16_t)x; break; case 4: v->d[i] = (uint32_t)x; break; default: v->q[i] = x; }
}
static int64_t SX(uint64_t x, int es) { switch (es) { case 1: return (int8_t)x; case 2: return (int16_t)x; case 4: return (int32_t)x; default: return (int64_t)x; } }
static uint64_t ZM(int es) { return es == 8 ? ~0ull : (1ull << (8 * es)) - 1; }
static uint64_t KM(const st_t *s, int k, int nel) { uint64_t m = k ? s->k[k] : ~0ull; return nel >= 64 ? m : m & ((1ull << nel) - 1); }

/* dst <- res on mask bits, old (merge) or 0 (z) elsewhere; bytes past nel*es cleared to bit 511 */
static void MERGE(vec_t *dst, const vec_t *old, const vec_t *res, int es, int nel, uint64_t m, int z)
{
    vec_t o = *old, r = *res;
    memset(dst, 0, 64);
    for (int i = 0; i < nel; i++) SE(dst, es, i, (m >> i & 1) ? GE(&r, es, i) : z ? 0 : GE(&o, es, i));
}
static vec_t MEMV(const uint8_t *mem, long off, int n) { vec_t v; memset(&v, 0, 64); memcpy(&v, mem + 512 + off, n); return v; }
static vec_t BCAST(const uint8_t *mem, long off, int es, int nel) { vec_t v; memset(&v, 0, 64); for (int i = 0; i < nel; i++) memcpy(v.b + i * es, mem + 512 + off, es); return v; }

/* ------------------------------------------------------------------ */
/* test case table                                                       */

typedef void (*ref_t)(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im);
typedef void (*prep_t)(st_t *s, uint8_t *mem);
struct tcase { const char *name; void (*fn)(void); ref_t ref; prep_t prep; int flagmask; };

#define TFN_(name, text) TFN(name, text)
#define TFN(name, text) extern void name(void); \
    __asm__(".pushsection .text\n.p2align 4\n.globl " #name "\n" #name ":\n\t" text "\n\tret\n.popsection\n");

/* ================== moves ================== */
TFN(t_mov1, "vmovdqu64 (%rsi), %zmm1")
static void r_mov1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->z[1] = MEMV(im, 0, 64); }
TFN(t_mov2, "vmovdqu64 %zmm17, 0x40(%rsi)")
static void r_mov2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memcpy(em + 512 + 64, in->z[17].b, 64); }
TFN(t_mov3, "vmovdqu8 %zmm18, (%rsi){%k1}")
static void r_mov3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { for (int i = 0; i < 64; i++) if (in->k[1] >> i & 1) em[512 + i] = in->z[18].b[i]; }
TFN(t_mov4, "vmovdqu8 0x3(%rsi), %ymm19{%k2}{z}")
static void r_mov4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, 3, 32); MERGE(&e->z[19], &in->z[19], &m, 1, 32, in->k[2], 1); }
TFN(t_mov5, "vmovdqu16 %zmm20, %zmm21{%k1}")
static void r_mov5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { MERGE(&e->z[21], &in->z[21], &in->z[20], 2, 32, in->k[1], 0); }
TFN(t_mov6, "vmovdqa32 (%rsi), %zmm3{%k1}{z}")
static void r_mov6(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, 0, 64); MERGE(&e->z[3], &in->z[3], &m, 4, 16, in->k[1], 1); }
TFN(t_mov7, "vmovdqa64 %zmm2, %zmm25{%k3}")
static void r_mov7(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { MERGE(&e->z[25], &in->z[25], &in->z[2], 8, 8, in->k[3], 0); }
TFN(t_mov8, "vmovups %zmm4, -0x40(%rsi,%rcx,4)")
static void r_mov8(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memcpy(em + 512 - 64 + 4 * in->g[RCX], in->z[4].b, 64); }
TFN(t_mov9, "vmovaps 0x80(%rsi), %zmm22")
static void r_mov9(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->z[22] = MEMV(im, 128, 64); }
TFN(t_mov10, "vmovdqu32 %xmm23, 0x10(%rsi){%k1}")
static void r_mov10(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { for (int i = 0; i < 4; i++) if (in->k[1] >> i & 1) memcpy(em + 512 + 16 + 4 * i, &in->z[23].d[i], 4); }
TFN(t_mov11, "vmovdqu64 t_rip_data(%rip), %zmm26\n\tret\n.p2align 6\nt_rip_data: .fill 64, 1, 0x5a\n.byte 1,2,3")
static void r_mov11(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memset(&e->z[26], 0x5a, 64); }
TFN(t_mov12, "vmovdqu16 0x40(%rsi), %zmm5{%k1}")
static void r_mov12(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, 64, 64); MERGE(&e->z[5], &in->z[5], &m, 2, 32, in->k[1], 0); }
TFN(t_mov13, "vmovaps %xmm17, %xmm1")
static void r_mov13(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = in->z[17]; memset(m.b + 16, 0, 48); e->z[1] = m; }
TFN(t_mov14, "vmovdqu64 %zmm7, %zmm30")
static void r_mov14(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->z[30] = in->z[7]; }
TFN(t_mov15, "vmovdqa64 %ymm20, (%rsi,%rcx,8){%k2}")
static void r_mov15(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { for (int i = 0; i < 4; i++) if (in->k[2] >> i & 1) memcpy(em + 512 + 8 * in->g[RCX] + 8 * i, &in->z[20].q[i], 8); }
TFN(t_mov16, "vmovups %zmm21, %zmm2{%k1}{z}")
static void r_mov16(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { MERGE(&e->z[2], &in->z[2], &in->z[21], 4, 16, in->k[1], 1); }

/* vmovd / vmovq / vmovss / vmovsd */
TFN(t_movd1, "vmovd %eax, %xmm17")
static void r_movd1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memset(&e->z[17], 0, 64); e->z[17].d[0] = (uint32_t)in->g[RAX]; }
TFN(t_movd2, "vmovd %xmm17, %edx")
static void r_movd2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->g[RDX] = in->z[17].d[0]; }
TFN(t_movd3, "vmovq %rax, %xmm18")
static void r_movd3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memset(&e->z[18], 0, 64); e->z[18].q[0] = in->g[RAX]; }
TFN(t_movd4, "vmovq %xmm18, %r9")
static void r_movd4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->g[R9] = in->z[18].q[0]; }
TFN(t_movd5, "vmovd 0x8(%rsi), %xmm19")
static void r_movd5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->z[19] = MEMV(im, 8, 4); }
TFN(t_movd6, "vmovd %xmm19, 0x8(%rsi)")
static void r_movd6(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memcpy(em + 520, in->z[19].b, 4); }
TFN(t_movd7, "vmovq %xmm20, %xmm21")
static void r_movd7(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memset(&e->z[21], 0, 64); e->z[21].q[0] = in->z[20].q[0]; }
TFN(t_movd8, "vmovq %xmm20, 0x10(%rsi)")
static void r_movd8(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memcpy(em + 528, in->z[20].b, 8); }
TFN(t_movd9, "vmovq 0x18(%rsi), %xmm22")
static void r_movd9(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->z[22] = MEMV(im, 24, 8); }
TFN(t_movd11, "vmovd %xmm29, %r12d")
static void r_movd11(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->g[R12] = in->z[29].d[0]; }
TFN(t_movss1, "vmovss 0x8(%rsi), %xmm17{%k1}")
static void r_movss1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r; memset(&r, 0, 64); r.d[0] = (in->k[1] & 1) ? *(uint32_t *)(im + 520) : in->z[17].d[0]; e->z[17] = r; }
TFN(t_movss2, "vmovss %xmm17, %xmm18, %xmm19{%k1}{z}")
static void r_movss2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[18]; memset(r.b + 16, 0, 48); r.d[0] = (in->k[1] & 1) ? in->z[17].d[0] : 0; e->z[19] = r; }
TFN(t_movss3, "vmovss %xmm18, 0x4(%rsi){%k1}")
static void r_movss3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { if (in->k[1] & 1) memcpy(em + 516, in->z[18].b, 4); }
TFN(t_movss4, "vmovsd 0x8(%rsi), %xmm20")
static void r_movss4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->z[20] = MEMV(im, 8, 8); }
TFN(t_movss5, "vmovsd %xmm20, (%rsi,%rcx,8)")
static void r_movss5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memcpy(em + 512 + 8 * in->g[RCX], in->z[20].b, 8); }
TFN(t_movss6, "vmovss 0x8(%rsi), %xmm17{%k1}{z}")
static void r_movss6(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r; memset(&r, 0, 64); r.d[0] = (in->k[1] & 1) ? *(uint32_t *)(im + 520) : 0; e->z[17] = r; }

/* ================== integer arithmetic / logic ================== */
static uint64_t op_add(uint64_t a, uint64_t b, int es) { return (a + b) & ZM(es); }
static uint64_t op_sub(uint64_t a, uint64_t b, int es) { return (a - b) & ZM(es); }
static uint64_t op_mul(uint64_t a, uint64_t b, int es) { return (a * b) & ZM(es); }
static uint64_t op_and(uint64_t a, uint64_t b, int es) { return a & b; }
static uint64_t op_or(uint64_t a, uint64_t b, int es) { return a | b; }
static uint64_t op_xor(uint64_t a, uint64_t b, int es) { return a ^ b; }
static uint64_t op_minu(uint64_t a, uint64_t b, int es) { return a < b ? a : b; }
static uint64_t op_maxs(uint64_t a, uint64_t b, int es) { return SX(a, es) > SX(b, es) ? a : b; }
static uint64_t op_srlv(uint64_t a, uint64_t b, int es) { return b >= (uint64_t)(8 * es) ? 0 : a >> b; }

/* dst = op(src1, src2): src2 register or memory [rsi+off] (optionally broadcast) */
static void bin_ref(st_t *e, const st_t *in, const uint8_t *im, uint64_t (*op)(uint64_t, uint64_t, int),
                    int es, int vlb, int dst, int s1, int s2, long off, int bc, int k, int z)
{
    int nel = vlb / es;
    vec_t b = s2 >= 0 ? in->z[s2] : bc ? BCAST(im, off, es, nel) : MEMV(im, off, vlb), r;
    memset(&r, 0, 64);
    for (int i = 0; i < nel; i++) SE(&r, es, i, op(GE(&in->z[s1], es, i), GE(&b, es, i), es));
    MERGE(&e->z[dst], &in->z[dst], &r, es, nel, KM(in, k, nel), z);
}
#define BIN(n, text, op, es, vlb, dst, s1, s2, off, bc, k, zz) TFN_(t_##n, text) \
    static void r_##n(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bin_ref(e, in, im, op, es, vlb, dst, s1, s2, off, bc, k, zz); }

BIN(add1, "vpaddd %zmm20, %zmm2, %zmm3{%k1}", op_add, 4, 64, 3, 2, 20, 0, 0, 1, 0)
BIN(add2, "vpaddd 0x40(%rsi){1to16}, %zmm17, %zmm18{%k2}{z}", op_add, 4, 64, 18, 17, -1, 0x40, 1, 2, 1)
BIN(add3, "vpaddd 0x40(%rsi), %zmm17, %zmm18", op_add, 4, 64, 18, 17, -1, 0x40, 0, 0, 0)
BIN(add4, "vpaddd %xmm1, %xmm2, %xmm17{%k1}", op_add, 4, 16, 17, 2, 1, 0, 0, 1, 0)
BIN(add5, "vpaddq %zmm1, %zmm20, %zmm21", op_add, 8, 64, 21, 20, 1, 0, 0, 0, 0)
BIN(add6, "vpaddq 0x100(%rsi), %zmm1, %zmm2", op_add, 8, 64, 2, 1, -1, 0x100, 0, 0, 0)
BIN(add7, "vpaddw %xmm1, %xmm2, %xmm3{%k1}", op_add, 2, 16, 3, 2, 1, 0, 0, 1, 0)
BIN(add8, "vpaddw %zmm30, %zmm31, %zmm0", op_add, 2, 64, 0, 31, 30, 0, 0, 0, 0)
BIN(add9, "vpaddq %xmm20, %xmm21, %xmm22", op_add, 8, 16, 22, 21, 20, 0, 0, 0, 0)
BIN(sub1, "vpsubd %zmm1, %zmm2, %zmm3", op_sub, 4, 64, 3, 2, 1, 0, 0, 0, 0)
BIN(sub2, "vpsubw %xmm1, %xmm2, %xmm3{%k1}", op_sub, 2, 16, 3, 2, 1, 0, 0, 1, 0)
BIN(sub3, "vpsubw %zmm17, %zmm18, %zmm19", op_sub, 2, 64, 19, 18, 17, 0, 0, 0, 0)
BIN(mul1, "vpmulld %zmm1, %zmm2, %zmm3{%k4}", op_mul, 4, 64, 3, 2, 1, 0, 0, 4, 0)
BIN(mul2, "vpmullq %zmm17, %zmm18, %zmm19", op_mul, 8, 64, 19, 18, 17, 0, 0, 0, 0)
BIN(min1, "vpminuq %xmm1, %xmm2, %xmm3", op_minu, 8, 16, 3, 2, 1, 0, 0, 0, 0)
BIN(min2, "vpmaxsd %zmm1, %zmm2, %zmm23{%k1}", op_maxs, 4, 64, 23, 2, 1, 0, 0, 1, 0)
BIN(and1, "vpandd (%rsi), %zmm1, %zmm2", op_and, 4, 64, 2, 1, -1, 0, 0, 0, 0)
BIN(and2, "vporq %zmm17, %zmm18, %zmm19", op_or, 8, 64, 19, 18, 17, 0, 0, 0, 0)
BIN(and3, "vpxord %xmm1, %xmm2, %xmm3", op_xor, 4, 16, 3, 2, 1, 0, 0, 0, 0)
BIN(and4, "vpxorq 0x40(%rsi), %zmm1, %zmm2", op_xor, 8, 64, 2, 1, -1, 0x40, 0, 0, 0)
BIN(and5, "vpxorq 0x8(%rsi){1to8}, %zmm1, %zmm2{%k1}", op_xor, 8, 64, 2, 1, -1, 0x8, 1, 1, 0)
BIN(and6, "vxorps %xmm17, %xmm18, %xmm19", op_xor, 4, 16, 19, 18, 17, 0, 0, 0, 0)
BIN(and7, "vxorps %zmm17, %zmm18, %zmm19", op_xor, 4, 64, 19, 18, 17, 0, 0, 0, 0)
BIN(and8, "vandps 0x10(%rsi), %xmm17, %xmm18", op_and, 4, 16, 18, 17, -1, 0x10, 0, 0, 0)
BIN(srlv, "vpsrlvd %zmm1, %zmm2, %zmm3", op_srlv, 4, 64, 3, 2, 1, 0, 0, 0, 0)

static void prep_shiftcounts(st_t *s, uint8_t *mem) { for (int j = 0; j < 16; j++) s->z[1].d[j] = rnd() % 40; }

TFN(t_abs1, "vpabsd %zmm17, %zmm18{%k1}")
static void r_abs1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; for (int i = 0; i < 16; i++) r.d[i] = in->z[17].sd[i] < 0 ? 0u - in->z[17].d[i] : in->z[17].d[i]; MERGE(&e->z[18], &in->z[18], &r, 4, 16, in->k[1], 0); }
TFN(t_abs2, "vpabsw (%rsi), %zmm2")
static void r_abs2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t m = MEMV(im, 0, 64), r; for (int i = 0; i < 32; i++) r.w[i] = m.sw[i] < 0 ? (uint16_t)-m.sw[i] : m.w[i]; e->z[2] = r; }
TFN(t_dp1, "vpdpwssd (%rsi,%rcx,1), %zmm17, %zmm18")
static void r_dp1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t m = MEMV(im, in->g[RCX], 64); for (int i = 0; i < 16; i++) e->z[18].d[i] = in->z[18].d[i] + (uint32_t)(in->z[17].sw[2*i] * m.sw[2*i]) + (uint32_t)(in->z[17].sw[2*i+1] * m.sw[2*i+1]); }

static void tern_ref(st_t *e, const st_t *in, int imm, int d, int s1, int s2, int vlb)
{
    vec_t r;
    for (int i = 0; i < vlb; i++) {
        uint8_t x = 0;
        for (int bit = 0; bit < 8; bit++) {
            int idx = ((in->z[d].b[i] >> bit & 1) << 2) | ((in->z[s1].b[i] >> bit & 1) << 1) | (in->z[s2].b[i] >> bit & 1);
            x |= ((imm >> idx) & 1) << bit;
        }
        r.b[i] = x;
    }
    MERGE(&e->z[d], &in->z[d], &r, 4, vlb / 4, ~0ull, 0);
}
TFN(t_tern1, "vpternlogd $0xca, %zmm1, %zmm2, %zmm3")
static void r_tern1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { tern_ref(e, in, 0xca, 3, 2, 1, 64); }
TFN(t_tern2, "vpternlogd $0x96, %xmm17, %xmm18, %xmm19")
static void r_tern2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { tern_ref(e, in, 0x96, 19, 18, 17, 16); }
TFN(t_tern3, "vpternlogd $0xff, %zmm3, %zmm3, %zmm3")
static void r_tern3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memset(&e->z[3], 0xff, 64); }

/* ================== shifts ================== */
static void shift_ref(st_t *e, const st_t *in, const vec_t *src, int es, int vlb, int kind, uint64_t cnt, int dst, int k, int z)
{
    int nel = vlb / es, bits = 8 * es;
    vec_t r;
    memset(&r, 0, 64);
    for (int i = 0; i < nel; i++) {
        uint64_t x = GE(src, es, i), y;
        if (kind == 0) y = cnt >= (uint64_t)bits ? 0 : (x << cnt) & ZM(es);
        else if (kind == 1) y = cnt >= (uint64_t)bits ? 0 : x >> cnt;
        else y = (uint64_t)(SX(x, es) >> (cnt >= (uint64_t)bits ? bits - 1 : (int)cnt)) & ZM(es);
        SE(&r, es, i, y);
    }
    MERGE(&e->z[dst], &in->z[dst], &r, es, nel, KM(in, k, nel), z);
}
TFN(t_sh1, "vpslld $5, %zmm1, %zmm17{%k1}")
static void r_sh1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { shift_ref(e, in, &in->z[1], 4, 64, 0, 5, 17, 1, 0); }
TFN(t_sh2, "vpslld %xmm2, %zmm17, %zmm18")
static void r_sh2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { shift_ref(e, in, &in->z[17], 4, 64, 0, in->z[2].q[0], 18, 0, 0); }
static void prep_cnt(st_t *s, uint8_t *mem) { s->z[2].q[0] = rnd() % 40; if (rnd() % 4 == 0) s->z[2].q[0] |= 1ull << 40; }
TFN(t_sh3, "vpsrad $3, %zmm1, %zmm2")
static void r_sh3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { shift_ref(e, in, &in->z[1], 4, 64, 2, 3, 2, 0, 0); }
TFN(t_sh4, "vpsrad %xmm2, %zmm17, %zmm18{%k1}{z}")
static void r_sh4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { shift_ref(e, in, &in->z[17], 4, 64, 2, in->z[2].q[0], 18, 1, 1); }
TFN(t_sh5, "vpsraw $2, %zmm17, %zmm18")
static void r_sh5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { shift_ref(e, in, &in->z[17], 2, 64, 2, 2, 18, 0, 0); }
TFN(t_sh6, "{evex} vpsraw $1, (%rsi), %xmm3")
static void r_sh6(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, 0, 16); shift_ref(e, in, &m, 2, 16, 2, 1, 3, 0, 0); }
TFN(t_sh7, "vpsllw $3, (%rsi,%rcx,1), %zmm18")
static void r_sh7(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, in->g[RCX], 64); shift_ref(e, in, &m, 2, 64, 0, 3, 18, 0, 0); }
TFN(t_sh8, "vpsrlw $15, %zmm17, %zmm18{%k1}")
static void r_sh8(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { shift_ref(e, in, &in->z[17], 2, 64, 1, 15, 18, 1, 0); }
TFN(t_sh9, "vpsllq $7, %zmm17, %zmm18")
static void r_sh9(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { shift_ref(e, in, &in->z[17], 8, 64, 0, 7, 18, 0, 0); }
TFN(t_sh10, "vpsrad $40, %zmm1, %zmm2")
static void r_sh10(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { shift_ref(e, in, &in->z[1], 4, 64, 2, 40, 2, 0, 0); }
TFN(t_sh11, "{evex} vpsrad $3, 0x20(%rsi), %xmm17")
static void r_sh11(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, 0x20, 16); shift_ref(e, in, &m, 4, 16, 2, 3, 17, 0, 0); }
TFN(t_sh12, "vpsrad $3, 0x8(%rsi){1to16}, %zmm17")
static void r_sh12(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = BCAST(im, 8, 4, 16); shift_ref(e, in, &m, 4, 64, 2, 3, 17, 0, 0); }
static void bsrl(st_t *e, const st_t *in, const vec_t *s, int n, int dst, int vlb)
{ vec_t r; memset(&r, 0, 64); for (int l = 0; l < vlb / 16; l++) for (int j = 0; j < 16; j++) r.b[16 * l + j] = j + n < 16 ? s->b[16 * l + j + n] : 0; e->z[dst] = r; }
TFN(t_sh13, "vpsrldq $3, %xmm17, %xmm18")
static void r_sh13(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bsrl(e, in, &in->z[17], 3, 18, 16); }
TFN(t_sh14, "{evex} vpsrldq $5, (%rsi), %xmm1")
static void r_sh14(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, 0, 16); bsrl(e, in, &m, 5, 1, 16); }
TFN(t_sh15, "vpsrldq $7, %zmm17, %zmm18")
static void r_sh15(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bsrl(e, in, &in->z[17], 7, 18, 64); }

/* ================== compares into k ================== */
static void cmpk_ref(st_t *e, const st_t *in, const vec_t *b, int es, int vlb, int pred, int sgn, int dstk, int s1, int k)
{
    int nel = vlb / es;
    uint64_t r = 0;
    for (int i = 0; i < nel; i++) {
        uint64_t x = GE(&in->z[s1], es, i), y = GE(b, es, i);
        int lt = sgn ? SX(x, es) < SX(y, es) : x < y, eq = x == y, t;
        switch (pred) { case 0: t = eq; break; case 1: t = lt; break; case 2: t = lt || eq; break; case 3: t = 0; break;
                        case 4: t = !eq; break; case 5: t = !lt; break; case 6: t = !lt && !eq; break; default: t = 1; }
        if (t) r |= 1ull << i;
    }
    e->k[dstk] = r & KM(in, k, nel);
}
#define CMPK(n, text, es, vlb, pred, sgn, dk, s1, s2, k) TFN_(t_##n, text) \
    static void r_##n(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t b = s2 >= 0 ? in->z[s2 < 0 ? 0 : s2] : MEMV(im, 0, vlb); cmpk_ref(e, in, &b, es, vlb, pred, sgn, dk, s1, k); }
CMPK(cmp1, "vpcmpnltd %zmm1, %zmm2, %k1{%k2}", 4, 64, 5, 1, 1, 2, 1, 2)
CMPK(cmp2, "vpcmpleud %ymm17, %ymm18, %k3", 4, 32, 2, 0, 3, 18, 17, 0)
CMPK(cmp3, "vpcmpleuq %zmm1, %zmm2, %k4", 8, 64, 2, 0, 4, 2, 1, 0)
CMPK(cmp4, "vpcmpltq %zmm1, %zmm2, %k5", 8, 64, 1, 1, 5, 2, 1, 0)
CMPK(cmp5, "vpcmpnleq %zmm1, %zmm2, %k6{%k1}", 8, 64, 6, 1, 6, 2, 1, 1)
CMPK(cmp6, "vpcmpeqb (%rsi), %zmm17, %k3", 1, 64, 0, 1, 3, 17, -1, 0)
CMPK(cmp7, "vpcmpeqw %xmm1, %xmm2, %k7", 2, 16, 0, 1, 7, 2, 1, 0)
CMPK(cmp8, "vpcmpneqd %zmm1, %zmm2, %k1", 4, 64, 4, 1, 1, 2, 1, 0)
CMPK(cmp9, "vpcmplew %xmm1, %xmm2, %k2{%k3}", 2, 16, 2, 1, 2, 2, 1, 3)
CMPK(cmp10, "vpcmpnleuw %xmm1, %xmm2, %k2", 2, 16, 6, 0, 2, 2, 1, 0)
CMPK(cmp11, "vpcmpeqb (%rsi), %ymm17, %k3", 1, 32, 0, 1, 3, 17, -1, 0)
CMPK(cmp12, "vpcmpgtd %zmm1, %zmm2, %k1", 4, 64, 6, 1, 1, 2, 1, 0)
static void prep_cmp(st_t *s, uint8_t *mem)   /* make equal elements likely */
{
    for (int i = 0; i < 64; i++) switch (rnd() % 4) {
        case 0: s->z[1].b[i] = s->z[2].b[i]; break;
        case 1: s->z[17].b[i] = s->z[18].b[i]; break;
        case 2: s->z[17].b[i] = mem[512 + i]; break;
    }
}

/* ================== blends ================== */
static void blend_ref(st_t *e, const st_t *in, const vec_t *b, int es, int vlb, int dst, int s1, int k, int z)
{
    int nel = vlb / es;
    vec_t r; memset(&r, 0, 64);
    uint64_t m = KM(in, k, nel);
    for (int i = 0; i < nel; i++) SE(&r, es, i, (m >> i & 1) ? GE(b, es, i) : z ? 0 : GE(&in->z[s1], es, i));
    e->z[dst] = r;
}
TFN(t_bl1, "vpblendmd %zmm1, %zmm2, %zmm3{%k1}")
static void r_bl1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { blend_ref(e, in, &in->z[1], 4, 64, 3, 2, 1, 0); }
TFN(t_bl2, "vpblendmd %ymm17, %ymm18, %ymm19{%k2}{z}")
static void r_bl2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { blend_ref(e, in, &in->z[17], 4, 32, 19, 18, 2, 1); }
TFN(t_bl3, "vpblendmw %zmm1, %zmm2, %zmm3{%k1}")
static void r_bl3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { blend_ref(e, in, &in->z[1], 2, 64, 3, 2, 1, 0); }
TFN(t_bl4, "vblendmps %zmm1, %zmm2, %zmm3{%k1}")
static void r_bl4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { blend_ref(e, in, &in->z[1], 4, 64, 3, 2, 1, 0); }
TFN(t_bl5, "vpblendmd 0x40(%rsi), %zmm2, %zmm3{%k1}")
static void r_bl5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, 0x40, 64); blend_ref(e, in, &m, 4, 64, 3, 2, 1, 0); }
TFN(t_bl6, "vpblendmw %xmm1, %xmm2, %xmm3{%k1}")
static void r_bl6(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { blend_ref(e, in, &in->z[1], 2, 16, 3, 2, 1, 0); }

/* ================== permutes ================== */
static void perm2_ref(st_t *e, const st_t *in, const vec_t *src3, int es, int vlb, int t2, int dst, int vv, int k)
{
    int nel = vlb / es;
    const vec_t *idx = t2 ? &in->z[vv] : &in->z[dst], *t1 = t2 ? &in->z[dst] : &in->z[vv];
    vec_t r; memset(&r, 0, 64);
    for (int i = 0; i < nel; i++) {
        unsigned id = GE(idx, es, i) % (2 * nel);
        SE(&r, es, i, id >= (unsigned)nel ? GE(src3, es, id - nel) : GE(t1, es, id));
    }
    MERGE(&e->z[dst], &in->z[dst], &r, es, nel, KM(in, k, nel), 0);
}
#define PERM2(n, text, es, vlb, t2, dst, vv, s3, off, k) TFN_(t_##n, text) \
    static void r_##n(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t b = s3 >= 0 ? in->z[s3 < 0 ? 0 : s3] : MEMV(im, off, vlb); perm2_ref(e, in, &b, es, vlb, t2, dst, vv, k); }
PERM2(pm1, "vpermt2w %zmm1, %zmm2, %zmm3", 2, 64, 1, 3, 2, 1, 0, 0)
PERM2(pm2, "vpermt2w 0x40(%rsi), %zmm17, %zmm18{%k1}", 2, 64, 1, 18, 17, -1, 0x40, 1)
PERM2(pm3, "vpermi2w %ymm1, %ymm2, %ymm3", 2, 32, 0, 3, 2, 1, 0, 0)
PERM2(pm4, "vpermt2b %xmm17, %xmm18, %xmm19", 1, 16, 1, 19, 18, 17, 0, 0)
PERM2(pm5, "vpermi2b %ymm1, %ymm2, %ymm3{%k2}", 1, 32, 0, 3, 2, 1, 0, 2)
PERM2(pm6, "vpermt2d %zmm1, %zmm2, %zmm3", 4, 64, 1, 3, 2, 1, 0, 0)
PERM2(pm7, "vpermi2d %zmm1, %zmm2, %zmm3", 4, 64, 0, 3, 2, 1, 0, 0)
PERM2(pm8, "vpermt2ps 0x40(%rsi), %ymm17, %ymm18", 4, 32, 1, 18, 17, -1, 0x40, 0)
PERM2(pm9, "vpermt2b 0x40(%rsi), %zmm17, %zmm18", 1, 64, 1, 18, 17, -1, 0x40, 0)
PERM2(pm10, "vpermi2w 0x20(%rsi), %ymm17, %ymm18", 2, 32, 0, 18, 17, -1, 0x20, 0)
PERM2(pm11, "vpermt2w %xmm1, %xmm2, %xmm3", 2, 16, 1, 3, 2, 1, 0, 0)
static void perm1_ref(st_t *e, const st_t *in, const vec_t *src, int es, int vlb, int dst, int idx)
{ int nel = vlb / es; vec_t r; memset(&r, 0, 64); for (int i = 0; i < nel; i++) SE(&r, es, i, GE(src, es, GE(&in->z[idx], es, i) % nel)); e->z[dst] = r; }
TFN(t_pm12, "vpermd 0x40(%rsi), %zmm2, %zmm3")
static void r_pm12(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, 0x40, 64); perm1_ref(e, in, &m, 4, 64, 3, 2); }
TFN(t_pm13, "vpermd %zmm1, %zmm2, %zmm3")
static void r_pm13(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { perm1_ref(e, in, &in->z[1], 4, 64, 3, 2); }
TFN(t_pm14, "vpermw %zmm1, %zmm2, %zmm3")
static void r_pm14(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { perm1_ref(e, in, &in->z[1], 2, 64, 3, 2); }
TFN(t_pm15, "vpermq %zmm17, %zmm18, %zmm19")
static void r_pm15(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { perm1_ref(e, in, &in->z[17], 8, 64, 19, 18); }
TFN(t_pm16, "vpermw %ymm1, %ymm2, %ymm3")
static void r_pm16(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { perm1_ref(e, in, &in->z[1], 2, 32, 3, 2); }

static void align_ref(st_t *e, const st_t *in, int es, int vlb, int imm, int dst, int s1, int s2, int k)
{
    int nel = vlb / es, sh = imm % nel;
    vec_t r; memset(&r, 0, 64);
    for (int i = 0; i < nel; i++) SE(&r, es, i, i + sh < nel ? GE(&in->z[s2], es, i + sh) : GE(&in->z[s1], es, i + sh - nel));
    MERGE(&e->z[dst], &in->z[dst], &r, es, nel, KM(in, k, nel), 0);
}
TFN(t_al1, "valignd $3, %zmm1, %zmm2, %zmm17{%k1}")
static void r_al1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { align_ref(e, in, 4, 64, 3, 17, 2, 1, 1); }
TFN(t_al2, "valignd $5, %ymm17, %ymm18, %ymm19")
static void r_al2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { align_ref(e, in, 4, 32, 5, 19, 18, 17, 0); }
TFN(t_al3, "valignq $1, %zmm1, %zmm2, %zmm3")
static void r_al3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { align_ref(e, in, 8, 64, 1, 3, 2, 1, 0); }
TFN(t_al4, "valignq $3, %ymm1, %ymm2, %ymm3")
static void r_al4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { align_ref(e, in, 8, 32, 3, 3, 2, 1, 0); }
TFN(t_al5, "valignd $15, %zmm1, %zmm2, %zmm3")
static void r_al5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { align_ref(e, in, 4, 64, 15, 3, 2, 1, 0); }

/* ================== broadcasts ================== */
static void bc_ref(st_t *e, const st_t *in, uint64_t x, int es, int vlb, int dst, int k, int z)
{ int nel = vlb / es; vec_t r; memset(&r, 0, 64); for (int i = 0; i < nel; i++) SE(&r, es, i, x); MERGE(&e->z[dst], &in->z[dst], &r, es, nel, KM(in, k, nel), z); }
TFN(t_bc1, "vpbroadcastd %eax, %zmm17{%k1}")
static void r_bc1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bc_ref(e, in, (uint32_t)in->g[RAX], 4, 64, 17, 1, 0); }
TFN(t_bc2, "vpbroadcastq %rax, %xmm18")
static void r_bc2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bc_ref(e, in, in->g[RAX], 8, 16, 18, 0, 0); }
TFN(t_bc3, "vpbroadcastw %r10d, %zmm19{%k1}{z}")
static void r_bc3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bc_ref(e, in, (uint16_t)in->g[R10], 2, 64, 19, 1, 1); }
TFN(t_bc4, "vpbroadcastb %eax, %ymm20")
static void r_bc4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bc_ref(e, in, (uint8_t)in->g[RAX], 1, 32, 20, 0, 0); }
TFN(t_bc5, "vpbroadcastb (%rsi), %zmm21")
static void r_bc5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bc_ref(e, in, im[512], 1, 64, 21, 0, 0); }
TFN(t_bc6, "vpbroadcastd 0x8(%rsi), %zmm22")
static void r_bc6(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bc_ref(e, in, *(uint32_t *)(im + 520), 4, 64, 22, 0, 0); }
TFN(t_bc7, "vbroadcastss 0x4(%rsi), %zmm23")
static void r_bc7(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bc_ref(e, in, *(uint32_t *)(im + 516), 4, 64, 23, 0, 0); }
TFN(t_bc8, "vbroadcastss %xmm1, %zmm24")
static void r_bc8(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bc_ref(e, in, in->z[1].d[0], 4, 64, 24, 0, 0); }
TFN(t_bc9, "vbroadcastsd 0x8(%rsi), %zmm25")
static void r_bc9(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bc_ref(e, in, *(uint64_t *)(im + 520), 8, 64, 25, 0, 0); }
TFN(t_bc10, "vpbroadcastq %r13, %zmm5")
static void r_bc10(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bc_ref(e, in, in->g[R13], 8, 64, 5, 0, 0); }
TFN(t_bc11, "vbroadcastss (%rsi,%rcx,4), %zmm26")
static void r_bc11(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bc_ref(e, in, *(uint32_t *)(im + 512 + 4 * in->g[RCX]), 4, 64, 26, 0, 0); }
TFN(t_bc12, "vpbroadcastw %eax, %ymm3{%k1}")
static void r_bc12(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bc_ref(e, in, (uint16_t)in->g[RAX], 2, 32, 3, 1, 0); }

/* ================== sign/zero extension, down-conversion ================== */
static void ext_ref(st_t *e, const st_t *in, const vec_t *s, int ses, int des, int vlb, int sgn, int dst, int k, int z)
{
    int nel = vlb / des; vec_t r; memset(&r, 0, 64);
    for (int i = 0; i < nel; i++) { uint64_t x = GE(s, ses, i); SE(&r, des, i, sgn ? (uint64_t)SX(x, ses) : x); }
    MERGE(&e->z[dst], &in->z[dst], &r, des, nel, KM(in, k, nel), z);
}
TFN(t_ext1, "vpmovsxwd (%rsi), %zmm17{%k1}")
static void r_ext1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, 0, 32); ext_ref(e, in, &m, 2, 4, 64, 1, 17, 1, 0); }
TFN(t_ext2, "vpmovsxwd %ymm1, %zmm18")
static void r_ext2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { ext_ref(e, in, &in->z[1], 2, 4, 64, 1, 18, 0, 0); }
TFN(t_ext3, "vpmovsxdq %ymm17, %zmm19")
static void r_ext3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { ext_ref(e, in, &in->z[17], 4, 8, 64, 1, 19, 0, 0); }
TFN(t_ext4, "vpmovsxbw 0x20(%rsi), %zmm2")
static void r_ext4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, 0x20, 32); ext_ref(e, in, &m, 1, 2, 64, 1, 2, 0, 0); }
TFN(t_ext5, "vpmovzxwd %ymm1, %zmm3{%k2}{z}")
static void r_ext5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { ext_ref(e, in, &in->z[1], 2, 4, 64, 0, 3, 2, 1); }
TFN(t_ext6, "vpmovzxbw %ymm17, %zmm4")
static void r_ext6(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { ext_ref(e, in, &in->z[17], 1, 2, 64, 0, 4, 0, 0); }
TFN(t_ext7, "vpmovsxwd 0x20(%rsi,%rcx,2), %zmm5")
static void r_ext7(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, 0x20 + 2 * in->g[RCX], 32); ext_ref(e, in, &m, 2, 4, 64, 1, 5, 0, 0); }
static void down_ref(vec_t *r, const vec_t *s, int ses, int des, int nel) { memset(r, 0, 64); for (int i = 0; i < nel; i++) SE(r, des, i, GE(s, ses, i) & ZM(des)); }
TFN(t_dn1, "vpmovqd %zmm17, %ymm18")
static void r_dn1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { down_ref(&e->z[18], &in->z[17], 8, 4, 8); }
TFN(t_dn2, "vpmovqd %xmm17, %xmm18")
static void r_dn2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { down_ref(&e->z[18], &in->z[17], 8, 4, 2); }
TFN(t_dn3, "vpmovdw %zmm17, 0x20(%rsi){%k1}")
static void r_dn3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r; down_ref(&r, &in->z[17], 4, 2, 16); for (int i = 0; i < 16; i++) if (in->k[1] >> i & 1) memcpy(em + 512 + 0x20 + 2 * i, &r.w[i], 2); }
TFN(t_dn4, "vpmovdb %xmm17, %xmm18")
static void r_dn4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { down_ref(&e->z[18], &in->z[17], 4, 1, 4); }
TFN(t_dn5, "vpmovdw %ymm17, %xmm18{%k1}")
static void r_dn5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r; down_ref(&r, &in->z[17], 4, 2, 8); MERGE(&e->z[18], &in->z[18], &r, 2, 8, in->k[1], 0); }

/* ================== extract / insert / shuffle ================== */
TFN(t_x1, "vextracti64x4 $1, %zmm17, %ymm18")
static void r_x1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memset(&e->z[18], 0, 64); memcpy(&e->z[18], in->z[17].b + 32, 32); }
TFN(t_x2, "vextracti64x4 $1, %zmm17, 0x20(%rsi){%k1}")
static void r_x2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { for (int i = 0; i < 4; i++) if (in->k[1] >> i & 1) memcpy(em + 512 + 32 + 8 * i, in->z[17].b + 32 + 8 * i, 8); }
TFN(t_x3, "vextracti32x8 $1, %zmm17, %ymm2{%k1}{z}")
static void r_x3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r; memset(&r, 0, 64); memcpy(&r, in->z[17].b + 32, 32); MERGE(&e->z[2], &in->z[2], &r, 4, 8, in->k[1], 1); }
TFN(t_x4, "vextractf32x4 $3, %zmm17, %xmm18")
static void r_x4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memset(&e->z[18], 0, 64); memcpy(&e->z[18], in->z[17].b + 48, 16); }
TFN(t_x5, "vextractf32x4 $1, %ymm17, (%rsi)")
static void r_x5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memcpy(em + 512, in->z[17].b + 16, 16); }
TFN(t_x6, "vextractf32x8 $0, %zmm1, %ymm19")
static void r_x6(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memset(&e->z[19], 0, 64); memcpy(&e->z[19], in->z[1].b, 32); }
TFN(t_x7, "vextracti64x2 $1, %ymm17, %xmm2")
static void r_x7(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memset(&e->z[2], 0, 64); memcpy(&e->z[2], in->z[17].b + 16, 16); }
TFN(t_x8, "vextracti32x4 $2, %zmm17, 0x10(%rsi)")
static void r_x8(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memcpy(em + 512 + 16, in->z[17].b + 32, 16); }
TFN(t_x9, "vinserti64x4 $1, %ymm1, %zmm17, %zmm18")
static void r_x9(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->z[18] = in->z[17]; memcpy(e->z[18].b + 32, in->z[1].b, 32); }
TFN(t_x10, "vinserti64x4 $0, 0x20(%rsi), %zmm17, %zmm18{%k1}")
static void r_x10(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[17]; memcpy(r.b, im + 512 + 32, 32); MERGE(&e->z[18], &in->z[18], &r, 8, 8, in->k[1], 0); }
TFN(t_x11, "vinsertf32x4 $1, %xmm17, %ymm18, %ymm19")
static void r_x11(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[18]; memset(r.b + 32, 0, 32); memcpy(r.b + 16, in->z[17].b, 16); e->z[19] = r; }
TFN(t_x12, "vshufi32x4 $0x4e, %zmm1, %zmm2, %zmm3")
static void r_x12(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memcpy(r.b, in->z[2].b + 32, 16); memcpy(r.b + 16, in->z[2].b + 48, 16); memcpy(r.b + 32, in->z[1].b + 0, 16); memcpy(r.b + 48, in->z[1].b + 16, 16); e->z[3] = r; }
TFN(t_x13, "vshufi32x4 $0x2, %ymm1, %ymm2, %ymm3")
static void r_x13(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memset(&r, 0, 64); memcpy(r.b, in->z[2].b, 16); memcpy(r.b + 16, in->z[1].b + 16, 16); e->z[3] = r; }
TFN(t_x14, "vshufps $0x1b, %xmm17, %xmm18, %xmm19")
static void r_x14(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memset(&r, 0, 64); int imm = 0x1b; r.d[0] = in->z[18].d[imm & 3]; r.d[1] = in->z[18].d[imm >> 2 & 3]; r.d[2] = in->z[17].d[imm >> 4 & 3]; r.d[3] = in->z[17].d[imm >> 6 & 3]; e->z[19] = r; }
TFN(t_x15, "vunpckhps %xmm17, %xmm18, %xmm19")
static void r_x15(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memset(&r, 0, 64); r.d[0] = in->z[18].d[2]; r.d[1] = in->z[17].d[2]; r.d[2] = in->z[18].d[3]; r.d[3] = in->z[17].d[3]; e->z[19] = r; }
TFN(t_x16, "vpunpckldq %xmm17, %xmm18, %xmm19")
static void r_x16(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memset(&r, 0, 64); r.d[0] = in->z[18].d[0]; r.d[1] = in->z[17].d[0]; r.d[2] = in->z[18].d[1]; r.d[3] = in->z[17].d[1]; e->z[19] = r; }
TFN(t_x17, "vpunpcklqdq %xmm17, %xmm18, %xmm19")
static void r_x17(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memset(&r, 0, 64); r.q[0] = in->z[18].q[0]; r.q[1] = in->z[17].q[0]; e->z[19] = r; }
TFN(t_x18, "vpunpcklwd %xmm17, %xmm18, %xmm19")
static void r_x18(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memset(&r, 0, 64); for (int i = 0; i < 4; i++) { r.w[2 * i] = in->z[18].w[i]; r.w[2 * i + 1] = in->z[17].w[i]; } e->z[19] = r; }
TFN(t_x19, "vmovlhps %xmm17, %xmm18, %xmm19")
static void r_x19(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memset(&r, 0, 64); r.q[0] = in->z[18].q[0]; r.q[1] = in->z[17].q[0]; e->z[19] = r; }
TFN(t_x20, "vinsertps $0x9c, %xmm17, %xmm18, %xmm19")
static void r_x20(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r = in->z[18]; memset(r.b + 16, 0, 48); r.d[1] = in->z[17].d[2]; r.d[2] = r.d[3] = 0; e->z[19] = r; }
TFN(t_x21, "vinsertps $0x20, 0x8(%rsi,%rcx,2), %xmm17, %xmm18")
static void r_x21(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r = in->z[17]; memset(r.b + 16, 0, 48); memcpy(&r.d[2], im + 520 + 2 * in->g[RCX], 4); e->z[18] = r; }
TFN(t_x22, "vpinsrd $2, %eax, %xmm17, %xmm18")
static void r_x22(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[17]; memset(r.b + 16, 0, 48); r.d[2] = (uint32_t)in->g[RAX]; e->z[18] = r; }
TFN(t_x23, "vpinsrd $3, 0xc(%rsi), %xmm17, %xmm18")
static void r_x23(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[17]; memset(r.b + 16, 0, 48); memcpy(&r.d[3], im + 524, 4); e->z[18] = r; }
TFN(t_x24, "vpinsrb $9, %edx, %xmm17, %xmm18")
static void r_x24(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[17]; memset(r.b + 16, 0, 48); r.b[9] = (uint8_t)in->g[RDX]; e->z[18] = r; }
TFN(t_x25, "vshufps $0xe4, 0x40(%rsi){1to16}, %zmm17, %zmm18")
static void r_x25(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t b = BCAST(im, 0x40, 4, 16), r; for (int l = 0; l < 4; l++) { r.d[4*l] = in->z[17].d[4*l]; r.d[4*l+1] = in->z[17].d[4*l+1]; r.d[4*l+2] = b.d[4*l+2]; r.d[4*l+3] = b.d[4*l+3]; } e->z[18] = r; }

/* ================== opmask instructions ================== */
TFN(t_k1, "kmovw %k1, %k2")
static void r_k1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->k[2] = in->k[1] & 0xffff; }
TFN(t_k2, "kmovw %eax, %k3")
static void r_k2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->k[3] = in->g[RAX] & 0xffff; }
TFN(t_k3, "kmovw %k3, %r11d")
static void r_k3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->g[R11] = in->k[3] & 0xffff; }
TFN(t_k4, "kmovb (%rsi), %k4")
static void r_k4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->k[4] = im[512]; }
TFN(t_k5, "kmovb %k4, 0x2(%rsi)")
static void r_k5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { em[514] = (uint8_t)in->k[4]; }
TFN(t_k6, "kunpckbw %k1, %k2, %k3")
static void r_k6(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->k[3] = ((in->k[2] & 0xff) << 8) | (in->k[1] & 0xff); }
TFN(t_k7, "kunpckwd %k1, %k2, %k3")
static void r_k7(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->k[3] = ((in->k[2] & 0xffff) << 16) | (in->k[1] & 0xffff); }
TFN(t_k8, "kxnorw %k1, %k2, %k3")
static void r_k8(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->k[3] = ~(in->k[1] ^ in->k[2]) & 0xffff; }
TFN(t_k9, "kxnorb %k5, %k5, %k5")
static void r_k9(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->k[5] = 0xff; }
TFN(t_k10, "kandnd %k1, %k2, %k3")
static void r_k10(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->k[3] = ~in->k[2] & in->k[1] & 0xffffffffull; }
TFN(t_k11, "korb %k1, %k2, %k3")
static void r_k11(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->k[3] = (in->k[1] | in->k[2]) & 0xff; }
static void kortest_ref(st_t *e, const st_t *in, int a, int b, uint64_t M)
{ uint64_t v = (in->k[a] | in->k[b]) & M; e->fl = (in->fl & ~0x8d5ull) | (v == 0 ? 0x40 : 0) | (v == M ? 1 : 0); }
TFN(t_k12, "kortestb %k1, %k2")
static void r_k12(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { kortest_ref(e, in, 1, 2, 0xff); }
TFN(t_k13, "kortestw %k1, %k1")
static void r_k13(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { kortest_ref(e, in, 1, 1, 0xffff); }
TFN(t_k14, "kortestd %k1, %k2")
static void r_k14(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { kortest_ref(e, in, 1, 2, 0xffffffffull); }
TFN(t_k15, "kortestq %k1, %k2")
static void r_k15(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { kortest_ref(e, in, 1, 2, ~0ull); }
static void prep_kflags(st_t *s, uint8_t *mem) { switch (rnd() % 4) { case 0: s->k[1] = s->k[2] = 0; break; case 1: s->k[1] = ~0ull; break; case 2: s->k[2] = 0xff00; s->k[1] = 0x00ff; break; } }
TFN(t_k16, "kmovq %k6, %rax")
static void r_k16(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->g[RAX] = in->k[6]; }
TFN(t_k17, "kmovd %ecx, %k7")
static void r_k17(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->k[7] = (uint32_t)in->g[RCX]; }
TFN(t_k18, "kshiftrw $3, %k1, %k2")
static void r_k18(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->k[2] = (in->k[1] & 0xffff) >> 3; }
TFN(t_k19, "kmovb %k1, %k2")
static void r_k19(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->k[2] = in->k[1] & 0xff; }

/* ================== packed floating point ================== */
typedef float (*f2_t)(float, float);
static float f_add(float a, float b) { return a + b; }
static float f_sub(float a, float b) { return a - b; }
static float f_mul(float a, float b) { return a * b; }
static float f_div(float a, float b) { return a / b; }
static void fps_ref(st_t *e, const st_t *in, const vec_t *b, f2_t op, int vlb, int dst, int s1, int k, int z)
{ int nel = vlb / 4; vec_t r; memset(&r, 0, 64); for (int i = 0; i < nel; i++) r.f[i] = op(in->z[s1].f[i], b->f[i]); MERGE(&e->z[dst], &in->z[dst], &r, 4, nel, KM(in, k, nel), z); }
#define FPS(n, text, op, vlb, dst, s1, s2, off, bc, k, zz) TFN_(t_##n, text) \
    static void r_##n(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { \
        vec_t b = s2 >= 0 ? in->z[s2 < 0 ? 0 : s2] : bc ? BCAST(im, off, 4, 16) : MEMV(im, off, vlb); fps_ref(e, in, &b, op, vlb, dst, s1, k, zz); }
FPS(fp1, "vaddps %zmm1, %zmm2, %zmm3", f_add, 64, 3, 2, 1, 0, 0, 0, 0)
FPS(fp2, "vaddps 0x40(%rsi,%rcx,1), %zmm2, %zmm3{%k1}", f_add, 64, 3, 2, -1, 0x40 + (long)in->g[RCX], 0, 1, 0)
FPS(fp3, "vmulps 0x8(%rsi){1to8}, %ymm17, %ymm18", f_mul, 32, 18, 17, -1, 8, 1, 0, 0)
FPS(fp4, "vmulps %zmm17, %zmm18, %zmm19{%k2}{z}", f_mul, 64, 19, 18, 17, 0, 0, 2, 1)
FPS(fp5, "vsubps %zmm1, %zmm2, %zmm3", f_sub, 64, 3, 2, 1, 0, 0, 0, 0)
FPS(fp6, "vdivps %zmm1, %zmm2, %zmm3", f_div, 64, 3, 2, 1, 0, 0, 0, 0)
FPS(fp7, "vdivps 0x4(%rsi){1to8}, %ymm2, %ymm3", f_div, 32, 3, 2, -1, 4, 1, 0, 0)
FPS(fp8, "vmulps 0x40(%rsi), %zmm17, %zmm18", f_mul, 64, 18, 17, -1, 0x40, 0, 0, 0)
FPS(fp9, "vaddps %xmm17, %xmm18, %xmm19", f_add, 16, 19, 18, 17, 0, 0, 0, 0)
TFN(t_fp10, "vmulpd %zmm1, %zmm2, %zmm3")
static void r_fp10(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { for (int i = 0; i < 8; i++) e->z[3].g[i] = in->z[2].g[i] * in->z[1].g[i]; }
TFN(t_fp11, "vmulpd 0x8(%rsi){1to2}, %xmm17, %xmm18")
static void r_fp11(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { double d; memcpy(&d, im + 520, 8); memset(&e->z[18], 0, 64); for (int i = 0; i < 2; i++) e->z[18].g[i] = in->z[17].g[i] * d; }
TFN(t_fp12, "vaddps {rz-sae}, %zmm1, %zmm2, %zmm3")
static void r_fp12(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ fesetround(FE_TOWARDZERO); for (int i = 0; i < 16; i++) { volatile float a = in->z[2].f[i], b = in->z[1].f[i]; e->z[3].f[i] = a + b; } fesetround(FE_TONEAREST); }

/* FMA: x = dest, y = vvvv, z = r/m */
static float fma_form(int form, int kind, float x, float y, float z)
{
    float a, b, c;
    if (form == 132) { a = x; b = z; c = y; } else if (form == 213) { a = y; b = x; c = z; } else { a = y; b = z; c = x; }
    if (kind == 2 || kind == 3) a = -a;
    if (kind == 1 || kind == 3) c = -c;
    return fmaf(a, b, c);
}
static void fma_ref(st_t *e, const st_t *in, const vec_t *zsrc, int form, int kind, int vlb, int dst, int vv, int k)
{ int nel = vlb / 4; vec_t r; memset(&r, 0, 64); for (int i = 0; i < nel; i++) r.f[i] = fma_form(form, kind, in->z[dst].f[i], in->z[vv].f[i], zsrc->f[i]); MERGE(&e->z[dst], &in->z[dst], &r, 4, nel, KM(in, k, nel), 0); }
#define FMA(n, text, form, kind, vlb, dst, vv, s2, off, bc, k) TFN_(t_##n, text) \
    static void r_##n(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { \
        vec_t b = s2 >= 0 ? in->z[s2 < 0 ? 0 : s2] : bc ? BCAST(im, off, 4, 16) : MEMV(im, off, vlb); fma_ref(e, in, &b, form, kind, vlb, dst, vv, k); }
FMA(fma1, "vfmadd231ps 0x40(%rsi), %zmm17, %zmm18", 231, 0, 64, 18, 17, -1, 0x40, 0, 0)
FMA(fma2, "vfmadd231ps %zmm1, %zmm2, %zmm3{%k1}", 231, 0, 64, 3, 2, 1, 0, 0, 1)
FMA(fma3, "vfmadd132ps 0x4(%rsi){1to8}, %ymm17, %ymm18", 132, 0, 32, 18, 17, -1, 4, 1, 0)
FMA(fma4, "vfmadd132ps %zmm1, %zmm2, %zmm3", 132, 0, 64, 3, 2, 1, 0, 0, 0)
FMA(fma5, "vfmadd213ps 0x80(%rsi), %zmm17, %zmm18", 213, 0, 64, 18, 17, -1, 0x80, 0, 0)
FMA(fma6, "vfnmadd231ps 0x40(%rsi), %zmm1, %zmm2", 231, 2, 64, 2, 1, -1, 0x40, 0, 0)
FMA(fma7, "vfnmadd132ps %ymm1, %ymm2, %ymm3", 132, 2, 32, 3, 2, 1, 0, 0, 0)
FMA(fma8, "vfnmadd213ps (%rsi,%rcx,1), %zmm17, %zmm18", 213, 2, 64, 18, 17, -1, (long)in->g[RCX], 0, 0)
FMA(fma9, "vfmsub132ps 0x8(%rsi){1to8}, %ymm1, %ymm2", 132, 1, 32, 2, 1, -1, 8, 1, 0)
FMA(fma10, "vfnmadd132ps 0x8(%rsi){1to4}, %xmm17, %xmm18", 132, 2, 16, 18, 17, -1, 8, 1, 0)
/* scalar FMA / arithmetic: dst[0] = f(...), dst[127:32] = src1 (vvvv) or dest for FMA */
static void sfma_ref(st_t *e, const st_t *in, float zval, int form, int kind, int dst, int vv, int k)
{ vec_t r = in->z[dst]; memset(r.b + 16, 0, 48); if (KM(in, k, 1) & 1) r.f[0] = fma_form(form, kind, in->z[dst].f[0], in->z[vv].f[0], zval); e->z[dst] = r; }
TFN(t_sf1, "vfmadd231ss 0x8(%rsi), %xmm17, %xmm18")
static void r_sf1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { float z; memcpy(&z, im + 520, 4); sfma_ref(e, in, z, 231, 0, 18, 17, 0); }
TFN(t_sf2, "vfmadd132ss %xmm1, %xmm2, %xmm3{%k1}")
static void r_sf2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { sfma_ref(e, in, in->z[1].f[0], 132, 0, 3, 2, 1); }
TFN(t_sf3, "vfnmadd132ss %xmm17, %xmm18, %xmm19")
static void r_sf3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { sfma_ref(e, in, in->z[17].f[0], 132, 2, 19, 18, 0); }
TFN(t_sf4, "vfnmadd231ss %xmm17, %xmm18, %xmm19")
static void r_sf4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { sfma_ref(e, in, in->z[17].f[0], 231, 2, 19, 18, 0); }
TFN(t_sf5, "vfmadd132ss (%rsi,%rcx,4), %xmm17, %xmm18")
static void r_sf5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { float z; memcpy(&z, im + 512 + 4 * in->g[RCX], 4); sfma_ref(e, in, z, 132, 0, 18, 17, 0); }
static void sop_ref(st_t *e, const st_t *in, float b, f2_t op, int dst, int s1, int k, int z)
{ vec_t r = in->z[s1]; memset(r.b + 16, 0, 48); r.f[0] = (KM(in, k, 1) & 1) ? op(in->z[s1].f[0], b) : z ? 0 : in->z[dst].f[0]; e->z[dst] = r; }
TFN(t_ss1, "vaddss %xmm17, %xmm18, %xmm19")
static void r_ss1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { sop_ref(e, in, in->z[17].f[0], f_add, 19, 18, 0, 0); }
TFN(t_ss2, "vsubss %xmm1, %xmm2, %xmm17{%k1}")
static void r_ss2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { sop_ref(e, in, in->z[1].f[0], f_sub, 17, 2, 1, 0); }
TFN(t_ss3, "vmulss (%rsi), %xmm17, %xmm18{%k1}{z}")
static void r_ss3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { float b; memcpy(&b, im + 512, 4); sop_ref(e, in, b, f_mul, 18, 17, 1, 1); }
TFN(t_sd1, "vmulsd %xmm17, %xmm18, %xmm19")
static void r_sd1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[18]; memset(r.b + 16, 0, 48); r.g[0] = in->z[18].g[0] * in->z[17].g[0]; e->z[19] = r; }
TFN(t_sd2, "vsubsd 0x8(%rsi,%rcx,8), %xmm17, %xmm18")
static void r_sd2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { double b; memcpy(&b, im + 520 + 8 * in->g[RCX], 8); vec_t r = in->z[17]; memset(r.b + 16, 0, 48); r.g[0] = in->z[17].g[0] - b; e->z[18] = r; }
TFN(t_sd3, "vfmadd132sd %xmm17, %xmm18, %xmm19")
static void r_sd3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[19]; memset(r.b + 16, 0, 48); r.g[0] = fma(in->z[19].g[0], in->z[17].g[0], in->z[18].g[0]); e->z[19] = r; }

/* conversions */
TFN(t_cv1, "vcvtdq2ps %zmm17, %zmm18")
static void r_cv1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { for (int i = 0; i < 16; i++) e->z[18].f[i] = (float)in->z[17].sd[i]; }
TFN(t_cv2, "vcvttps2dq %zmm17, %zmm18")
static int32_t ref_cvtt(double x) { return (isnan(x) || x >= 2147483648.0 || x <= -2147483649.0) ? INT32_MIN : (int32_t)x; }
static void r_cv2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { for (int i = 0; i < 16; i++) e->z[18].sd[i] = ref_cvtt(in->z[17].f[i]); }
TFN(t_cv3, "vcvtps2pd 0x20(%rsi), %zmm18")
static void r_cv3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { for (int i = 0; i < 8; i++) { float f; memcpy(&f, im + 512 + 32 + 4 * i, 4); e->z[18].g[i] = f; } }
TFN(t_cv4, "vcvttpd2dq %zmm17, %ymm18")
static void r_cv4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memset(&e->z[18], 0, 64); for (int i = 0; i < 8; i++) e->z[18].sd[i] = ref_cvtt(in->z[17].g[i]); }
TFN(t_cv5, "vcvtsd2ss %xmm17, %xmm18, %xmm19")
static void r_cv5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[18]; memset(r.b + 16, 0, 48); r.f[0] = (float)in->z[17].g[0]; e->z[19] = r; }
TFN(t_cv6, "vcvtss2sd %xmm17, %xmm18, %xmm19")
static void r_cv6(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[18]; memset(r.b + 16, 0, 48); r.g[0] = in->z[17].f[0]; e->z[19] = r; }
TFN(t_cv7, "vcvtsi2ss %eax, %xmm17, %xmm18")
static void r_cv7(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[17]; memset(r.b + 16, 0, 48); r.f[0] = (float)(int32_t)in->g[RAX]; e->z[18] = r; }
TFN(t_cv8, "vcvtusi2ss %eax, %xmm17, %xmm18")
static void r_cv8(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[17]; memset(r.b + 16, 0, 48); r.f[0] = (float)(uint32_t)in->g[RAX]; e->z[18] = r; }
TFN(t_cv9, "vcvtusi2ss %rax, %xmm17, %xmm18")
static void r_cv9(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[17]; memset(r.b + 16, 0, 48); r.f[0] = (float)in->g[RAX]; e->z[18] = r; }
TFN(t_cv10, "vcvtusi2sd %rax, %xmm17, %xmm18")
static void r_cv10(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[17]; memset(r.b + 16, 0, 48); r.g[0] = (double)in->g[RAX]; e->z[18] = r; }
TFN(t_cv11, "vcvtusi2sdl 0x4(%rsi), %xmm17, %xmm18")
static void r_cv11(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { uint32_t u; memcpy(&u, im + 516, 4); vec_t r = in->z[17]; memset(r.b + 16, 0, 48); r.g[0] = (double)u; e->z[18] = r; }
static uint64_t ref_f2u(double x, int bits)
{
    double lim = bits == 32 ? 4294967296.0 : 18446744073709551616.0;
    if (isnan(x) || x <= -1.0 || x >= lim) return bits == 32 ? 0xffffffffull : ~0ull;
    return (uint64_t)trunc(x);
}
TFN(t_cv12, "vcvttss2usi %xmm17, %eax")
static void r_cv12(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->g[RAX] = ref_f2u(in->z[17].f[0], 32); }
TFN(t_cv13, "vcvttsd2usi %xmm17, %rdx")
static void r_cv13(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->g[RDX] = ref_f2u(in->z[17].g[0], 64); }
TFN(t_cv14, "vcvttsd2usi 0x8(%rsi), %r8")
static void r_cv14(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { double d; memcpy(&d, im + 520, 8); e->g[R8] = ref_f2u(d, 64); }
TFN(t_cv15, "vcvttsd2usi %xmm17, %r10d")
static void r_cv15(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->g[R10] = ref_f2u(in->z[17].g[0], 32); }
static void prep_cvt(st_t *s, uint8_t *mem)
{
    static const double edge[] = {0, -0.0, 0.5, -0.5, -0.99, -1.0, 1e10, 4294967295.0, 4294967296.0, 1.8446744073709552e19, 9.3e18, 9.2233720368547758e18, -3e9, 3e9, NAN, INFINITY, -INFINITY, 2147483647.5, -2147483648.7};
    for (int i = 16; i < 32; i++) for (int j = 0; j < 16; j++) {
        double v = rnd() % 2 ? edge[rnd() % (sizeof edge / sizeof edge[0])] : ldexp((double)(rnd() % 100000), (int)(rnd() % 70) - 20);
        if (rnd() % 5 == 0) v = -v;
        s->z[i].f[j] = (float)v;
        if (j < 8 && (rnd() & 1)) s->z[i].g[j] = v;
    }
    double v = edge[rnd() % (sizeof edge / sizeof edge[0])];
    memcpy(mem + 520, &v, 8);
    if (rnd() % 3 == 0) s->g[RAX] |= 0x8000000000000000ull;
}
/* vrndscale */
static __attribute__((unused)) double rnd_mode(double x, int mode) { switch (mode & 3) { case 0: return nearbyint(x); case 1: return floor(x); case 2: return ceil(x); default: return trunc(x); } }
TFN(t_rs1, "vrndscalesd $0x9, %xmm17, %xmm18, %xmm19")
static void r_rs1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[18]; memset(r.b + 16, 0, 48); r.g[0] = floor(in->z[17].g[0]); e->z[19] = r; }
TFN(t_rs2, "vrndscalesd $0xa, %xmm17, %xmm18, %xmm19")
static void r_rs2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[18]; memset(r.b + 16, 0, 48); r.g[0] = ceil(in->z[17].g[0]); e->z[19] = r; }
TFN(t_rs3, "vrndscalesd $0xb, %xmm17, %xmm18, %xmm19")
static void r_rs3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[18]; memset(r.b + 16, 0, 48); r.g[0] = trunc(in->z[17].g[0]); e->z[19] = r; }
TFN(t_rs4, "vrndscaless $0x8, %xmm17, %xmm18, %xmm19")
static void r_rs4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[18]; memset(r.b + 16, 0, 48); r.f[0] = nearbyintf(in->z[17].f[0]); e->z[19] = r; }
TFN(t_rs5, "vrndscalesd $0x21, %xmm17, %xmm18, %xmm19")  /* M=2: floor to quarters */
static void r_rs5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t r = in->z[18]; memset(r.b + 16, 0, 48); double x = in->z[17].g[0]; r.g[0] = (isnan(x) || isinf(x)) ? x + 0.0 : floor(x * 4) / 4; e->z[19] = r; }
static void prep_rs(st_t *s, uint8_t *mem) { prep_fpd(s, mem); s->z[17].g[0] = (double)((int64_t)(rnd() % 20001) - 10000) / 8.0 + (rnd() % 2 ? 0.0625 : 0); s->z[17].f[0] = (float)s->z[17].g[0]; }

/* compares: flags and k */
static void comis_ref(st_t *e, const st_t *in, double a, double b)
{ uint64_t f = in->fl & ~0x8d5ull; if (isnan(a) || isnan(b)) f |= 0x45; else if (a == b) f |= 0x40; else if (a < b) f |= 1; e->fl = f; }
TFN(t_cm1, "vcomiss %xmm17, %xmm18")
static void r_cm1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { comis_ref(e, in, in->z[18].f[0], in->z[17].f[0]); }
TFN(t_cm2, "vcomisd %xmm17, %xmm18")
static void r_cm2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { comis_ref(e, in, in->z[18].g[0], in->z[17].g[0]); }
TFN(t_cm3, "vucomiss %xmm17, %xmm1")
static void r_cm3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { comis_ref(e, in, in->z[1].f[0], in->z[17].f[0]); }
static void prep_cm(st_t *s, uint8_t *mem)
{
    prep_fps(s, mem);
    switch (rnd() % 5) {
    case 0: s->z[18].f[0] = s->z[1].f[0] = s->z[17].f[0]; break;
    case 1: s->z[18].f[0] = NAN; s->z[1].f[0] = NAN; break;
    case 2: s->z[17].g[0] = rndd(); s->z[18].g[0] = s->z[17].g[0]; break;
    case 3: s->z[17].g[0] = rndd(); s->z[18].g[0] = rndd(); break;
    default: s->z[17].g[0] = NAN; break;
    }
}
TFN(t_cm4, "vcmpleps %zmm1, %zmm2, %k1")
static void r_cm4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { uint64_t r = 0; for (int i = 0; i < 16; i++) if (in->z[2].f[i] <= in->z[1].f[i]) r |= 1ull << i; e->k[1] = r; }
TFN(t_cm5, "vcmpgeps %ymm1, %ymm2, %k1{%k2}")
static void r_cm5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { uint64_t r = 0; for (int i = 0; i < 8; i++) if (in->z[2].f[i] >= in->z[1].f[i]) r |= 1ull << i; e->k[1] = r & in->k[2] & 0xff; }
TFN(t_cm6, "vcmpneq_uqps %zmm1, %zmm2, %k3")
static void r_cm6(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { uint64_t r = 0; for (int i = 0; i < 16; i++) if (!(in->z[2].f[i] == in->z[1].f[i])) r |= 1ull << i; e->k[3] = r; }
static void prep_fcmp(st_t *s, uint8_t *mem) { prep_fps(s, mem); for (int i = 0; i < 16; i++) { int c = rnd() % 4; if (c == 0) s->z[1].f[i] = s->z[2].f[i]; if (c == 1) s->z[1].f[i] = NAN; } }

/* ================== gather / scatter ================== */
static void prep_idx(st_t *s, uint8_t *mem) { for (int i = 0; i < 16; i++) s->z[17].sd[i] = (int32_t)(rnd() % 128) - 64; if (rnd() % 4 == 0) s->k[1] = 0xffff; }
TFN(t_g1, "vgatherdps (%rsi,%zmm17,4), %zmm18{%k1}")
static void r_g1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ for (int i = 0; i < 16; i++) if (in->k[1] >> i & 1) memcpy(&e->z[18].d[i], im + 512 + 4 * (int64_t)in->z[17].sd[i], 4); e->k[1] = 0; }
TFN(t_g2, "vpgatherdd 0x10(%rsi,%ymm17,4), %ymm18{%k1}")
static void r_g2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r = in->z[18]; memset(r.b + 32, 0, 32); for (int i = 0; i < 8; i++) if (in->k[1] >> i & 1) memcpy(&r.d[i], im + 512 + 16 + 4 * (int64_t)in->z[17].sd[i], 4); e->z[18] = r; e->k[1] = 0; }
static void prep_qidx(st_t *s, uint8_t *mem) { for (int i = 0; i < 8; i++) s->z[17].q[i] = (uint64_t)MB + rnd() % 256; }
TFN(t_g3, "vpgatherqd 0x10(,%zmm17,1), %ymm18{%k1}")
static void r_g3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r = in->z[18]; memset(r.b + 32, 0, 32); for (int i = 0; i < 8; i++) if (in->k[1] >> i & 1) memcpy(&r.d[i], im + (in->z[17].q[i] - (uint64_t)M) + 16, 4); e->z[18] = r; e->k[1] = 0; }
TFN(t_g4, "vpgatherqd 0x10(,%ymm17,1), %xmm18{%k1}")
static void r_g4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r = in->z[18]; memset(r.b + 16, 0, 48); for (int i = 0; i < 4; i++) if (in->k[1] >> i & 1) memcpy(&r.d[i], im + (in->z[17].q[i] - (uint64_t)M) + 16, 4); e->z[18] = r; e->k[1] = 0; }
TFN(t_s1, "vscatterdps %zmm18, (%rsi,%zmm17,4){%k1}")
static void r_s1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ for (int i = 0; i < 16; i++) if (in->k[1] >> i & 1) memcpy(em + 512 + 4 * (int64_t)in->z[17].sd[i], &in->z[18].d[i], 4); e->k[1] = 0; }
TFN(t_s2, "vpscatterdd %ymm18, 0x8(%rsi,%ymm17,4){%k1}")
static void r_s2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ for (int i = 0; i < 8; i++) if (in->k[1] >> i & 1) memcpy(em + 512 + 8 + 4 * (int64_t)in->z[17].sd[i], &in->z[18].d[i], 4); e->k[1] = 0; }
static void prep_dupidx(st_t *s, uint8_t *mem) { for (int i = 0; i < 16; i++) s->z[17].sd[i] = (int32_t)(rnd() % 6); }

/* ================== prefixes, addressing ================== */
TFN(t_p1, "vmovq %fs:0x0, %xmm17")
static void r_p1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { uint64_t f; __asm__("mov %%fs:0, %0" : "=r"(f)); memset(&e->z[17], 0, 64); e->z[17].q[0] = f; }
TFN(t_p2, "addr32 vmovdqu64 0x40(%esi), %zmm17")
static void r_p2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->z[17] = MEMV(im, 64, 64); }
static void prep_p2(st_t *s, uint8_t *mem) { s->g[RSI] |= 0xdead00000000ull; }  /* upper half ignored with 0x67 */
TFN(t_p3, "vmovdqu64 0x44(%rsi), %zmm17")         /* not a multiple of N: disp32 */
static void r_p3(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->z[17] = MEMV(im, 0x44, 64); }
TFN(t_p4, "vmovdqu64 -0x2000(%rsi,%rbx,8), %zmm17")
static void r_p4(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { e->z[17] = MEMV(im, 0x40, 64); }
static void prep_p4(st_t *s, uint8_t *mem) { s->g[RBX] = (0x2000 + 0x40) / 8; }
TFN(t_p5, "vmovdqu32 -0x40(%r13), %zmm29{%k7}")   /* B/R'/V' extension bits, disp8 negative */
static void r_p5(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { vec_t m = MEMV(im, 0, 64); MERGE(&e->z[29], &in->z[29], &m, 4, 16, in->k[7], 0); }
static void prep_p5(st_t *s, uint8_t *mem) { s->g[R13] = (uint64_t)MB + 0x40; }
TFN(t_p6, "vpaddd (%r12,%r14,4), %zmm30, %zmm31")
static void r_p6(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bin_ref(e, in, im, op_add, 4, 64, 31, 30, -1, 4 * (long)in->g[R14], 0, 0, 0); }
static void prep_p6(st_t *s, uint8_t *mem) { s->g[R12] = (uint64_t)MB; s->g[R14] = rnd() % 16; }
/* raw bytes: vpaddd zmm3{k1}, zmm2, zmm20 written by hand: 62 b1 6d 49 fe dc */
TFN(t_raw1, ".byte 0x62, 0xb1, 0x6d, 0x49, 0xfe, 0xdc")
static void r_raw1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { bin_ref(e, in, im, op_add, 4, 64, 3, 2, 20, 0, 0, 1, 0); }

/* ================== shadow rule ================== */
/* native VEX write to ymm5 zeroes bits 511:256 */
TFN(t_sh_a, "vpxor %ymm5, %ymm5, %ymm5\n\tvmovdqu64 %zmm5, (%rsi)")
static void r_sh_a(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memset(em + 512, 0, 64); memset(&e->z[5], 0, 64); }
/* no native write: upper bits survive */
TFN(t_sh_b, "vmovdqu64 %zmm6, (%rsi)")
static void r_sh_b(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memcpy(em + 512, in->z[6].b, 64); }
/* native 128-bit VEX op on xmm7 */
TFN(t_sh_c, "vpaddd %xmm1, %xmm7, %xmm7\n\tvmovdqu64 %zmm7, (%rsi)")
static void r_sh_c(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memset(&r, 0, 64); for (int i = 0; i < 4; i++) r.d[i] = in->z[7].d[i] + in->z[1].d[i]; memcpy(em + 512, &r, 64); e->z[7] = r; }
/* EVEX 256-bit write zeroes 511:256 */
TFN(t_sh_d, "vpaddd %ymm17, %ymm2, %ymm8\n\tvmovdqu64 %zmm8, (%rsi)")
static void r_sh_d(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memset(&r, 0, 64); for (int i = 0; i < 8; i++) r.d[i] = in->z[2].d[i] + in->z[17].d[i]; memcpy(em + 512, &r, 64); e->z[8] = r; }
/* vzeroupper */
TFN(t_sh_e, "vzeroupper\n\tvmovdqu64 %zmm9, (%rsi)")
static void r_sh_e(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memset(&r, 0, 64); memcpy(&r, in->z[9].b, 16); memcpy(em + 512, &r, 64); for (int i = 0; i < 16; i++) memset(e->z[i].b + 16, 0, 48); }
/* EVEX 512-bit write then native read of ymm, then EVEX read again */
TFN(t_sh_f, "vpaddd %zmm1, %zmm2, %zmm10\n\tvmovdqu %ymm10, 0x40(%rsi)\n\tvmovdqu64 %zmm10, (%rsi)")
static void r_sh_f(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; for (int i = 0; i < 16; i++) r.d[i] = in->z[2].d[i] + in->z[1].d[i]; memcpy(em + 512, &r, 64); memcpy(em + 576, &r, 32); e->z[10] = r; }

/* the __ast_frdup pattern: an emulated 512-bit value with an all-zero low half,
 * then native "vpxor %xmm11,%xmm11,%xmm11", then an EVEX read of zmm11 */
TFN(t_sh_g, "vpxord %zmm11, %zmm11, %zmm11\n\tvinserti64x4 $1, %ymm1, %zmm11, %zmm11\n\tvpxor %xmm11, %xmm11, %xmm11\n\tvmovdqu64 %zmm11, (%rsi)")
static void r_sh_g(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im) { memset(em + 512, 0, 64); memset(&e->z[11], 0, 64); }
/* same value consumed within the same run: the upper half is kept */
TFN(t_sh_h, "vpxord %zmm12, %zmm12, %zmm12\n\tvinserti64x4 $1, %ymm1, %zmm12, %zmm12\n\tvmovdqu64 %zmm12, (%rsi)")
static void r_sh_h(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memset(&r, 0, 64); memcpy(r.b + 32, in->z[1].b, 32); memcpy(em + 512, &r, 64); e->z[12] = r; }

/* a zero-low-half value that legitimately lives across native scalar code */
TFN(t_sh_i, "vpxord %zmm13, %zmm13, %zmm13\n\tvinserti64x4 $1, %ymm1, %zmm13, %zmm13\n\tlea 1(%rax), %rax\n\tmov %rax, %rdx\n\tvmovdqu64 %zmm13, (%rsi)")
static void r_sh_i(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; memset(&r, 0, 64); memcpy(r.b + 32, in->z[1].b, 32); memcpy(em + 512, &r, 64); e->z[13] = r; e->g[RAX] = e->g[RDX] = in->g[RAX] + 1; }
/* ... and across a loop back-edge (accumulator with an all-zero low half) */
TFN(t_sh_j, "vpxord %zmm14, %zmm14, %zmm14\n\tmov $3, %ecx\n1:\tvpaddd %zmm2, %zmm14, %zmm14\n\tlea -1(%rcx), %rcx\n\tjrcxz 2f\n\tjmp 1b\n2:\tvmovdqu64 %zmm14, (%rsi)")
static void r_sh_j(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ vec_t r; for (int i = 0; i < 16; i++) r.d[i] = 3 * in->z[2].d[i]; memcpy(em + 512, &r, 64); e->z[14] = r; e->g[RCX] = 0; }
static void prep_sh_j(st_t *s, uint8_t *mem) { memset(s->z[2].b, 0, 32); }
/* ... but not across vzeroupper */
TFN(t_sh_k, "vpxord %zmm13, %zmm13, %zmm13\n\tvinserti64x4 $1, %ymm1, %zmm13, %zmm13\n\tvzeroupper\n\tvmovdqu64 %zmm13, (%rsi)")
static void r_sh_k(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{ memset(em + 512, 0, 64); for (int i = 0; i < 16; i++) memset(e->z[i].b + 16, 0, 48); memset(&e->z[13], 0, 64); }

/* ================== runs of instructions, branches into a run ================== */
/* The stub of a patched site emulates the following EVEX/opmask instructions
 * too; a branch to the second instruction must still work. */
static void prep_run(st_t *s, uint8_t *mem) { s->g[RCX] = rnd() & 1; }
TFN(t_run1, "jrcxz 1f\n\tvpaddd %zmm1, %zmm2, %zmm17\n1:\tkmovw %k1, %k2\n\tvpaddd %zmm17, %zmm17, %zmm18")
static void r_run1(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{
    if (in->g[RCX]) for (int i = 0; i < 16; i++) e->z[17].d[i] = in->z[1].d[i] + in->z[2].d[i];
    e->k[2] = in->k[1] & 0xffff;
    for (int i = 0; i < 16; i++) e->z[18].d[i] = e->z[17].d[i] * 2;
}
TFN(t_run2, "jrcxz 1f\n\tvpaddd %zmm1, %zmm2, %zmm17\n1:\tvpsubd %zmm17, %zmm3, %zmm18\n\tvmovdqu64 %zmm18, (%rsi)\n\tvmovd %xmm18, %eax")
static void r_run2(st_t *e, const st_t *in, uint8_t *em, const uint8_t *im)
{
    if (in->g[RCX]) for (int i = 0; i < 16; i++) e->z[17].d[i] = in->z[1].d[i] + in->z[2].d[i];
    for (int i = 0; i < 16; i++) e->z[18].d[i] = in->z[3].d[i] - e->z[17].d[i];
    memcpy(em + 512, &e->z[18], 64);
    e->g[RAX] = e->z[18].d[0];
}

/* ------------------------------------------------------------------ */

#define C(n) {#n, t_##n, r_##n, 0, 0}
#define CP(n, p) {#n, t_##n, r_##n, p, 0}
static struct tcase cases[] = {
    C(mov1), C(mov2), C(mov3), C(mov4), C(mov5), C(mov6), C(mov7), C(mov8), C(mov9), C(mov10), C(mov11), C(mov12),
    C(mov13), C(mov14), C(mov15), C(mov16),
    C(movd1), C(movd2), C(movd3), C(movd4), C(movd5), C(movd6), C(movd7), C(movd8), C(movd9), C(movd11),
    C(movss1), C(movss2), C(movss3), C(movss4), C(movss5), C(movss6),
    C(add1), C(add2), C(add3), C(add4), C(add5), C(add6), C(add7), C(add8), C(add9), C(sub1), C(sub2), C(sub3),
    C(mul1), C(mul2), C(min1), C(min2), C(and1), C(and2), C(and3), C(and4), C(and5), C(and6), C(and7), C(and8),
    CP(srlv, prep_shiftcounts), C(abs1), C(abs2), C(dp1), C(tern1), C(tern2), C(tern3),
    C(sh1), CP(sh2, prep_cnt), C(sh3), CP(sh4, prep_cnt), C(sh5), C(sh6), C(sh7), C(sh8), C(sh9), C(sh10), C(sh11), C(sh12),
    C(sh13), C(sh14), C(sh15),
    CP(cmp1, prep_cmp), CP(cmp2, prep_cmp), CP(cmp3, prep_cmp), CP(cmp4, prep_cmp), CP(cmp5, prep_cmp), CP(cmp6, prep_cmp),
    CP(cmp7, prep_cmp), CP(cmp8, prep_cmp), CP(cmp9, prep_cmp), CP(cmp10, prep_cmp), CP(cmp11, prep_cmp), CP(cmp12, prep_cmp),
    C(bl1), C(bl2), C(bl3), C(bl4), C(bl5), C(bl6),
    C(pm1), C(pm2), C(pm3), C(pm4), C(pm5), C(pm6), C(pm7), C(pm8), C(pm9), C(pm10), C(pm11), C(pm12), C(pm13), C(pm14), C(pm15), C(pm16),
    C(al1), C(al2), C(al3), C(al4), C(al5),
    C(bc1), C(bc2), C(bc3), C(bc4), C(bc5), C(bc6), C(bc7), C(bc8), C(bc9), C(bc10), C(bc11), C(bc12),
    C(ext1), C(ext2), C(ext3), C(ext4), C(ext5), C(ext6), C(ext7), C(dn1), C(dn2), C(dn3), C(dn4), C(dn5),
    C(x1), C(x2), C(x3), C(x4), C(x5), C(x6), C(x7), C(x8), C(x9), C(x10), C(x11), C(x12), C(x13), C(x14), C(x15), C(x16),
    C(x17), C(x18), C(x19), C(x20), C(x21), C(x22), C(x23), C(x24), C(x25),
    C(k1), C(k2), C(k3), C(k4), C(k5), C(k6), C(k7), C(k8), C(k9), C(k10), C(k11),
    CP(k12, prep_kflags), CP(k13, prep_kflags), CP(k14, prep_kflags), CP(k15, prep_kflags), C(k16), C(k17), C(k18), C(k19),
    CP(fp1, prep_fps), CP(fp2, prep_fps), CP(fp3, prep_fps), CP(fp4, prep_fps), CP(fp5, prep_fps), CP(fp6, prep_fps),
    CP(fp7, prep_fps), CP(fp8, prep_fps), CP(fp9, prep_fps), CP(fp10, prep_fpd), CP(fp11, prep_fpd), CP(fp12, prep_fps),
    CP(fma1, prep_fps), CP(fma2, prep_fps), CP(fma3, prep_fps), CP(fma4, prep_fps), CP(fma5, prep_fps), CP(fma6, prep_fps),
    CP(fma7, prep_fps), CP(fma8, prep_fps), CP(fma9, prep_fps), CP(fma10, prep_fps),
    CP(sf1, prep_fps), CP(sf2, prep_fps), CP(sf3, prep_fps), CP(sf4, prep_fps), CP(sf5, prep_fps),
    CP(ss1, prep_fps), CP(ss2, prep_fps), CP(ss3, prep_fps), CP(sd1, prep_fpd), CP(sd2, prep_fpd), CP(sd3, prep_fpd),
    CP(cv1, 0), CP(cv2, prep_cvt), CP(cv3, prep_fps), CP(cv4, prep_cvt), CP(cv5, prep_fpd), CP(cv6, prep_fps), C(cv7), C(cv8),
    CP(cv9, prep_cvt), CP(cv10, prep_cvt), C(cv11), CP(cv12, prep_cvt), CP(cv13, prep_cvt), CP(cv14, prep_cvt), CP(cv15, prep_cvt),
    CP(rs1, prep_rs), CP(rs2, prep_rs), CP(rs3, prep_rs), CP(rs4, prep_rs), CP(rs5, prep_rs),
    CP(cm1, prep_cm), CP(cm2, prep_cm), CP(cm3, prep_cm), CP(cm4, prep_fcmp), CP(cm5, prep_fcmp), CP(cm6, prep_fcmp),
    CP(g1, prep_idx), CP(g2, prep_idx), CP(g3, prep_qidx), CP(g4, prep_qidx), CP(s1, prep_idx), CP(s2, prep_dupidx),
    C(p1), CP(p2, prep_p2), C(p3), CP(p4, prep_p4), CP(p5, prep_p5), CP(p6, prep_p6), C(raw1),
    C(sh_a), C(sh_b), C(sh_c), C(sh_d), C(sh_e), C(sh_f), C(sh_g), C(sh_h), C(sh_i), CP(sh_j, prep_sh_j), C(sh_k), CP(run1, prep_run), CP(run2, prep_run),
};

static int cmp_state(const char *name, int it, const st_t *e, const st_t *o, const uint8_t *em, const uint8_t *om, int flagmask)
{
    int bad = 0;
    for (int i = 0; i < 32; i++)
        if (memcmp(&e->z[i], &o->z[i], 64)) {
            if (!bad++) printf("FAIL %s (iteration %d)\n", name, it);
            printf("  zmm%d: expected", i);
            for (int j = 15; j >= 0; j--) printf(" %08x", e->z[i].d[j]);
            printf("\n         got     ");
            for (int j = 15; j >= 0; j--) printf(" %08x", o->z[i].d[j]);
            printf("\n");
        }
    for (int i = 0; i < 8; i++)
        if (e->k[i] != o->k[i]) { if (!bad++) printf("FAIL %s (iteration %d)\n", name, it); printf("  k%d: expected %016llx got %016llx\n", i, (unsigned long long)e->k[i], (unsigned long long)o->k[i]); }
    for (int i = 0; i < 16; i++)
        if (e->g[i] != o->g[i]) { if (!bad++) printf("FAIL %s (iteration %d)\n", name, it); printf("  gpr%d: expected %016llx got %016llx\n", i, (unsigned long long)e->g[i], (unsigned long long)o->g[i]); }
    if ((e->fl & 0x8d5) != (o->fl & 0x8d5)) { if (!bad++) printf("FAIL %s (iteration %d)\n", name, it); printf("  rflags: expected %llx got %llx\n", (unsigned long long)e->fl, (unsigned long long)o->fl); }
    for (int i = 0; i < MEMSZ; i++)
        if (em[i] != om[i]) { if (!bad++) printf("FAIL %s (iteration %d)\n", name, it); printf("  mem[%d]: expected %02x got %02x\n", i - 512, em[i], om[i]); break; }
    return bad;
}

static int run_one(struct tcase *t, int iters)
{
    static uint8_t im[MEMSZ], em[MEMSZ], om[MEMSZ];
    int fails = 0;
    for (int it = 0; it < iters; it++) {
        st_t in, e, o;
        randomize(&in, im);
        if (t->prep) t->prep(&in, im);
        e = in;
        memcpy(em, im, MEMSZ);
        t->ref(&e, &in, em, im);
        o = in;
        exec_state(t->fn, &o, im, om);
        e.mxcsr = o.mxcsr;
        if (cmp_state(t->name, it, &e, &o, em, om, t->flagmask)) { fails++; if (fails > 2) break; }
    }
    return fails;
}

/* MXCSR flags: vcvttss2usi of NaN raises IE; vaddps inexact raises PE; {sae} raises nothing */
TFN(t_mx1, "vcvttss2usi %xmm17, %eax")
TFN(t_mx2, "vaddps %zmm17, %zmm18, %zmm19")
TFN(t_mx3, "vaddps {rn-sae}, %zmm17, %zmm18, %zmm19")
TFN(t_mx4, "vaddps %zmm17, %zmm18, %zmm19{%k1}")
static int mxcsr_tests(void)
{
    static uint8_t im[MEMSZ], om[MEMSZ];
    int fails = 0;
    st_t s;
    randomize(&s, im);
    s.z[17].f[0] = NAN;
    exec_state(t_mx1, &s, im, om);
    if (!(s.mxcsr & 1) || (uint32_t)s.g[RAX] != 0xffffffffu) { printf("FAIL mxcsr: cvttss2usi(NaN) mxcsr=%x rax=%llx\n", s.mxcsr, (unsigned long long)s.g[RAX]); fails++; }
    randomize(&s, im);
    for (int i = 0; i < 16; i++) { s.z[17].f[i] = 1.0f; s.z[18].f[i] = 1e-9f; }
    exec_state(t_mx2, &s, im, om);
    if ((s.mxcsr & 0x3f) != 0x20) { printf("FAIL mxcsr: inexact add mxcsr=%x\n", s.mxcsr); fails++; }
    randomize(&s, im);
    for (int i = 0; i < 16; i++) { s.z[17].f[i] = 1.0f; s.z[18].f[i] = 1e-9f; }
    exec_state(t_mx3, &s, im, om);
    if ((s.mxcsr & 0x3f) != 0) { printf("FAIL mxcsr: {sae} add set flags mxcsr=%x\n", s.mxcsr); fails++; }
    randomize(&s, im);
    for (int i = 0; i < 16; i++) { s.z[17].f[i] = 1.0f; s.z[18].f[i] = (i == 3) ? 1e-9f : 2.0f; }
    s.k[1] = ~(1ull << 3);  /* the inexact element is masked off: no PE */
    exec_state(t_mx4, &s, im, om);
    if ((s.mxcsr & 0x3f) != 0) { printf("FAIL mxcsr: masked-off element raised flags mxcsr=%x\n", s.mxcsr); fails++; }
    randomize(&s, im);
    s.mxcsr = 0x1f80 | (3 << 13);  /* RC = toward zero applies to emulated ops */
    for (int i = 0; i < 16; i++) { s.z[17].f[i] = 1.0f; s.z[18].f[i] = 1e-7f; }
    exec_state(t_mx2, &s, im, om);
    if (s.z[19].f[0] != 1.0f) { printf("FAIL mxcsr: RZ rounding not applied (%a)\n", s.z[19].f[0]); fails++; }
    return fails;
}

/* A masked load whose masked-off elements lie on an unmapped page must not fault. */
TFN(t_fs1, "vmovdqu8 (%rdi), %zmm17{%k1}{z}")
TFN(t_fs2, "vmovdqu8 %zmm17, (%rdi){%k1}")
static int fault_suppression_test(void)
{
    static uint8_t im[MEMSZ], om[MEMSZ];
    uint8_t *pg = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pg + 4096, 4096);
    st_t s;
    randomize(&s, im);
    memset(pg + 4096 - 10, 0x77, 10);
    s.g[RDI] = (uint64_t)(pg + 4096 - 10);
    s.k[1] = 0x3ff;          /* only the first 10 bytes */
    exec_state(t_fs1, &s, im, om);
    int ok = 1;
    for (int i = 0; i < 64; i++) if (s.z[17].b[i] != (i < 10 ? 0x77 : 0)) ok = 0;
    s.k[1] = 0x3ff;
    memset(&s.z[17], 0x11, 64);
    s.g[RDI] = (uint64_t)(pg + 4096 - 10);
    exec_state(t_fs2, &s, im, om);
    for (int i = 0; i < 10; i++) if (pg[4096 - 10 + i] != 0x11) ok = 0;
    munmap(pg, 4096);
    if (!ok) printf("FAIL fault suppression\n");
    return !ok;
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 40;
    if (!evex_emu_active()) { printf("emulator not active (native AVX-512?): nothing to test\n"); return 0; }
    M = mmap(0, MEMSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (M == MAP_FAILED) { perror("mmap"); return 1; }
    int pass = 0, fail = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (run_one(&cases[i], iters)) fail++; else pass++;
    }
    if (mxcsr_tests()) fail++; else pass++;
    if (fault_suppression_test()) fail++; else pass++;
    printf("%d passed, %d failed\n", pass, fail);
    return fail ? 1 : 0;
}
