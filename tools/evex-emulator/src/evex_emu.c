/* evex-emu: decoder and executor for AVX-512 (EVEX) and VEX opmask instructions.
 *
 * Every instruction is emulated from its Intel SDM definition on a virtual
 * register file: zmm0-15 bits 255:0 live in the real XSAVE image (xmm in the
 * legacy region, bits 255:128 in the AVX component); bits 511:256 of zmm0-15,
 * zmm16-31 and k0-k7 live in per-thread TLS (struct evex_tls).
 *
 * Built without AVX-512 (and without any vector ISA beyond the x86-64 base
 * plus SSE4.1 inline asm for ROUNDSS/SD), so the emulator never faults itself.
 */
#define _GNU_SOURCE
#include "evex_emu.h"
#include <string.h>
#include <math.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <asm/prctl.h>

__thread struct evex_tls evex_T __attribute__((tls_model("initial-exec")));
__thread const char *evex_err;
uint32_t evex_avx_off = 576;

struct evex_tls *evex_emu_tls(void) { return &evex_T; }

#define T evex_T
#define FAIL(msg) do { evex_err = (msg); return -1; } while (0)

/* ------------------------------------------------------------------ */
/* Decoder                                                              */
/* ------------------------------------------------------------------ */

static int has_imm8(int map, int opc)
{
    if (map == 3) return 1;
    if (map == 1) return (opc >= 0x70 && opc <= 0x73) || opc == 0xC2 || opc == 0xC4 || opc == 0xC5 || opc == 0xC6;
    return 0;
}

int evex_decode(const uint8_t *p, struct insn *I)
{
    int i = 0;
    memset(I, 0, sizeof *I);
    I->p = p; I->base = -1; I->index = -1; I->imm = -1;
    for (;; i++) {
        uint8_t b = p[i];
        if (i > 4) return -1;
        if (b == 0x64) I->seg = 4;
        else if (b == 0x65) I->seg = 5;
        else if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e) ;
        else if (b == 0x67) I->a32 = 1;
        else break;
    }
    int R = 0, X = 0, B = 0, R2 = 0;
    if (p[i] == 0x62) {
        uint8_t P0 = p[i + 1], P1 = p[i + 2], P2 = p[i + 3];
        if ((P0 & 0x08) || !(P1 & 0x04)) return -1;
        I->kind = 1;
        I->map = P0 & 7;
        R = !(P0 & 0x80); X = !(P0 & 0x40); B = !(P0 & 0x20); R2 = !(P0 & 0x10);
        I->W = P1 >> 7; I->pp = P1 & 3;
        I->z = P2 >> 7; I->LL = (P2 >> 5) & 3; I->bc = (P2 >> 4) & 1;
        I->Vp = !(P2 & 0x08); I->aaa = P2 & 7;
        I->vvvv = ((~P1 >> 3) & 15) | (I->Vp << 4);
        I->opc = p[i + 4];
        i += 5;
    } else if (p[i] == 0xC5) {
        uint8_t b1 = p[i + 1];
        I->kind = 2; I->map = 1;
        R = !(b1 & 0x80);
        I->vvvv = (~b1 >> 3) & 15; I->LL = (b1 >> 2) & 1; I->pp = b1 & 3;
        I->opc = p[i + 2];
        i += 3;
    } else if (p[i] == 0xC4) {
        uint8_t b1 = p[i + 1], b2 = p[i + 2];
        I->kind = 2;
        R = !(b1 & 0x80); X = !(b1 & 0x40); B = !(b1 & 0x20); I->map = b1 & 0x1f;
        I->W = b2 >> 7; I->vvvv = (~b2 >> 3) & 15; I->LL = (b2 >> 2) & 1; I->pp = b2 & 3;
        I->opc = p[i + 3];
        i += 4;
    } else
        return -1;
    uint8_t modrm = p[i++];
    I->mod = modrm >> 6;
    I->reg3 = (modrm >> 3) & 7;
    I->reg = I->reg3 | (R << 3) | (R2 << 4);
    int rmf = modrm & 7;
    if (I->mod == 3) {
        I->rmg = rmf | (B << 3);
        I->rm = rmf | (B << 3) | ((I->kind == 1 ? X : 0) << 4);
    } else {
        if (rmf == 4) {
            uint8_t sib = p[i++];
            I->scale = sib >> 6;
            int idx = ((sib >> 3) & 7) | (X << 3);
            I->vindex = idx | (I->Vp << 4);
            I->index = (idx == 4) ? -1 : idx;
            if ((sib & 7) == 5 && I->mod == 0) { I->base = -1; I->disp = *(const int32_t *)(p + i); i += 4; }
            else I->base = (sib & 7) | (B << 3);
        } else if (rmf == 5 && I->mod == 0) {
            I->riprel = 1; I->disp = *(const int32_t *)(p + i); i += 4;
        } else
            I->base = rmf | (B << 3);
        if (I->mod == 1) { I->disp = (int8_t)p[i++]; I->disp8 = (I->kind == 1); }
        else if (I->mod == 2) { I->disp = *(const int32_t *)(p + i); i += 4; }
    }
    if (has_imm8(I->map, I->opc)) I->imm = p[i++];
    I->len = i;
    if (I->kind == 2) {
        /* VEX: only the opmask instructions are ours (a native AVX/AVX2 instruction never traps) */
        int o = I->opc;
        if (I->map == 1 && ((o >= 0x41 && o <= 0x47 && o != 0x43) || o == 0x4A || o == 0x4B || (o >= 0x90 && o <= 0x93) || o == 0x98 || o == 0x99)) return 0;
        if (I->map == 3 && o >= 0x30 && o <= 0x33) return 0;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Register file                                                        */
/* ------------------------------------------------------------------ */

static inline uint64_t *xbv(struct cpu *c) { return (uint64_t *)(c->xsave + 512); }
static inline uint32_t *mxcsr_p(struct cpu *c) { return (uint32_t *)(c->xsave + 24); }

static void rd_lo(struct cpu *c, int n, uint8_t *out)
{
    uint64_t bv = *xbv(c);
    if (bv & 2) memcpy(out, c->xsave + 160 + 16 * n, 16); else memset(out, 0, 16);
    if (bv & 4) memcpy(out + 16, c->xsave + evex_avx_off + 16 * n, 16); else memset(out + 16, 0, 16);
}

static void wr_lo(struct cpu *c, int n, const uint8_t *in)
{
    uint64_t *bv = xbv(c);
    if (!(*bv & 2)) { memset(c->xsave + 160, 0, 256); *bv |= 2; }
    if (!(*bv & 4)) { memset(c->xsave + evex_avx_off, 0, 256); *bv |= 4; }
    memcpy(c->xsave + 160 + 16 * n, in, 16);
    memcpy(c->xsave + evex_avx_off + 16 * n, in + 16, 16);
}

static int allzero(const uint8_t *p, int n) { for (int i = 0; i < n; i++) if (p[i]) return 0; return 1; }

void (*evex_shadow_hook)(int n, uint64_t wrip, uint64_t rrip, int kind);

/* Read the full 512-bit zmm n.
 * Bits 511:256 of zmm0-15 that the emulator wrote are still valid unless
 * native code wrote the register since (any VEX write zeroes them). At each
 * run entry the native code executed since the previous run is analysed
 * (native_scan.c) and may_write marks the registers it may have written.
 *  - bits 255:0 differ from what the emulator wrote: a native write happened;
 *  - equal, and not in may_write: valid;
 *  - equal, in may_write (or the path was not analysable): valid unless bits
 *    255:0 are all zero - the zeroing idiom "vpxor %xmmN,%xmmN,%xmmN" leaves
 *    exactly that, and it is the only common native write that reproduces
 *    the emulator's low half. */
static void get_vreg(struct cpu *c, int n, vec_t *v)
{
    if (n >= 16) { memcpy(v, T.z16[n - 16], 64); return; }
    rd_lo(c, n, v->b);
    if (T.hi_valid & (1u << n)) {
        if (memcmp(v->b, T.shadow[n], 32) == 0) {
            if (!(T.may_write & (1u << n)) || !allzero(v->b, 32)) { memcpy(v->b + 32, T.zhi[n], 32); return; }
            if (evex_shadow_hook) evex_shadow_hook(n, T.wrip[n], c->rip, 0);
        }
        T.hi_valid &= ~(1u << n);
    }
    memset(v->b + 32, 0, 32);
}

/* Results of native_scan per (E, S), shared by all threads. An entry is
 * validated by a check word over its fields, so a torn read is a miss. */
#define SCACHE 8192
struct scan_ent { uint64_t e, s; uint32_t r, chk; };
static struct scan_ent scache[SCACHE];
static inline uint64_t sc_hash(uint64_t e, uint64_t s) { return (e * 0x9E3779B97F4A7C15ull) ^ (s * 0xC2B2AE3D27D4EB4Full); }
static inline uint32_t sc_chk(uint64_t e, uint64_t s, uint32_t r) { uint64_t h = sc_hash(e, s) ^ (r * 0x165667B19E3779F9ull); return (uint32_t)(h >> 32) | 1; }
void evex_scan_cache_flush(void) { memset(scache, 0, sizeof scache); }

int evex_begin_run(uint64_t S, int (*in_stub)(uint64_t), int (*readable)(uint64_t))
{
    uint64_t E = T.last_end;
    T.last_end = 0;
    if (E == S) return 0;                         /* no native instruction in between */
    if (!(T.hi_valid & ~T.may_write)) return 0;   /* nothing left to protect */
    uint32_t r;
    struct scan_ent *ce = &scache[(sc_hash(E, S) >> 40) & (SCACHE - 1)];
    uint64_t ee = __atomic_load_n(&ce->e, __ATOMIC_RELAXED), es = __atomic_load_n(&ce->s, __ATOMIC_RELAXED);
    uint32_t er = __atomic_load_n(&ce->r, __ATOMIC_RELAXED), ec = __atomic_load_n(&ce->chk, __ATOMIC_RELAXED);
    if (E && ee == E && es == S && ec == sc_chk(E, S, er)) r = er;
    else {
        /* E may belong to code unmapped since (dlclose): probe it first */
        r = (E && (!readable || readable(E))) ? evex_native_scan(E, S, in_stub) : SCAN_UNKNOWN;
        if (E) {
            __atomic_store_n(&ce->chk, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&ce->e, E, __ATOMIC_RELAXED);
            __atomic_store_n(&ce->s, S, __ATOMIC_RELAXED);
            __atomic_store_n(&ce->r, r, __ATOMIC_RELAXED);
            __atomic_store_n(&ce->chk, sc_chk(E, S, r), __ATOMIC_RELEASE);
        }
    }
    if (r == SCAN_UNKNOWN) { T.may_write = 0xffff; return 1; }
    if (r & SCAN_ZEROUPPER) { T.hi_valid = 0; return 1; }   /* vzeroupper on every path */
    T.may_write |= r & 0xffff;
    return 1;
}

void evex_end_run(uint64_t E) { T.last_end = E; }

/* Write zmm n: vlb bytes of v, zero the rest up to 512 bits. */
static void set_vreg(struct cpu *c, int n, const vec_t *v, int vlb)
{
    if (n >= 16) {
        memcpy(T.z16[n - 16], v, vlb);
        memset(T.z16[n - 16] + vlb, 0, 64 - vlb);
        return;
    }
    uint8_t lo[32];
    memcpy(lo, v->b, vlb < 32 ? vlb : 32);
    if (vlb < 32) memset(lo + vlb, 0, 32 - vlb);
    wr_lo(c, n, lo);
    if (vlb == 64 && !allzero(v->b + 32, 32)) {
        memcpy(T.zhi[n], v->b + 32, 32);
        memcpy(T.shadow[n], lo, 32);
        T.hi_valid |= 1u << n;
        T.may_write &= ~(1u << n);
        T.wrip[n] = c->rip;
    } else
        T.hi_valid &= ~(1u << n);
}

static inline uint64_t greg(struct cpu *c, int n) { return *c->gpr[n]; }
static inline void set_greg32(struct cpu *c, int n, uint32_t v) { *c->gpr[n] = v; }
static inline void set_greg64(struct cpu *c, int n, uint64_t v) { *c->gpr[n] = v; }

/* ------------------------------------------------------------------ */
/* Elements, masks, memory                                              */
/* ------------------------------------------------------------------ */

static inline uint64_t ge(const vec_t *v, int es, int i)
{
    switch (es) { case 1: return v->b[i]; case 2: return v->w[i]; case 4: return v->d[i]; default: return v->q[i]; }
}
static inline void se(vec_t *v, int es, int i, uint64_t x)
{
    switch (es) { case 1: v->b[i] = x; break; case 2: v->w[i] = x; break; case 4: v->d[i] = x; break; default: v->q[i] = x; }
}
static inline int64_t sx(uint64_t x, int es) { int s = 64 - 8 * es; return (int64_t)(x << s) >> s; }
static inline uint64_t fullm(int n) { return n >= 64 ? ~0ull : (1ull << n) - 1; }
static inline uint64_t emask(int es) { return es == 8 ? ~0ull : (1ull << (8 * es)) - 1; }

static inline uint64_t kmask(const struct insn *I, int nel)
{
    return I->aaa ? (T.k[I->aaa] & fullm(nel)) : fullm(nel);
}

static uint64_t segbase(int seg)
{
    unsigned long b = 0;
    syscall(SYS_arch_prctl, seg == 4 ? ARCH_GET_FS : ARCH_GET_GS, &b);
    return b;
}

static uint64_t addr_of(struct cpu *c, const struct insn *I, int N)
{
    uint64_t a;
    int64_t d = I->disp8 ? (int64_t)I->disp * N : I->disp;
    if (I->riprel) a = c->rip + I->len + d;
    else {
        a = d;
        if (I->base >= 0) a += greg(c, I->base);
        if (I->index >= 0) a += greg(c, I->index) << I->scale;
    }
    if (I->a32) a &= 0xffffffffu;
    if (I->seg) a += segbase(I->seg);
    return a;
}

static inline void mrd(uint64_t a, void *d, int n) { memcpy(d, (const void *)a, n); }
static inline void mwr(uint64_t a, const void *s, int n) { memcpy((void *)a, s, n); }

/* Read nel elements of es bytes; only masked-in elements are touched
 * (AVX-512 memory fault suppression); the others read as 0. */
static void mrd_m(uint64_t a, vec_t *v, int nel, int es, uint64_t m)
{
    if (m == fullm(nel)) { mrd(a, v, nel * es); return; }
    memset(v, 0, 64);
    for (int i = 0; i < nel; i++) if ((m >> i) & 1) mrd(a + i * es, v->b + i * es, es);
}
static void mwr_m(uint64_t a, const vec_t *v, int nel, int es, uint64_t m)
{
    if (m == fullm(nel)) { mwr(a, v, nel * es); return; }
    for (int i = 0; i < nel; i++) if ((m >> i) & 1) mwr(a + i * es, v->b + i * es, es);
}

/* Write result r (nel elements of es bytes) to zmm reg with merge/zero
 * masking; bytes past nel*es are zeroed up to bit 511. */
static void put_vec_n(struct cpu *c, const struct insn *I, int reg, vec_t *r, int es, int nel)
{
    int nb = nel * es;
    uint64_t m = kmask(I, nel);
    if (m != fullm(nel)) {
        vec_t old;
        if (!I->z) get_vreg(c, reg, &old);
        for (int i = 0; i < nel; i++)
            if (!((m >> i) & 1)) se(r, es, i, I->z ? 0 : ge(&old, es, i));
    }
    if (nb < 64) memset(r->b + nb, 0, 64 - nb);
    set_vreg(c, reg, r, nb < 16 ? 16 : nb);
}
static void put_vec(struct cpu *c, const struct insn *I, int reg, vec_t *r, int es, int vlb)
{
    put_vec_n(c, I, reg, r, es, vlb / es);
}

/* Fetch the r/m vector operand: register, full memory (N = vlb), or
 * broadcast element (N = es). m = fault-suppression mask (elements). */
static int get_rm(struct cpu *c, const struct insn *I, vec_t *v, int vlb, int es, int bcst_ok, uint64_t m)
{
    if (I->mod == 3) { get_vreg(c, I->rm, v); return 0; }
    if (I->bc) {
        if (!bcst_ok) return -1;
        uint64_t x = 0;
        if (m) mrd(addr_of(c, I, es), &x, es);
        for (int i = 0; i < vlb / es; i++) se(v, es, i, x);
        return 0;
    }
    mrd_m(addr_of(c, I, vlb), v, vlb / es, es, m);
    return 0;
}

/* Memory/register source of a fixed size (no broadcast): N given. */
static void get_rm_n(struct cpu *c, const struct insn *I, vec_t *v, int nbytes, int N)
{
    if (I->mod == 3) { get_vreg(c, I->rm, v); return; }
    memset(v, 0, 64);
    mrd(addr_of(c, I, N), v, nbytes);
}

/* ------------------------------------------------------------------ */
/* Floating point helpers (exact x86 semantics via legacy SSE)          */
/* ------------------------------------------------------------------ */

static __thread uint32_t fp_saved, fp_er;

static void fp_begin(struct cpu *c, const struct insn *I, int er_ok)
{
    uint32_t app = *mxcsr_p(c), m;
    __asm__ volatile("stmxcsr %0" : "=m"(fp_saved));
    m = (app & ~0x3fu) | 0x1f80u;              /* app's RC/FTZ/DAZ, all exceptions masked, flags clear */
    fp_er = (I->bc && I->mod == 3 && er_ok);
    if (fp_er && er_ok == 2) m = (m & ~0x6000u) | ((uint32_t)I->LL << 13);
    __asm__ volatile("ldmxcsr %0" : : "m"(m));
}

static void fp_end(struct cpu *c)
{
    uint32_t m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    __asm__ volatile("ldmxcsr %0" : : "m"(fp_saved));
    if (!fp_er) *mxcsr_p(c) |= m & 0x3f;       /* {sae}/{er}: no flags */
}

static inline void raise_ie(void)
{
    uint32_t m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    m |= 1;
    __asm__ volatile("ldmxcsr %0" : : "m"(m));
}

#define SSE2(op, t, suf, a, b) ({ t _a = (a), _b = (b); __asm__ volatile(op suf " %1, %0" : "+x"(_a) : "x"(_b)); _a; })
static float fops(int op, float a, float b)
{
    switch (op) {
    case 0x58: return SSE2("add", float, "ss", a, b);
    case 0x59: return SSE2("mul", float, "ss", a, b);
    case 0x5C: return SSE2("sub", float, "ss", a, b);
    case 0x5D: return SSE2("min", float, "ss", a, b);
    case 0x5E: return SSE2("div", float, "ss", a, b);
    case 0x5F: return SSE2("max", float, "ss", a, b);
    case 0x51: { float r; __asm__ volatile("sqrtss %1, %0" : "=x"(r) : "x"(b)); return r; }
    }
    return 0;
}
static double fopd(int op, double a, double b)
{
    switch (op) {
    case 0x58: return SSE2("add", double, "sd", a, b);
    case 0x59: return SSE2("mul", double, "sd", a, b);
    case 0x5C: return SSE2("sub", double, "sd", a, b);
    case 0x5D: return SSE2("min", double, "sd", a, b);
    case 0x5E: return SSE2("div", double, "sd", a, b);
    case 0x5F: return SSE2("max", double, "sd", a, b);
    case 0x51: { double r; __asm__ volatile("sqrtsd %1, %0" : "=x"(r) : "x"(b)); return r; }
    }
    return 0;
}

/* FMA: form 132/213/231 and kind (0 fmadd, 1 fmsub, 2 fnmadd, 3 fnmsub).
 * x = dest, y = vvvv, z = r/m. */
static float fmas(int form, int kind, float x, float y, float z)
{
    float a, b, cc;
    if (form == 132) { a = x; b = z; cc = y; } else if (form == 213) { a = y; b = x; cc = z; } else { a = y; b = z; cc = x; }
    if (kind & 2) a = -a;
    if (kind & 1) cc = -cc;
    return fmaf(a, b, cc);
}
static double fmad(int form, int kind, double x, double y, double z)
{
    double a, b, cc;
    if (form == 132) { a = x; b = z; cc = y; } else if (form == 213) { a = y; b = x; cc = z; } else { a = y; b = z; cc = x; }
    if (kind & 2) a = -a;
    if (kind & 1) cc = -cc;
    return fma(a, b, cc);
}

/* Compare returning flags-relation: 0 = gt, 1 = lt, 2 = eq, 3 = unordered;
 * signalling (comis) or quiet (ucomis) for exception flags. */
static int fcmp_s(float a, float b, int sig)
{
    uint8_t zf, pf, cf;
    if (sig) __asm__ volatile("comiss %3, %4\n\tsetz %0\n\tsetp %1\n\tsetc %2" : "=r"(zf), "=r"(pf), "=r"(cf) : "x"(b), "x"(a) : "cc");
    else __asm__ volatile("ucomiss %3, %4\n\tsetz %0\n\tsetp %1\n\tsetc %2" : "=r"(zf), "=r"(pf), "=r"(cf) : "x"(b), "x"(a) : "cc");
    if (pf) return 3;
    if (zf) return 2;
    return cf ? 1 : 0;
}
static int fcmp_d(double a, double b, int sig)
{
    uint8_t zf, pf, cf;
    if (sig) __asm__ volatile("comisd %3, %4\n\tsetz %0\n\tsetp %1\n\tsetc %2" : "=r"(zf), "=r"(pf), "=r"(cf) : "x"(b), "x"(a) : "cc");
    else __asm__ volatile("ucomisd %3, %4\n\tsetz %0\n\tsetp %1\n\tsetc %2" : "=r"(zf), "=r"(pf), "=r"(cf) : "x"(b), "x"(a) : "cc");
    if (pf) return 3;
    if (zf) return 2;
    return cf ? 1 : 0;
}

/* VCMPPS predicate (imm8[4:0]) applied to relation. */
static int cmp_pred(int p, int rel)
{
    int lt = rel == 1, eq = rel == 2, gt = rel == 0, un = rel == 3;
    switch (p & 15) {
    case 0: return eq;          case 1: return lt;         case 2: return lt || eq;  case 3: return un;
    case 4: return !eq;         case 5: return !lt;        case 6: return !(lt || eq); case 7: return !un;
    case 8: return eq || un;    case 9: return lt || un;   case 10: return !gt;      case 11: return 0;
    case 12: return lt || gt;   case 13: return gt || eq;  case 14: return gt;       case 15: return 1;
    }
    return 0;
}
static int pred_signals(int p)
{
    static const uint32_t sigset = (1u << 1) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 9) | (1u << 10) | (1u << 13) | (1u << 14)
        | (1u << 16) | (1u << 19) | (1u << 20) | (1u << 23) | (1u << 24) | (1u << 27) | (1u << 28) | (1u << 31);
    return (sigset >> (p & 31)) & 1;
}

#define RND_CASE(k, insn, r, x) case k: __asm__ volatile(insn " $" #k ", %1, %0" : "=x"(r) : "x"(x)); break;
#define RND_ALL(insn, r, x, imm) switch ((imm) & 15) { \
    RND_CASE(0, insn, r, x) RND_CASE(1, insn, r, x) RND_CASE(2, insn, r, x) RND_CASE(3, insn, r, x) \
    RND_CASE(4, insn, r, x) RND_CASE(5, insn, r, x) RND_CASE(6, insn, r, x) RND_CASE(7, insn, r, x) \
    RND_CASE(8, insn, r, x) RND_CASE(9, insn, r, x) RND_CASE(10, insn, r, x) RND_CASE(11, insn, r, x) \
    RND_CASE(12, insn, r, x) RND_CASE(13, insn, r, x) RND_CASE(14, insn, r, x) RND_CASE(15, insn, r, x) }

/* VRNDSCALE: round x to 2^-M precision (M = imm[7:4]) with mode imm[3:0]. */
static double rndscale_d(double x, int imm)
{
    int M = (imm >> 4) & 15;
    double r = 0;
    if (M == 0 || isnan(x) || isinf(x)) { RND_ALL("roundsd", r, x, imm) return r; }
    if (fabs(x) >= 0x1p52) return x;   /* already integral at any precision */
    double y = ldexp(x, M);
    RND_ALL("roundsd", r, y, imm)
    r = ldexp(r, -M);
    if (r == 0) r = copysign(0.0, x);
    return r;
}
static float rndscale_s(float x, int imm)
{
    int M = (imm >> 4) & 15;
    float r = 0;
    if (M == 0 || isnan(x) || isinf(x)) { RND_ALL("roundss", r, x, imm) return r; }
    if (fabsf(x) >= 0x1p23f) return x;
    float y = ldexpf(x, M);
    RND_ALL("roundss", r, y, imm)
    r = ldexpf(r, -M);
    if (r == 0) r = copysignf(0.0f, x);
    return r;
}

static int32_t cvtt_s2i32(float x) { int32_t r; __asm__ volatile("cvttss2si %1, %0" : "=r"(r) : "x"(x)); return r; }
static int64_t cvtt_s2i64(float x) { int64_t r; __asm__ volatile("cvttss2si %1, %0" : "=r"(r) : "x"(x)); return r; }
static int32_t cvtt_d2i32(double x) { int32_t r; __asm__ volatile("cvttsd2si %1, %0" : "=r"(r) : "x"(x)); return r; }
static int64_t cvtt_d2i64(double x) { int64_t r; __asm__ volatile("cvttsd2si %1, %0" : "=r"(r) : "x"(x)); return r; }
static int32_t cvt_s2i32(float x) { int32_t r; __asm__ volatile("cvtss2si %1, %0" : "=r"(r) : "x"(x)); return r; }
static int64_t cvt_s2i64(float x) { int64_t r; __asm__ volatile("cvtss2si %1, %0" : "=r"(r) : "x"(x)); return r; }
static int32_t cvt_d2i32(double x) { int32_t r; __asm__ volatile("cvtsd2si %1, %0" : "=r"(r) : "x"(x)); return r; }
static int64_t cvt_d2i64(double x) { int64_t r; __asm__ volatile("cvtsd2si %1, %0" : "=r"(r) : "x"(x)); return r; }
static float cvt_i2s(int64_t x) { float r; __asm__ volatile("cvtsi2ssq %1, %0" : "=x"(r) : "r"(x)); return r; }
static double cvt_i2d(int64_t x) { double r; __asm__ volatile("cvtsi2sdq %1, %0" : "=x"(r) : "r"(x)); return r; }
static float cvt_u2s(uint64_t x)
{
    if ((int64_t)x >= 0) return cvt_i2s((int64_t)x);
    float h = cvt_i2s((int64_t)((x >> 1) | (x & 1)));
    return h + h;
}
static double cvt_u2d(uint64_t x)
{
    if ((int64_t)x >= 0) return cvt_i2d((int64_t)x);
    double h = cvt_i2d((int64_t)((x >> 1) | (x & 1)));
    return h + h;
}
/* float/double -> unsigned (trunc: truncate; else MXCSR rounding), bits 32/64 */
static uint64_t cvt_f2u(double x, int bits, int trunc, int is_single)
{
    uint64_t lim = bits == 32 ? 0xffffffffull : ~0ull;
    if (isnan(x) || x <= -1.0 || x >= (bits == 32 ? 4294967296.0 : 18446744073709551616.0)) { raise_ie(); return lim; }
    if (bits == 32 || x < 9223372036854775808.0) {
        int64_t r = is_single ? (trunc ? cvtt_s2i64((float)x) : cvt_s2i64((float)x)) : (trunc ? cvtt_d2i64(x) : cvt_d2i64(x));
        if (r < 0 || (uint64_t)r > lim) { raise_ie(); return lim; } /* e.g. -0.7 rounded to -1 */
        return (uint64_t)r;
    }
    double y = x - 9223372036854775808.0; /* exact */
    int64_t r = trunc ? cvtt_d2i64(y) : cvt_d2i64(y);
    return (uint64_t)r + 0x8000000000000000ull;
}

/* ------------------------------------------------------------------ */
/* Integer element operations                                           */
/* ------------------------------------------------------------------ */

enum { I_ADD, I_SUB, I_ADDS, I_ADDUS, I_SUBS, I_SUBUS, I_MULLO, I_MULHS, I_MULHU, I_AND, I_ANDN, I_OR, I_XOR,
       I_MINS, I_MINU, I_MAXS, I_MAXU, I_AVG, I_SLLV, I_SRLV, I_SRAV, I_MULDQ, I_MULUDQ, I_MULHRS, I_ROLV, I_RORV };

static uint64_t sat_s(int64_t v, int es) { int64_t lo = -(1ll << (8 * es - 1)), hi = (1ll << (8 * es - 1)) - 1; return (uint64_t)(v < lo ? lo : v > hi ? hi : v); }
static uint64_t sat_u(int64_t v, int es) { int64_t hi = (int64_t)emask(es); return (uint64_t)(v < 0 ? 0 : v > hi ? hi : v); }

static uint64_t iop(int op, int es, uint64_t a, uint64_t b)
{
    int bits = 8 * es;
    uint64_t M = emask(es);
    switch (op) {
    case I_ADD: return (a + b) & M;
    case I_SUB: return (a - b) & M;
    case I_ADDS: return sat_s(sx(a, es) + sx(b, es), es) & M;
    case I_ADDUS: return sat_u((int64_t)a + (int64_t)b, es);
    case I_SUBS: return sat_s(sx(a, es) - sx(b, es), es) & M;
    case I_SUBUS: return sat_u((int64_t)a - (int64_t)b, es);
    case I_MULLO: return (a * b) & M;
    case I_MULHS: return ((uint64_t)((sx(a, es) * sx(b, es)) >> bits)) & M;  /* es <= 2 */
    case I_MULHU: return ((a * b) >> bits) & M;
    case I_AND: return a & b;
    case I_ANDN: return ~a & b & M;
    case I_OR: return a | b;
    case I_XOR: return a ^ b;
    case I_MINS: return sx(a, es) < sx(b, es) ? a : b;
    case I_MINU: return a < b ? a : b;
    case I_MAXS: return sx(a, es) > sx(b, es) ? a : b;
    case I_MAXU: return a > b ? a : b;
    case I_AVG: return (a + b + 1) >> 1;
    case I_SLLV: return b >= (uint64_t)bits ? 0 : (a << b) & M;
    case I_SRLV: return b >= (uint64_t)bits ? 0 : a >> b;
    case I_SRAV: return (uint64_t)(sx(a, es) >> (b >= (uint64_t)bits ? bits - 1 : (int)b)) & M;
    case I_MULDQ: return (uint64_t)((int64_t)(int32_t)a * (int64_t)(int32_t)b);
    case I_MULUDQ: return (a & 0xffffffffu) * (b & 0xffffffffu);
    case I_MULHRS: return ((uint64_t)(((sx(a, 2) * sx(b, 2)) >> 14) + 1) >> 1) & M;
    case I_ROLV: { int s = b & (bits - 1); return s ? ((a << s) | (a >> (bits - s))) & M : a; }
    case I_RORV: { int s = b & (bits - 1); return s ? ((a >> s) | (a << (bits - s))) & M : a; }
    }
    return 0;
}

static int icmp(int pred, uint64_t a, uint64_t b, int es, int sgn)
{
    int lt, eq = a == b;
    if (sgn) lt = sx(a, es) < sx(b, es); else lt = a < b;
    switch (pred & 7) {
    case 0: return eq; case 1: return lt; case 2: return lt || eq; case 3: return 0;
    case 4: return !eq; case 5: return !lt; case 6: return !(lt || eq); default: return 1;
    }
}

/* ------------------------------------------------------------------ */
/* Generic instruction shapes                                           */
/* ------------------------------------------------------------------ */

/* dest(reg) = op(src1(vvvv), src2(rm)) element-wise, integer. */
static int do_int2(struct cpu *c, struct insn *I, int op, int es, int vlb, int bcst_ok)
{
    int nel = vlb / es;
    uint64_t m = kmask(I, nel);
    vec_t a, b, r;
    if (I->bc && I->mod == 3) FAIL("EVEX.b on register operand of integer op");
    get_vreg(c, I->vvvv, &a);
    if (get_rm(c, I, &b, vlb, es, bcst_ok, m)) FAIL("broadcast not allowed");
    for (int i = 0; i < nel; i++) se(&r, es, i, iop(op, es, ge(&a, es, i), ge(&b, es, i)));
    put_vec(c, I, I->reg, &r, es, vlb);
    return 0;
}

/* Packed FP binary op (add/mul/sub/div/min/max/sqrt). */
static int do_fp2(struct cpu *c, struct insn *I, int op, int dbl, int vlb)
{
    int es = dbl ? 8 : 4, nel = vlb / es;
    uint64_t m = kmask(I, nel);
    vec_t a, b, r;
    int er_kind = (op == 0x5D || op == 0x5F) ? 1 : 2;
    get_vreg(c, I->vvvv, &a);
    get_rm(c, I, &b, vlb, es, 1, m);
    memset(&r, 0, sizeof r);
    fp_begin(c, I, er_kind);
    for (int i = 0; i < nel; i++) if ((m >> i) & 1) {
        if (dbl) r.g[i] = fopd(op, a.g[i], b.g[i]); else r.f[i] = fops(op, a.f[i], b.f[i]);
    }
    fp_end(c);
    put_vec(c, I, I->reg, &r, es, vlb);
    return 0;
}

/* put_vec for scalar ops: only element 0 is subject to the mask. */
static void put_scalar(struct cpu *c, struct insn *I, vec_t *r, const vec_t *src1, int es)
{
    uint64_t m = kmask(I, 1);
    if (!(m & 1)) {
        if (I->z) se(r, es, 0, 0);
        else { vec_t old; get_vreg(c, I->reg, &old); se(r, es, 0, ge(&old, es, 0)); }
    }
    for (int i = es; i < 16; i++) r->b[i] = src1->b[i];
    memset(r->b + 16, 0, 48);
    set_vreg(c, I->reg, r, 16);
}

static int do_fps2(struct cpu *c, struct insn *I, int op, int dbl)
{
    int es = dbl ? 8 : 4;
    vec_t a, b, r;
    get_vreg(c, I->vvvv, &a);
    memset(&b, 0, sizeof b);
    uint64_t m = kmask(I, 1);
    if (I->mod == 3) get_vreg(c, I->rm, &b); else if (m & 1) mrd(addr_of(c, I, es), &b, es);
    r = a;
    fp_begin(c, I, (op == 0x5D || op == 0x5F) ? 1 : 2);
    if (m & 1) { if (dbl) r.g[0] = fopd(op, a.g[0], b.g[0]); else r.f[0] = fops(op, a.f[0], b.f[0]); }
    fp_end(c);
    put_scalar(c, I, &r, &a, es);
    return 0;
}

/* Vector load/store moves (vmovdqu*, vmovdqa*, vmovups/aps...). */
static int do_mov_load(struct cpu *c, struct insn *I, int es, int vlb)
{
    int nel = vlb / es;
    uint64_t m = kmask(I, nel);
    vec_t v;
    if (I->bc) FAIL("EVEX.b on move");
    if (I->mod == 3) get_vreg(c, I->rm, &v);
    else mrd_m(addr_of(c, I, vlb), &v, nel, es, m);
    put_vec(c, I, I->reg, &v, es, vlb);
    return 0;
}
static int do_mov_store(struct cpu *c, struct insn *I, int es, int vlb)
{
    int nel = vlb / es;
    vec_t v;
    if (I->bc) FAIL("EVEX.b on move");
    get_vreg(c, I->reg, &v);
    if (I->mod == 3) { put_vec(c, I, I->rm, &v, es, vlb); return 0; }
    if (I->z) FAIL("zeroing-masking on memory destination");
    mwr_m(addr_of(c, I, vlb), &v, nel, es, kmask(I, nel));
    return 0;
}

/* Write a down-converted/extracted result (nbytes, elements of es) to r/m:
 * register (zero upper) or memory (masked store). N = disp8 scale. */
static int put_rm_narrow(struct cpu *c, struct insn *I, vec_t *r, int es, int nbytes, int N)
{
    int nel = nbytes / es;
    if (I->mod == 3) {
        uint64_t m = kmask(I, nel);
        if (m != fullm(nel)) {
            vec_t old;
            if (!I->z) get_vreg(c, I->rm, &old);
            for (int i = 0; i < nel; i++) if (!((m >> i) & 1)) se(r, es, i, I->z ? 0 : ge(&old, es, i));
        }
        memset(r->b + nbytes, 0, 64 - nbytes);
        set_vreg(c, I->rm, r, nbytes < 16 ? 16 : nbytes);
        return 0;
    }
    if (I->z) FAIL("zeroing-masking on memory destination");
    mwr_m(addr_of(c, I, N), r, nel, es, kmask(I, nel));
    return 0;
}

/* VPERMI2x / VPERMT2x: two-table permute. t2 = 1 for T2 form. */
static int do_perm2(struct cpu *c, struct insn *I, int es, int vlb, int t2, int bcst_ok)
{
    int nel = vlb / es;
    vec_t d, v, s, r;
    get_vreg(c, I->reg, &d);
    get_vreg(c, I->vvvv, &v);
    if (get_rm(c, I, &s, vlb, es, bcst_ok, fullm(nel))) FAIL("broadcast not allowed");
    const vec_t *idx = t2 ? &v : &d, *tab1 = t2 ? &d : &v;
    for (int i = 0; i < nel; i++) {
        unsigned id = (unsigned)ge(idx, es, i) & (2 * nel - 1);
        unsigned off = id & (nel - 1);
        se(&r, es, i, ge((id & nel) ? &s : tab1, es, off));
    }
    put_vec(c, I, I->reg, &r, es, vlb);
    return 0;
}

/* Element compare into k (integer). */
static int do_icmpk(struct cpu *c, struct insn *I, int es, int vlb, int pred, int sgn, int bcst_ok)
{
    int nel = vlb / es;
    uint64_t m = kmask(I, nel), res = 0;
    vec_t a, b;
    if (I->bc && I->mod == 3) FAIL("EVEX.b on register operand of integer op");
    get_vreg(c, I->vvvv, &a);
    if (get_rm(c, I, &b, vlb, es, bcst_ok, m)) FAIL("broadcast not allowed");
    for (int i = 0; i < nel; i++) if (icmp(pred, ge(&a, es, i), ge(&b, es, i), es, sgn)) res |= 1ull << i;
    T.k[I->reg & 7] = res & m;
    return 0;
}

/* Shift by imm: dest = vvvv, src = rm. kind: 0 sll, 1 srl, 2 sra, 3 rol, 4 ror */
static int do_shift_imm(struct cpu *c, struct insn *I, int es, int vlb, int kind, int bcst_ok)
{
    int nel = vlb / es, bits = 8 * es;
    uint64_t m = kmask(I, nel);
    vec_t s, r;
    if (I->bc && I->mod == 3) FAIL("EVEX.b on register operand");
    if (get_rm(c, I, &s, vlb, es, bcst_ok, m)) FAIL("broadcast not allowed");
    unsigned cnt = I->imm;
    for (int i = 0; i < nel; i++) {
        uint64_t x = ge(&s, es, i), y;
        switch (kind) {
        case 0: y = cnt >= (unsigned)bits ? 0 : (x << cnt) & emask(es); break;
        case 1: y = cnt >= (unsigned)bits ? 0 : x >> cnt; break;
        case 2: y = (uint64_t)(sx(x, es) >> (cnt >= (unsigned)bits ? bits - 1 : (int)cnt)) & emask(es); break;
        default: y = iop(kind == 3 ? I_ROLV : I_RORV, es, x, cnt); break;
        }
        se(&r, es, i, y);
    }
    int dst = I->vvvv;
    put_vec(c, I, dst, &r, es, vlb);
    return 0;
}

/* Shift by count in xmm/m128 (low 64 bits): dest = reg, src = vvvv. */
static int do_shift_xmm(struct cpu *c, struct insn *I, int es, int vlb, int kind)
{
    int nel = vlb / es, bits = 8 * es;
    vec_t s, cv, r;
    get_vreg(c, I->vvvv, &s);
    get_rm_n(c, I, &cv, 16, 16);
    uint64_t cnt = cv.q[0];
    for (int i = 0; i < nel; i++) {
        uint64_t x = ge(&s, es, i), y;
        if (kind == 0) y = cnt >= (uint64_t)bits ? 0 : (x << cnt) & emask(es);
        else if (kind == 1) y = cnt >= (uint64_t)bits ? 0 : x >> cnt;
        else y = (uint64_t)(sx(x, es) >> (cnt >= (uint64_t)bits ? bits - 1 : (int)cnt)) & emask(es);
        se(&r, es, i, y);
    }
    put_vec(c, I, I->reg, &r, es, vlb);
    return 0;
}

/* Unpack low/high within 128-bit lanes. */
static void unpack(vec_t *r, const vec_t *a, const vec_t *b, int es, int vlb, int high)
{
    int per = 16 / es, half = per / 2;
    for (int l = 0; l < vlb / 16; l++)
        for (int j = 0; j < half; j++) {
            int src = l * per + j + (high ? half : 0);
            se(r, es, l * per + 2 * j, ge(a, es, src));
            se(r, es, l * per + 2 * j + 1, ge(b, es, src));
        }
}

static int vl_of(struct insn *I, int *vlb)
{
    if (I->LL == 3) return -1;
    *vlb = 16 << I->LL;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Opmask (VEX) instructions                                            */
/* ------------------------------------------------------------------ */

static int ksize(struct insn *I)   /* b=8 w=16 d=32 q=64 from pp/W (0x41-0x47, 0x4A, 0x90, 0x91, 0x98, 0x99) */
{
    if (I->pp == 0) return I->W ? 64 : 16;
    if (I->pp == 1) return I->W ? 32 : 8;
    return 0;
}

static int exec_kop(struct cpu *c, struct insn *I)
{
    uint64_t *k = T.k;
    int dst = I->reg & 7, src1 = I->vvvv & 7, src2 = I->rmg & 7;
    if (I->map == 1) {
        int bits = ksize(I);
        uint64_t M = bits ? fullm(bits) : 0;
        switch (I->opc) {
        case 0x41: case 0x42: case 0x45: case 0x46: case 0x47: case 0x4A: {
            static const char *nm[] = {[1] = "kand", [2] = "kandn", [5] = "kor", [6] = "kxnor", [7] = "kxor", [10] = "kadd"};
            if (I->mod != 3 || !bits || I->LL != 1) FAIL("bad k-op form");
            I->name = nm[I->opc - 0x40];
            uint64_t a = k[src1], b = k[src2], r = 0;
            switch (I->opc) {
            case 0x41: r = a & b; break; case 0x42: r = ~a & b; break; case 0x45: r = a | b; break;
            case 0x46: r = ~(a ^ b); break; case 0x47: r = a ^ b; break; case 0x4A: r = a + b; break;
            }
            k[dst] = r & M;
            return 0;
        }
        case 0x44:
            if (I->mod != 3 || !bits || I->LL != 0) FAIL("bad knot");
            I->name = "knot"; k[dst] = ~k[src2] & M; return 0;
        case 0x4B:
            if (I->mod != 3 || I->LL != 1) FAIL("bad kunpck");
            if (I->pp == 1 && !I->W) { I->name = "kunpckbw"; k[dst] = ((k[src1] & 0xff) << 8) | (k[src2] & 0xff); return 0; }
            if (I->pp == 0 && !I->W) { I->name = "kunpckwd"; k[dst] = ((k[src1] & 0xffff) << 16) | (k[src2] & 0xffff); return 0; }
            if (I->pp == 0 && I->W) { I->name = "kunpckdq"; k[dst] = ((k[src1] & 0xffffffffull) << 32) | (k[src2] & 0xffffffffull); return 0; }
            FAIL("bad kunpck");
        case 0x90:
            if (!bits || I->LL) FAIL("bad kmov");
            I->name = "kmov k,k/m";
            if (I->mod == 3) k[dst] = k[src2] & M;
            else { uint64_t v = 0; mrd(addr_of(c, I, 1), &v, bits / 8); k[dst] = v; }
            return 0;
        case 0x91:
            if (!bits || I->LL || I->mod == 3) FAIL("bad kmov store");
            I->name = "kmov m,k";
            mwr(addr_of(c, I, 1), &k[dst], bits / 8);
            return 0;
        case 0x92: case 0x93: {
            int b2 = I->pp == 0 && !I->W ? 16 : I->pp == 1 && !I->W ? 8 : I->pp == 3 ? (I->W ? 64 : 32) : 0;
            if (!b2 || I->LL || I->mod != 3) FAIL("bad kmov gpr");
            if (I->opc == 0x92) { I->name = "kmov k,r"; k[dst] = greg(c, I->rmg) & fullm(b2); }
            else {
                I->name = "kmov r,k";
                int g = I->reg3 | ((I->reg & 8));
                if (b2 == 64) set_greg64(c, g, k[src2]); else set_greg32(c, g, (uint32_t)(k[src2] & fullm(b2)));
            }
            return 0;
        }
        case 0x98: case 0x99: {
            if (!bits || I->LL || I->mod != 3) FAIL("bad kortest/ktest");
            uint64_t a = k[dst] & M, b = k[src2] & M, f = *c->rflags & ~(uint64_t)0x8d5;
            if (I->opc == 0x98) { I->name = "kortest"; if ((a | b) == 0) f |= 0x40; if ((a | b) == M) f |= 1; }
            else { I->name = "ktest"; if ((a & b) == 0) f |= 0x40; if ((~a & b & M) == 0) f |= 1; }
            *c->rflags = f;
            return 0;
        }
        }
        FAIL("unknown VEX k-op");
    }
    if (I->map == 3 && I->pp == 1 && I->mod == 3 && I->LL == 0 && I->opc >= 0x30 && I->opc <= 0x33) {
        int bits = (I->opc & 1) ? (I->W ? 64 : 32) : (I->W ? 16 : 8);
        int left = I->opc >= 0x32;
        unsigned n = I->imm;
        uint64_t v = k[src2] & fullm(bits);
        I->name = left ? "kshiftl" : "kshiftr";
        k[dst] = n >= (unsigned)bits ? 0 : (left ? (v << n) & fullm(bits) : v >> n);
        return 0;
    }
    FAIL("unknown VEX instruction");
}

/* ------------------------------------------------------------------ */
/* Gather / scatter                                                     */
/* ------------------------------------------------------------------ */

/* ies: index size, des: data size. dest = reg, index = VSIB. */
static int do_gather(struct cpu *c, struct insn *I, int ies, int des, int vlb)
{
    if (I->mod == 3 || !I->aaa || I->z) FAIL("bad gather form");
    int nel = (ies >= des) ? vlb / ies : vlb / des;  /* elements processed */
    int dvlb = nel * des;                            /* data vector bytes */
    vec_t idx, d;
    get_vreg(c, I->vindex, &idx);
    get_vreg(c, I->reg, &d);
    uint64_t base = 0;
    if (I->base >= 0) base = greg(c, I->base);
    int64_t disp = I->disp8 ? (int64_t)I->disp * des : I->disp;
    uint64_t seg = I->seg ? segbase(I->seg) : 0;
    uint64_t m = T.k[I->aaa] & fullm(nel);
    for (int i = 0; i < nel; i++) if ((m >> i) & 1) {
        int64_t ix = sx(ge(&idx, ies, i), ies);
        uint64_t a = base + ((uint64_t)ix << I->scale) + disp;
        if (I->a32) a &= 0xffffffffu;
        uint64_t x = 0;
        mrd(a + seg, &x, des);
        se(&d, des, i, x);
    }
    T.k[I->aaa] = 0;
    if (dvlb < 64) memset(d.b + dvlb, 0, 64 - dvlb);
    set_vreg(c, I->reg, &d, dvlb < 16 ? 16 : dvlb);
    return 0;
}
static int do_scatter(struct cpu *c, struct insn *I, int ies, int des, int vlb)
{
    if (I->mod == 3 || !I->aaa || I->z) FAIL("bad scatter form");
    int nel = (ies >= des) ? vlb / ies : vlb / des;
    vec_t idx, d;
    get_vreg(c, I->vindex, &idx);
    get_vreg(c, I->reg, &d);
    uint64_t base = 0;
    if (I->base >= 0) base = greg(c, I->base);
    int64_t disp = I->disp8 ? (int64_t)I->disp * des : I->disp;
    uint64_t seg = I->seg ? segbase(I->seg) : 0;
    uint64_t m = T.k[I->aaa] & fullm(nel);
    for (int i = 0; i < nel; i++) if ((m >> i) & 1) {
        int64_t ix = sx(ge(&idx, ies, i), ies);
        uint64_t a = base + ((uint64_t)ix << I->scale) + disp;
        if (I->a32) a &= 0xffffffffu;
        uint64_t x = ge(&d, des, i);
        mwr(a + seg, &x, des);
    }
    T.k[I->aaa] = 0;
    return 0;
}

/* ------------------------------------------------------------------ */
/* EVEX executor                                                        */
/* ------------------------------------------------------------------ */

#define NAME(s) (I->name = (s))
#define NEED(cond) do { if (!(cond)) FAIL("unsupported encoding (W/L/pp/form)"); } while (0)
#define VL() do { if (vl_of(I, &vlb)) FAIL("EVEX.L'L = 3"); } while (0)

static int exec_map1(struct cpu *c, struct insn *I)
{
    int vlb = 16, pp = I->pp, W = I->W, opc = I->opc;
    vec_t a, b, r;
    memset(&r, 0, sizeof r);
    /* FP {er}: EVEX.b with register operand means static rounding, 512-bit */
    int fp_er = I->bc && I->mod == 3;
    switch (opc) {
    case 0x10: case 0x11:
        if (pp == 0 || pp == 1) {
            NEED(W == pp); VL(); NAME(opc == 0x10 ? (pp ? "vmovupd" : "vmovups") : (pp ? "vmovupd(st)" : "vmovups(st)"));
            return opc == 0x10 ? do_mov_load(c, I, 4 << W, vlb) : do_mov_store(c, I, 4 << W, vlb);
        } else {
            int es = pp == 2 ? 4 : 8;
            NEED(W == (pp == 3));
            NAME(pp == 2 ? "vmovss" : "vmovsd");
            uint64_t m = kmask(I, 1);
            if (I->mod != 3) {
                if (opc == 0x10) {
                    memset(&r, 0, sizeof r);
                    if (m & 1) mrd(addr_of(c, I, es), &r, es);
                    else if (!I->z) { get_vreg(c, I->reg, &a); memcpy(&r, &a, es); }
                    set_vreg(c, I->reg, &r, 16);
                } else {
                    if (I->z) FAIL("zeroing on store");
                    get_vreg(c, I->reg, &a);
                    if (m & 1) mwr(addr_of(c, I, es), &a, es);
                }
                return 0;
            }
            /* register form: dst = (10: reg, 11: rm), src = (10: rm, 11: reg), upper from vvvv */
            int dst = opc == 0x10 ? I->reg : I->rm, src = opc == 0x10 ? I->rm : I->reg;
            get_vreg(c, I->vvvv, &a);
            get_vreg(c, src, &b);
            r = a;
            if (m & 1) memcpy(&r, &b, es);
            else if (I->z) memset(&r, 0, es);
            else { vec_t o; get_vreg(c, dst, &o); memcpy(&r, &o, es); }
            memset(r.b + 16, 0, 48);
            set_vreg(c, dst, &r, 16);
            return 0;
        }
    case 0x12: case 0x16:
        NEED(pp == 0 && W == 0 && I->LL == 0);
        get_vreg(c, I->vvvv, &a);
        if (I->mod == 3) {
            get_vreg(c, I->rm, &b);
            if (opc == 0x12) { NAME("vmovhlps"); r.q[0] = b.q[1]; r.q[1] = a.q[1]; }
            else { NAME("vmovlhps"); r.q[0] = a.q[0]; r.q[1] = b.q[0]; }
        } else {
            uint64_t x; mrd(addr_of(c, I, 8), &x, 8);
            if (opc == 0x12) { NAME("vmovlps"); r.q[0] = x; r.q[1] = a.q[1]; }
            else { NAME("vmovhps"); r.q[0] = a.q[0]; r.q[1] = x; }
        }
        set_vreg(c, I->reg, &r, 16);
        return 0;
    case 0x14: case 0x15: {
        NEED(pp <= 1 && W == pp); VL();
        int es = 4 << W;
        NAME(opc == 0x14 ? "vunpcklps/pd" : "vunpckhps/pd");
        if (I->bc && I->mod == 3) FAIL("b on reg");
        get_vreg(c, I->vvvv, &a);
        get_rm(c, I, &b, vlb, es, 1, fullm(vlb / es));
        unpack(&r, &a, &b, es, vlb, opc == 0x15);
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    case 0x28: case 0x29:
        NEED(pp <= 1 && W == pp); VL();
        NAME(opc == 0x28 ? "vmovaps/pd" : "vmovaps/pd(st)");
        return opc == 0x28 ? do_mov_load(c, I, 4 << W, vlb) : do_mov_store(c, I, 4 << W, vlb);
    case 0x2B: case 0xE7:
        NEED(I->mod != 3 && !I->aaa); VL();
        if (opc == 0x2B) { NEED(pp <= 1 && W == pp); NAME("vmovntps/pd"); }
        else { NEED(pp == 1 && W == 0); NAME("vmovntdq"); }
        return do_mov_store(c, I, 4, vlb);
    case 0x2A: case 0x7B: {
        /* vcvtsi2ss/sd, vcvtusi2ss/sd: dest[0] = cvt(r/m32/64), rest from vvvv */
        NEED(pp >= 2);
        int dbl = pp == 3, srcb = W ? 8 : 4;
        NAME(opc == 0x2A ? (dbl ? "vcvtsi2sd" : "vcvtsi2ss") : (dbl ? "vcvtusi2sd" : "vcvtusi2ss"));
        uint64_t x = 0;
        if (I->mod == 3) x = greg(c, I->rmg); else mrd(addr_of(c, I, srcb), &x, srcb);
        if (srcb == 4) x = opc == 0x2A ? (uint64_t)(int64_t)(int32_t)x : (uint32_t)x;
        get_vreg(c, I->vvvv, &a);
        r = a;
        fp_begin(c, I, 2);
        if (dbl) r.g[0] = opc == 0x2A ? cvt_i2d((int64_t)x) : cvt_u2d(x);
        else r.f[0] = opc == 0x2A ? cvt_i2s((int64_t)x) : cvt_u2s(x);
        fp_end(c);
        memset(r.b + 16, 0, 48);
        set_vreg(c, I->reg, &r, 16);
        return 0;
    }
    case 0x2C: case 0x2D: case 0x78: case 0x79: {
        if (pp < 2) {
            if (opc == 0x78 || opc == 0x79) break; /* packed unsigned conversions: below */
            FAIL("unsupported");
        }
        int dbl = pp == 3, trunc = (opc == 0x2C || opc == 0x78), uns = opc >= 0x78;
        static const char *nm[2][2][2] = {{{"vcvtss2si", "vcvttss2si"}, {"vcvtss2usi", "vcvttss2usi"}},
                                          {{"vcvtsd2si", "vcvttsd2si"}, {"vcvtsd2usi", "vcvttsd2usi"}}};
        NAME(nm[dbl][uns][trunc]);
        vec_t s;
        get_rm_n(c, I, &s, dbl ? 8 : 4, dbl ? 8 : 4);
        int g = I->reg & 15;
        uint64_t res;
        fp_begin(c, I, 1);
        if (uns) res = cvt_f2u(dbl ? s.g[0] : (double)s.f[0], W ? 64 : 32, trunc, !dbl);
        else if (W) res = (uint64_t)(dbl ? (trunc ? cvtt_d2i64(s.g[0]) : cvt_d2i64(s.g[0])) : (trunc ? cvtt_s2i64(s.f[0]) : cvt_s2i64(s.f[0])));
        else res = (uint32_t)(dbl ? (trunc ? cvtt_d2i32(s.g[0]) : cvt_d2i32(s.g[0])) : (trunc ? cvtt_s2i32(s.f[0]) : cvt_s2i32(s.f[0])));
        fp_end(c);
        if (W) set_greg64(c, g, res); else set_greg32(c, g, (uint32_t)res);
        return 0;
    }
    case 0x2E: case 0x2F: {
        NEED(pp <= 1 && W == pp);
        int dbl = pp;
        NAME(opc == 0x2E ? (dbl ? "vucomisd" : "vucomiss") : (dbl ? "vcomisd" : "vcomiss"));
        get_vreg(c, I->reg, &a);
        get_rm_n(c, I, &b, dbl ? 8 : 4, dbl ? 8 : 4);
        fp_begin(c, I, 1);
        int rel = dbl ? fcmp_d(a.g[0], b.g[0], opc == 0x2F) : fcmp_s(a.f[0], b.f[0], opc == 0x2F);
        fp_end(c);
        uint64_t f = *c->rflags & ~(uint64_t)0x8d5; /* clear OF SF ZF AF PF CF */
        if (rel == 3) f |= 0x45; else if (rel == 2) f |= 0x40; else if (rel == 1) f |= 1;
        *c->rflags = f;
        return 0;
    }
    case 0x51: case 0x58: case 0x59: case 0x5C: case 0x5D: case 0x5E: case 0x5F: {
        static const char *nm[16][4] = {
            [1] = {"vsqrtps", "vsqrtpd", "vsqrtss", "vsqrtsd"}, [8] = {"vaddps", "vaddpd", "vaddss", "vaddsd"},
            [9] = {"vmulps", "vmulpd", "vmulss", "vmulsd"}, [12] = {"vsubps", "vsubpd", "vsubss", "vsubsd"},
            [13] = {"vminps", "vminpd", "vminss", "vminsd"}, [14] = {"vdivps", "vdivpd", "vdivss", "vdivsd"},
            [15] = {"vmaxps", "vmaxpd", "vmaxss", "vmaxsd"}};
        int dbl = pp & 1;
        NEED(W == dbl);
        NAME(nm[opc & 15][pp]);
        if (opc == 0x51 && pp < 2) {
            /* vsqrtps/pd: unary on r/m */
            if (fp_er) vlb = 64; else VL();
            int es = dbl ? 8 : 4, nel = vlb / es;
            uint64_t m = kmask(I, nel);
            get_rm(c, I, &b, vlb, es, 1, m);
            fp_begin(c, I, 2);
            for (int i = 0; i < nel; i++) if ((m >> i) & 1) { if (dbl) r.g[i] = fopd(0x51, 0, b.g[i]); else r.f[i] = fops(0x51, 0, b.f[i]); }
            fp_end(c);
            put_vec(c, I, I->reg, &r, es, vlb);
            return 0;
        }
        if (pp >= 2) return do_fps2(c, I, opc, dbl);
        if (fp_er) vlb = 64; else VL();
        return do_fp2(c, I, opc, dbl, vlb);
    }
    case 0x54: case 0x55: case 0x56: case 0x57: {
        NEED(pp <= 1 && W == pp); VL();
        static const int ops[] = {I_AND, I_ANDN, I_OR, I_XOR};
        static const char *nm[] = {"vandps/pd", "vandnps/pd", "vorps/pd", "vxorps/pd"};
        NAME(nm[opc - 0x54]);
        return do_int2(c, I, ops[opc - 0x54], 4 << W, vlb, 1);
    }
    case 0x5A: {
        if (pp == 0) { /* vcvtps2pd: HV */
            NEED(W == 0); NAME("vcvtps2pd");
            if (I->bc && I->mod == 3) vlb = 64; else VL();
            int nel = vlb / 8;
            uint64_t m = kmask(I, nel);
            if (I->mod == 3) get_vreg(c, I->rm, &b);
            else if (I->bc) { float x = 0; if (m) mrd(addr_of(c, I, 4), &x, 4); for (int i = 0; i < nel; i++) b.f[i] = x; }
            else mrd_m(addr_of(c, I, vlb / 2), &b, nel, 4, m);
            fp_begin(c, I, 1);
            for (int i = 0; i < nel; i++) if ((m >> i) & 1) r.g[i] = (double)b.f[i];
            fp_end(c);
            put_vec(c, I, I->reg, &r, 8, vlb);
            return 0;
        }
        if (pp == 1) { /* vcvtpd2ps: FV */
            NEED(W == 1); NAME("vcvtpd2ps");
            if (I->bc && I->mod == 3) vlb = 64; else VL();
            int nel = vlb / 8;
            uint64_t m = kmask(I, nel);
            get_rm(c, I, &b, vlb, 8, 1, m);
            fp_begin(c, I, 2);
            for (int i = 0; i < nel; i++) if ((m >> i) & 1) r.f[i] = (float)b.g[i];
            fp_end(c);
            put_vec_n(c, I, I->reg, &r, 4, nel);
            return 0;
        }
        /* vcvtss2sd (F3, W0) / vcvtsd2ss (F2, W1) */
        NEED(W == (pp == 3));
        NAME(pp == 2 ? "vcvtss2sd" : "vcvtsd2ss");
        int ses = pp == 2 ? 4 : 8, des = pp == 2 ? 8 : 4;
        get_vreg(c, I->vvvv, &a);
        uint64_t m = kmask(I, 1);
        memset(&b, 0, sizeof b);
        if (I->mod == 3) get_vreg(c, I->rm, &b); else if (m & 1) mrd(addr_of(c, I, ses), &b, ses);
        r = a;
        fp_begin(c, I, pp == 2 ? 1 : 2);
        if (m & 1) { if (pp == 2) r.g[0] = (double)b.f[0]; else r.f[0] = (float)b.g[0]; }
        fp_end(c);
        put_scalar(c, I, &r, &a, des);
        return 0;
    }
    case 0x5B: {
        NEED(W == 0 && pp <= 2);
        if (fp_er) vlb = 64; else VL();
        int nel = vlb / 4;
        uint64_t m = kmask(I, nel);
        get_rm(c, I, &b, vlb, 4, 1, m);
        fp_begin(c, I, pp == 2 ? 1 : 2);
        for (int i = 0; i < nel; i++) if ((m >> i) & 1) {
            if (pp == 0) r.f[i] = (float)b.sd[i];                 /* exact cvtsi2ss semantics */
            else if (pp == 1) r.sd[i] = cvt_s2i32(b.f[i]);
            else r.sd[i] = cvtt_s2i32(b.f[i]);
        }
        fp_end(c);
        NAME(pp == 0 ? "vcvtdq2ps" : pp == 1 ? "vcvtps2dq" : "vcvttps2dq");
        put_vec(c, I, I->reg, &r, 4, vlb);
        return 0;
    }
    case 0x60: case 0x61: case 0x62: case 0x68: case 0x69: case 0x6A: case 0x6C: case 0x6D: {
        NEED(pp == 1); VL();
        int es = (opc & 3) == 0 ? 1 : (opc & 3) == 1 ? 2 : (opc & 3) == 2 ? 4 : 8;
        if (opc == 0x6C || opc == 0x6D) { es = 8; NEED(W == 1); }
        else if (es == 4) NEED(W == 0);
        int high = opc >= 0x68 && opc != 0x6C;
        static const char *nm[] = {"vpunpcklbw", "vpunpcklwd", "vpunpckldq", "", "", "", "", "", "vpunpckhbw", "vpunpckhwd", "vpunpckhdq", "", "vpunpcklqdq", "vpunpckhqdq"};
        NAME(nm[opc - 0x60]);
        if (I->bc && I->mod == 3) FAIL("b on reg");
        get_vreg(c, I->vvvv, &a);
        if (get_rm(c, I, &b, vlb, es, es >= 4, fullm(vlb / es))) FAIL("broadcast not allowed");
        unpack(&r, &a, &b, es, vlb, high);
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    case 0x64: case 0x65: case 0x66: case 0x74: case 0x75: case 0x76: {
        NEED(pp == 1); VL();
        int es = 1 << (opc & 3);
        if (es == 4) NEED(W == 0);
        static const char *nm[] = {"vpcmpgtb", "vpcmpgtw", "vpcmpgtd"}, *nm2[] = {"vpcmpeqb", "vpcmpeqw", "vpcmpeqd"};
        NAME(opc < 0x70 ? nm[opc - 0x64] : nm2[opc - 0x74]);
        return do_icmpk(c, I, es, vlb, opc < 0x70 ? 6 : 0, 1, es >= 4);
    }
    case 0x6E: {
        NEED(pp == 1 && I->LL == 0);
        NAME(W ? "vmovq xmm,r/m64" : "vmovd xmm,r/m32");
        uint64_t x = 0;
        if (I->mod == 3) x = greg(c, I->rmg); else mrd(addr_of(c, I, W ? 8 : 4), &x, W ? 8 : 4);
        if (!W) x &= 0xffffffffu;
        r.q[0] = x;
        set_vreg(c, I->reg, &r, 16);
        return 0;
    }
    case 0x7E: case 0xD6:
        if (opc == 0x7E && pp == 1) {
            NEED(I->LL == 0);
            NAME(W ? "vmovq r/m64,xmm" : "vmovd r/m32,xmm");
            get_vreg(c, I->reg, &a);
            if (I->mod == 3) { if (W) set_greg64(c, I->rmg, a.q[0]); else set_greg32(c, I->rmg, a.d[0]); }
            else mwr(addr_of(c, I, W ? 8 : 4), &a, W ? 8 : 4);
            return 0;
        }
        if ((opc == 0x7E && pp == 2) || (opc == 0xD6 && pp == 1)) {
            NEED(W == 1 && I->LL == 0);
            NAME("vmovq xmm,xmm/m64");
            if (opc == 0x7E) { /* load form: reg <- rm */
                get_rm_n(c, I, &b, 8, 8);
                r.q[0] = b.q[0];
                set_vreg(c, I->reg, &r, 16);
            } else {          /* store form: rm <- reg */
                get_vreg(c, I->reg, &a);
                if (I->mod == 3) { r.q[0] = a.q[0]; set_vreg(c, I->rm, &r, 16); }
                else mwr(addr_of(c, I, 8), &a, 8);
            }
            return 0;
        }
        FAIL("unsupported 7E/D6");
    case 0x6F: case 0x7F: {
        NEED(pp >= 1); VL();
        int es = pp == 3 ? (W ? 2 : 1) : (W ? 8 : 4);
        static const char *nm[4][2] = {{0, 0}, {"vmovdqa32", "vmovdqa64"}, {"vmovdqu32", "vmovdqu64"}, {"vmovdqu8", "vmovdqu16"}};
        NAME(nm[pp][W]);
        return opc == 0x6F ? do_mov_load(c, I, es, vlb) : do_mov_store(c, I, es, vlb);
    }
    case 0x70: {
        NEED(pp >= 1); VL();
        int imm = I->imm;
        if (pp == 1) {
            NEED(W == 0); NAME("vpshufd");
            int nel = vlb / 4;
            if (I->bc && I->mod == 3) FAIL("b on reg");
            get_rm(c, I, &b, vlb, 4, 1, kmask(I, nel));
            for (int i = 0; i < nel; i++) r.d[i] = b.d[(i & ~3) + ((imm >> (2 * (i & 3))) & 3)];
            put_vec(c, I, I->reg, &r, 4, vlb);
        } else {
            NAME(pp == 2 ? "vpshufhw" : "vpshuflw");
            if (I->bc) FAIL("b");
            get_rm(c, I, &b, vlb, 2, 0, fullm(vlb / 2));
            r = b;
            int off = pp == 2 ? 4 : 0;
            for (int l = 0; l < vlb / 16; l++)
                for (int j = 0; j < 4; j++) r.w[l * 8 + off + j] = b.w[l * 8 + off + ((imm >> (2 * j)) & 3)];
            put_vec(c, I, I->reg, &r, 2, vlb);
        }
        return 0;
    }
    case 0x71: case 0x72: case 0x73: {
        NEED(pp == 1); VL();
        int g = I->reg3;
        if (opc == 0x71) {
            NEED(g == 2 || g == 4 || g == 6);
            NAME(g == 2 ? "vpsrlw imm" : g == 4 ? "vpsraw imm" : "vpsllw imm");
            return do_shift_imm(c, I, 2, vlb, g == 6 ? 0 : g == 2 ? 1 : 2, 0);
        }
        if (opc == 0x72) {
            int es = W ? 8 : 4;
            switch (g) {
            case 0: NAME("vprord/q imm"); return do_shift_imm(c, I, es, vlb, 4, 1);
            case 1: NAME("vprold/q imm"); return do_shift_imm(c, I, es, vlb, 3, 1);
            case 2: NEED(W == 0); NAME("vpsrld imm"); return do_shift_imm(c, I, 4, vlb, 1, 1);
            case 4: NAME(W ? "vpsraq imm" : "vpsrad imm"); return do_shift_imm(c, I, es, vlb, 2, 1);
            case 6: NEED(W == 0); NAME("vpslld imm"); return do_shift_imm(c, I, 4, vlb, 0, 1);
            }
            FAIL("bad 72 group");
        }
        switch (g) {
        case 2: NEED(W == 1); NAME("vpsrlq imm"); return do_shift_imm(c, I, 8, vlb, 1, 1);
        case 6: NEED(W == 1); NAME("vpsllq imm"); return do_shift_imm(c, I, 8, vlb, 0, 1);
        case 3: case 7: {
            NAME(g == 3 ? "vpsrldq" : "vpslldq");
            if (I->bc) FAIL("b");
            get_rm(c, I, &b, vlb, 1, 0, fullm(vlb));
            int n = I->imm;
            for (int l = 0; l < vlb / 16; l++)
                for (int j = 0; j < 16; j++) {
                    int s = g == 3 ? j + n : j - n;
                    r.b[l * 16 + j] = (s >= 0 && s < 16) ? b.b[l * 16 + s] : 0;
                }
            if (I->aaa || I->z) FAIL("masking on vpsrldq/vpslldq");
            set_vreg(c, I->vvvv, &r, vlb);
            return 0;
        }
        }
        FAIL("bad 73 group");
    }
    case 0xC2: {
        NEED(W == (pp & 1));
        int dbl = pp & 1, es = dbl ? 8 : 4, pred = I->imm & 31;
        uint64_t res = 0;
        if (pp >= 2) { /* vcmpss/sd */
            NAME(dbl ? "vcmpsd" : "vcmpss");
            get_vreg(c, I->vvvv, &a);
            get_rm_n(c, I, &b, es, es);
            uint64_t m = kmask(I, 1);
            fp_begin(c, I, 1);
            if (m & 1) {
                int rel = dbl ? fcmp_d(a.g[0], b.g[0], pred_signals(pred)) : fcmp_s(a.f[0], b.f[0], pred_signals(pred));
                res = cmp_pred(pred, rel);
            }
            fp_end(c);
            T.k[I->reg & 7] = res & m;
            return 0;
        }
        NAME(dbl ? "vcmppd" : "vcmpps");
        if (fp_er) vlb = 64; else VL();
        int nel = vlb / es;
        uint64_t m = kmask(I, nel);
        get_vreg(c, I->vvvv, &a);
        get_rm(c, I, &b, vlb, es, 1, m);
        fp_begin(c, I, 1);
        for (int i = 0; i < nel; i++) if ((m >> i) & 1) {
            int rel = dbl ? fcmp_d(a.g[i], b.g[i], pred_signals(pred)) : fcmp_s(a.f[i], b.f[i], pred_signals(pred));
            if (cmp_pred(pred, rel)) res |= 1ull << i;
        }
        fp_end(c);
        T.k[I->reg & 7] = res & m;
        return 0;
    }
    case 0xC4: {
        NEED(pp == 1 && I->LL == 0 && W == 0);
        NAME("vpinsrw");
        uint64_t x = 0;
        if (I->mod == 3) x = greg(c, I->rmg); else mrd(addr_of(c, I, 2), &x, 2);
        get_vreg(c, I->vvvv, &a);
        r = a; r.w[I->imm & 7] = (uint16_t)x;
        set_vreg(c, I->reg, &r, 16);
        return 0;
    }
    case 0xC5: {
        NEED(pp == 1 && I->LL == 0 && I->mod == 3);
        NAME("vpextrw");
        get_vreg(c, I->rm, &a);
        set_greg32(c, I->reg & 15, a.w[I->imm & 7]);
        return 0;
    }
    case 0xC6: {
        NEED(pp <= 1 && W == pp); VL();
        if (I->bc && I->mod == 3) FAIL("b on reg");
        int es = 4 << W, nel = vlb / es, imm = I->imm;
        NAME(W ? "vshufpd" : "vshufps");
        get_vreg(c, I->vvvv, &a);
        get_rm(c, I, &b, vlb, es, 1, fullm(nel));
        if (!W) {
            for (int l = 0; l < vlb / 16; l++) {
                r.d[4 * l + 0] = a.d[4 * l + (imm & 3)];
                r.d[4 * l + 1] = a.d[4 * l + ((imm >> 2) & 3)];
                r.d[4 * l + 2] = b.d[4 * l + ((imm >> 4) & 3)];
                r.d[4 * l + 3] = b.d[4 * l + ((imm >> 6) & 3)];
            }
        } else {
            for (int i = 0; i < nel; i++) r.q[i] = ((i & 1) ? b.q : a.q)[(i & ~1) + ((imm >> i) & 1)];
        }
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    case 0xD1: case 0xD2: case 0xD3: case 0xE1: case 0xE2: case 0xF1: case 0xF2: case 0xF3: {
        NEED(pp == 1); VL();
        int es = 1 << (opc & 3), kind = (opc >> 4) == 0xF ? 0 : (opc >> 4) == 0xD ? 1 : 2;
        if (opc == 0xE2) es = W ? 8 : 4;
        else if (es == 4) NEED(W == 0); else if (es == 8) NEED(W == 1);
        static const char *nm[3][4] = {{0, "vpsllw", "vpslld", "vpsllq"}, {0, "vpsrlw", "vpsrld", "vpsrlq"}, {0, "vpsraw", "vpsrad", 0}};
        NAME(opc == 0xE2 && W ? "vpsraq" : nm[kind][opc & 3]);
        return do_shift_xmm(c, I, es, vlb, kind);
    }
    case 0xE6: {
        if (pp == 1 || pp == 3) { /* vcvttpd2dq / vcvtpd2dq : FV(64) -> half */
            NEED(W == 1);
            NAME(pp == 1 ? "vcvttpd2dq" : "vcvtpd2dq");
            if (fp_er) vlb = 64; else VL();
            int nel = vlb / 8;
            uint64_t m = kmask(I, nel);
            get_rm(c, I, &b, vlb, 8, 1, m);
            fp_begin(c, I, pp == 1 ? 1 : 2);
            for (int i = 0; i < nel; i++) if ((m >> i) & 1) r.sd[i] = pp == 1 ? cvtt_d2i32(b.g[i]) : cvt_d2i32(b.g[i]);
            fp_end(c);
            put_vec_n(c, I, I->reg, &r, 4, nel);
            return 0;
        }
        if (pp == 2) { /* vcvtdq2pd: HV */
            NEED(W == 0); NAME("vcvtdq2pd"); VL();
            int nel = vlb / 8;
            uint64_t m = kmask(I, nel);
            if (I->mod == 3) get_vreg(c, I->rm, &b);
            else if (I->bc) { uint32_t x = 0; if (m) mrd(addr_of(c, I, 4), &x, 4); for (int i = 0; i < nel; i++) b.d[i] = x; }
            else mrd_m(addr_of(c, I, vlb / 2), &b, nel, 4, m);
            for (int i = 0; i < nel; i++) r.g[i] = (double)b.sd[i];
            put_vec(c, I, I->reg, &r, 8, vlb);
            return 0;
        }
        FAIL("unsupported E6");
    }
    case 0xC7: FAIL("unsupported");
    }
    /* integer binary ops, pp=1 */
    if (pp == 1) {
        int op = -1, es = 0, bc = 0;
        const char *nm = 0;
        switch (opc) {
        case 0xFC: op = I_ADD; es = 1; nm = "vpaddb"; break;
        case 0xFD: op = I_ADD; es = 2; nm = "vpaddw"; break;
        case 0xFE: op = I_ADD; es = 4; nm = "vpaddd"; bc = 1; NEED(W == 0); break;
        case 0xD4: op = I_ADD; es = 8; nm = "vpaddq"; bc = 1; NEED(W == 1); break;
        case 0xF8: op = I_SUB; es = 1; nm = "vpsubb"; break;
        case 0xF9: op = I_SUB; es = 2; nm = "vpsubw"; break;
        case 0xFA: op = I_SUB; es = 4; nm = "vpsubd"; bc = 1; NEED(W == 0); break;
        case 0xFB: op = I_SUB; es = 8; nm = "vpsubq"; bc = 1; NEED(W == 1); break;
        case 0xEC: op = I_ADDS; es = 1; nm = "vpaddsb"; break;
        case 0xED: op = I_ADDS; es = 2; nm = "vpaddsw"; break;
        case 0xDC: op = I_ADDUS; es = 1; nm = "vpaddusb"; break;
        case 0xDD: op = I_ADDUS; es = 2; nm = "vpaddusw"; break;
        case 0xE8: op = I_SUBS; es = 1; nm = "vpsubsb"; break;
        case 0xE9: op = I_SUBS; es = 2; nm = "vpsubsw"; break;
        case 0xD8: op = I_SUBUS; es = 1; nm = "vpsubusb"; break;
        case 0xD9: op = I_SUBUS; es = 2; nm = "vpsubusw"; break;
        case 0xD5: op = I_MULLO; es = 2; nm = "vpmullw"; break;
        case 0xE5: op = I_MULHS; es = 2; nm = "vpmulhw"; break;
        case 0xE4: op = I_MULHU; es = 2; nm = "vpmulhuw"; break;
        case 0xF4: op = I_MULUDQ; es = 8; nm = "vpmuludq"; bc = 1; NEED(W == 1); break;
        case 0xDB: op = I_AND; es = W ? 8 : 4; nm = W ? "vpandq" : "vpandd"; bc = 1; break;
        case 0xDF: op = I_ANDN; es = W ? 8 : 4; nm = W ? "vpandnq" : "vpandnd"; bc = 1; break;
        case 0xEB: op = I_OR; es = W ? 8 : 4; nm = W ? "vporq" : "vpord"; bc = 1; break;
        case 0xEF: op = I_XOR; es = W ? 8 : 4; nm = W ? "vpxorq" : "vpxord"; bc = 1; break;
        case 0xDA: op = I_MINU; es = 1; nm = "vpminub"; break;
        case 0xDE: op = I_MAXU; es = 1; nm = "vpmaxub"; break;
        case 0xEA: op = I_MINS; es = 2; nm = "vpminsw"; break;
        case 0xEE: op = I_MAXS; es = 2; nm = "vpmaxsw"; break;
        case 0xE0: op = I_AVG; es = 1; nm = "vpavgb"; break;
        case 0xE3: op = I_AVG; es = 2; nm = "vpavgw"; break;
        case 0xF5: { /* vpmaddwd */
            VL(); NAME("vpmaddwd");
            if (I->bc) FAIL("b");
            int nel = vlb / 4;
            get_vreg(c, I->vvvv, &a);
            get_rm(c, I, &b, vlb, 4, 0, kmask(I, nel));
            for (int i = 0; i < nel; i++) r.sd[i] = (int32_t)((uint32_t)(a.sw[2 * i] * b.sw[2 * i]) + (uint32_t)(a.sw[2 * i + 1] * b.sw[2 * i + 1]));
            put_vec(c, I, I->reg, &r, 4, vlb);
            return 0;
        }
        }
        if (op >= 0) { VL(); NAME(nm); return do_int2(c, I, op, es, vlb, bc); }
    }
    FAIL("unimplemented EVEX map1 opcode");
}

static int exec_map2(struct cpu *c, struct insn *I)
{
    int vlb = 16, pp = I->pp, W = I->W, opc = I->opc;
    vec_t a, b, r, d;
    memset(&r, 0, sizeof r);
    int fp_er = I->bc && I->mod == 3;
    if (pp == 2) {
        /* F3 0F38: vpmov down-converts, vpmovm2x / vpmovx2m, vptestnm */
        if (opc >= 0x30 && opc <= 0x35) {
            static const int ses[] = {2, 4, 8, 4, 8, 8}, des[] = {1, 1, 1, 2, 2, 4};
            static const char *nm[] = {"vpmovwb", "vpmovdb", "vpmovqb", "vpmovdw", "vpmovqw", "vpmovqd"};
            int s = ses[opc - 0x30], dd = des[opc - 0x30];
            NEED(W == 0); VL(); NAME(nm[opc - 0x30]);
            if (I->bc) FAIL("b");
            int nel = vlb / s;
            get_vreg(c, I->reg, &a);
            for (int i = 0; i < nel; i++) se(&r, dd, i, ge(&a, s, i) & emask(dd));
            return put_rm_narrow(c, I, &r, dd, nel * dd, nel * dd);
        }
        if (opc == 0x28 || opc == 0x38) { /* vpmovm2b/w, vpmovm2d/q */
            NEED(I->mod == 3); VL();
            int es = opc == 0x28 ? (W ? 2 : 1) : (W ? 8 : 4);
            NAME("vpmovm2x");
            for (int i = 0; i < vlb / es; i++) se(&r, es, i, ((T.k[I->rmg & 7] >> i) & 1) ? emask(es) : 0);
            set_vreg(c, I->reg, &r, vlb);
            return 0;
        }
        if (opc == 0x29 || opc == 0x39) { /* vpmovb2m/w2m, d2m/q2m */
            NEED(I->mod == 3); VL();
            int es = opc == 0x29 ? (W ? 2 : 1) : (W ? 8 : 4);
            NAME("vpmovx2m");
            get_vreg(c, I->rm, &a);
            uint64_t res = 0;
            for (int i = 0; i < vlb / es; i++) if (ge(&a, es, i) >> (8 * es - 1)) res |= 1ull << i;
            T.k[I->reg & 7] = res;
            return 0;
        }
        if (opc == 0x26 || opc == 0x27) goto ptest;
        FAIL("unimplemented EVEX F3.0F38 opcode");
    }
    if (pp != 1) FAIL("unimplemented EVEX 0F38 pp");
    switch (opc) {
    case 0x00: { /* vpshufb */
        VL(); NAME("vpshufb");
        if (I->bc) FAIL("b");
        get_vreg(c, I->vvvv, &a);
        get_rm(c, I, &b, vlb, 1, 0, fullm(vlb));
        for (int i = 0; i < vlb; i++) r.b[i] = (b.b[i] & 0x80) ? 0 : a.b[(i & ~15) + (b.b[i] & 15)];
        put_vec(c, I, I->reg, &r, 1, vlb);
        return 0;
    }
    case 0x04: { /* vpmaddubsw */
        VL(); NAME("vpmaddubsw");
        if (I->bc) FAIL("b");
        get_vreg(c, I->vvvv, &a);
        get_rm(c, I, &b, vlb, 2, 0, fullm(vlb / 2));
        for (int i = 0; i < vlb / 2; i++) r.w[i] = (uint16_t)sat_s(a.b[2 * i] * b.sb[2 * i] + a.b[2 * i + 1] * b.sb[2 * i + 1], 2);
        put_vec(c, I, I->reg, &r, 2, vlb);
        return 0;
    }
    case 0x0B: VL(); NAME("vpmulhrsw"); return do_int2(c, I, I_MULHRS, 2, vlb, 0);
    case 0x10: case 0x11: case 0x12:
        NEED(W == 1); VL();
        NAME(opc == 0x10 ? "vpsrlvw" : opc == 0x11 ? "vpsravw" : "vpsllvw");
        return do_int2(c, I, opc == 0x10 ? I_SRLV : opc == 0x11 ? I_SRAV : I_SLLV, 2, vlb, 0);
    case 0x45: case 0x46: case 0x47: {
        VL();
        int es = W ? 8 : 4;
        NAME(opc == 0x45 ? "vpsrlvd/q" : opc == 0x46 ? "vpsravd/q" : "vpsllvd/q");
        return do_int2(c, I, opc == 0x45 ? I_SRLV : opc == 0x46 ? I_SRAV : I_SLLV, es, vlb, 1);
    }
    case 0x14: case 0x15: {
        VL();
        NAME(opc == 0x14 ? "vprorvd/q" : "vprolvd/q");
        return do_int2(c, I, opc == 0x14 ? I_RORV : I_ROLV, W ? 8 : 4, vlb, 1);
    }
    case 0x16: case 0x36: case 0x8D: { /* vpermps/pd, vpermd/q, vpermb/w: dest[i] = rm[vvvv[i]] */
        VL();
        int es = opc == 0x8D ? (W ? 2 : 1) : (W ? 8 : 4);
        NEED(I->LL >= 1 || opc == 0x8D);
        NAME(opc == 0x8D ? (W ? "vpermw" : "vpermb") : opc == 0x16 ? (W ? "vpermpd" : "vpermps") : (W ? "vpermq" : "vpermd"));
        int nel = vlb / es;
        if (I->bc && I->mod == 3) FAIL("b on reg");
        get_vreg(c, I->vvvv, &a);
        if (get_rm(c, I, &b, vlb, es, es >= 4, fullm(nel))) FAIL("broadcast not allowed");
        for (int i = 0; i < nel; i++) se(&r, es, i, ge(&b, es, ge(&a, es, i) & (nel - 1)));
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    case 0x0C: { /* vpermilps var */
        NEED(W == 0); VL(); NAME("vpermilps");
        if (I->bc && I->mod == 3) FAIL("b on reg");
        get_vreg(c, I->vvvv, &a);
        get_rm(c, I, &b, vlb, 4, 1, fullm(vlb / 4));
        for (int i = 0; i < vlb / 4; i++) r.d[i] = a.d[(i & ~3) + (b.d[i] & 3)];
        put_vec(c, I, I->reg, &r, 4, vlb);
        return 0;
    }
    case 0x18: case 0x19: case 0x58: case 0x59: case 0x78: case 0x79: {
        /* broadcast element from xmm/mem (T1S, or T2 for x32x2) */
        int es;
        const char *nm;
        switch (opc) {
        case 0x18: NEED(W == 0); es = 4; nm = "vbroadcastss"; break;
        case 0x19: es = 8; nm = W ? "vbroadcastsd" : "vbroadcastf32x2"; NEED(I->LL >= 1); break;
        case 0x58: NEED(W == 0); es = 4; nm = "vpbroadcastd"; break;
        case 0x59: es = 8; nm = W ? "vpbroadcastq" : "vbroadcasti32x2"; break;
        case 0x78: NEED(W == 0); es = 1; nm = "vpbroadcastb"; break;
        default: NEED(W == 0); es = 2; nm = "vpbroadcastw"; break;
        }
        VL(); NAME(nm);
        if (I->bc) FAIL("b");
        int mes = (es == 8 && !W) ? 4 : es;   /* masking granularity */
        get_rm_n(c, I, &b, es, es);
        uint64_t x = ge(&b, es, 0);
        for (int i = 0; i < vlb / es; i++) se(&r, es, i, x);
        put_vec(c, I, I->reg, &r, mes, vlb);
        return 0;
    }
    case 0x1A: case 0x1B: case 0x5A: case 0x5B: { /* vbroadcast[fi]32x4/64x2/32x8/64x4 (mem only) */
        NEED(I->mod != 3); VL();
        int tb = (opc & 1) ? 32 : 16;
        NEED(vlb > tb);
        int es = W ? 8 : 4;
        NAME(opc & 0x40 ? "vbroadcasti32x4/64x2/32x8/64x4" : "vbroadcastf32x4/64x2/32x8/64x4");
        vec_t t;
        mrd(addr_of(c, I, tb), &t, tb);
        for (int i = 0; i < vlb; i++) r.b[i] = t.b[i % tb];
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    case 0x7A: case 0x7B: case 0x7C: { /* vpbroadcastb/w/d/q from GPR */
        VL();
        int es = opc == 0x7A ? 1 : opc == 0x7B ? 2 : (W ? 8 : 4);
        NEED(I->mod == 3);
        if (opc != 0x7C) NEED(W == 0);
        NAME(opc == 0x7A ? "vpbroadcastb r" : opc == 0x7B ? "vpbroadcastw r" : W ? "vpbroadcastq r" : "vpbroadcastd r");
        uint64_t x = greg(c, I->rmg) & emask(es);
        for (int i = 0; i < vlb / es; i++) se(&r, es, i, x);
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    case 0x1C: case 0x1D: case 0x1E: case 0x1F: {
        VL();
        int es = 1 << (opc - 0x1C);
        if (es == 4) NEED(W == 0); else if (es == 8) NEED(W == 1);
        static const char *nm[] = {"vpabsb", "vpabsw", "vpabsd", "vpabsq"};
        NAME(nm[opc - 0x1C]);
        int nel = vlb / es;
        if (I->bc && I->mod == 3) FAIL("b on reg");
        if (get_rm(c, I, &b, vlb, es, es >= 4, kmask(I, nel))) FAIL("broadcast not allowed");
        for (int i = 0; i < nel; i++) { int64_t x = sx(ge(&b, es, i), es); se(&r, es, i, (uint64_t)(x < 0 ? -x : x) & emask(es)); }
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25:
    case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: {
        /* vpmovsx / vpmovzx: HVM / QVM / OVM */
        static const int ses[] = {1, 1, 1, 2, 2, 4}, des[] = {2, 4, 8, 4, 8, 8};
        static const char *nms[] = {"vpmovsxbw", "vpmovsxbd", "vpmovsxbq", "vpmovsxwd", "vpmovsxwq", "vpmovsxdq"};
        static const char *nmz[] = {"vpmovzxbw", "vpmovzxbd", "vpmovzxbq", "vpmovzxwd", "vpmovzxwq", "vpmovzxdq"};
        int k = opc & 7, sgn = opc < 0x30, s = ses[k], dd = des[k];
        if (k == 5) NEED(W == 0);
        VL(); NAME(sgn ? nms[k] : nmz[k]);
        if (I->bc) FAIL("b");
        int nel = vlb / dd, sb = nel * s;
        uint64_t m = kmask(I, nel);
        if (I->mod == 3) get_vreg(c, I->rm, &b);
        else mrd_m(addr_of(c, I, sb), &b, nel, s, m);
        for (int i = 0; i < nel; i++) { uint64_t x = ge(&b, s, i); se(&r, dd, i, sgn ? (uint64_t)sx(x, s) & emask(dd) : x); }
        put_vec(c, I, I->reg, &r, dd, vlb);
        return 0;
    }
    case 0x26: case 0x27:
    ptest: {
        VL();
        int es = opc == 0x26 ? (W ? 2 : 1) : (W ? 8 : 4), nel = vlb / es;
        NAME(pp == 2 ? "vptestnm" : "vptestm");
        uint64_t m = kmask(I, nel), res = 0;
        if (I->bc && I->mod == 3) FAIL("b on reg");
        get_vreg(c, I->vvvv, &a);
        if (get_rm(c, I, &b, vlb, es, es >= 4, m)) FAIL("broadcast not allowed");
        for (int i = 0; i < nel; i++) if (((ge(&a, es, i) & ge(&b, es, i)) != 0) != (pp == 2)) res |= 1ull << i;
        T.k[I->reg & 7] = res & m;
        return 0;
    }
    case 0x28: NEED(W == 1); VL(); NAME("vpmuldq"); return do_int2(c, I, I_MULDQ, 8, vlb, 1);
    case 0x29: NEED(W == 1); VL(); NAME("vpcmpeqq"); return do_icmpk(c, I, 8, vlb, 0, 1, 1);
    case 0x37: NEED(W == 1); VL(); NAME("vpcmpgtq"); return do_icmpk(c, I, 8, vlb, 6, 1, 1);
    case 0x38: case 0x39: case 0x3A: case 0x3B: case 0x3C: case 0x3D: case 0x3E: case 0x3F: {
        VL();
        static const int es_[] = {1, 4, 2, 4, 1, 4, 2, 4};
        int k = opc - 0x38, es = es_[k];
        if (es == 4 && W) es = 8;
        int mx = k >= 4, uns = (k & 3) >= 2;
        int op = mx ? (uns ? I_MAXU : I_MAXS) : (uns ? I_MINU : I_MINS);
        static const char *nm[] = {"vpminsb", "vpminsd/q", "vpminuw", "vpminud/q", "vpmaxsb", "vpmaxsd/q", "vpmaxuw", "vpmaxud/q"};
        NAME(nm[k]);
        return do_int2(c, I, op, es, vlb, es >= 4);
    }
    case 0x40: VL(); NAME(W ? "vpmullq" : "vpmulld"); return do_int2(c, I, I_MULLO, W ? 8 : 4, vlb, 1);
    case 0x50: case 0x51: case 0x52: case 0x53: { /* VNNI */
        NEED(W == 0); VL();
        static const char *nm[] = {"vpdpbusd", "vpdpbusds", "vpdpwssd", "vpdpwssds"};
        NAME(nm[opc - 0x50]);
        int nel = vlb / 4;
        uint64_t m = kmask(I, nel);
        if (I->bc && I->mod == 3) FAIL("b on reg");
        get_vreg(c, I->reg, &d);
        get_vreg(c, I->vvvv, &a);
        get_rm(c, I, &b, vlb, 4, 1, m);
        for (int i = 0; i < nel; i++) {
            int64_t s = 0;
            if (opc <= 0x51) for (int j = 0; j < 4; j++) s += (int32_t)a.b[4 * i + j] * (int32_t)b.sb[4 * i + j];
            else for (int j = 0; j < 2; j++) s += (int32_t)a.sw[2 * i + j] * (int32_t)b.sw[2 * i + j];
            int64_t t = (int64_t)d.sd[i] + s;
            if (opc & 1) r.sd[i] = (int32_t)sat_s(t, 4);
            else r.d[i] = (uint32_t)(d.d[i] + (uint32_t)s);
        }
        put_vec(c, I, I->reg, &r, 4, vlb);
        return 0;
    }
    case 0x64: case 0x65: case 0x66: { /* vpblendmd/q, vblendmps/pd, vpblendmb/w */
        VL();
        int es = opc == 0x66 ? (W ? 2 : 1) : (W ? 8 : 4), nel = vlb / es;
        NAME(opc == 0x64 ? (W ? "vpblendmq" : "vpblendmd") : opc == 0x65 ? (W ? "vblendmpd" : "vblendmps") : (W ? "vpblendmw" : "vpblendmb"));
        uint64_t m = kmask(I, nel);
        if (I->bc && I->mod == 3) FAIL("b on reg");
        get_vreg(c, I->vvvv, &a);
        if (get_rm(c, I, &b, vlb, es, es >= 4, m)) FAIL("broadcast not allowed");
        for (int i = 0; i < nel; i++) se(&r, es, i, ((m >> i) & 1) ? ge(&b, es, i) : I->z ? 0 : ge(&a, es, i));
        set_vreg(c, I->reg, &r, vlb);
        return 0;
    }
    case 0x75: case 0x76: case 0x77: case 0x7D: case 0x7E: case 0x7F: {
        VL();
        int t2 = opc >= 0x7D, k = opc & 3; /* 75/7D: b/w, 76/7E: d/q, 77/7F: ps/pd */
        int es = k == 1 ? (W ? 2 : 1) : (W ? 8 : 4);
        static const char *nm[2][3][2] = {{{"vpermi2b", "vpermi2w"}, {"vpermi2d", "vpermi2q"}, {"vpermi2ps", "vpermi2pd"}},
                                          {{"vpermt2b", "vpermt2w"}, {"vpermt2d", "vpermt2q"}, {"vpermt2ps", "vpermt2pd"}}};
        NAME(nm[t2][(opc & 3) == 1 ? 0 : (opc & 3) == 2 ? 1 : 2][W]);
        if (I->bc && I->mod == 3) FAIL("b on reg");
        return do_perm2(c, I, es, vlb, t2, es >= 4);
    }
    case 0x90: case 0x91: case 0x92: case 0x93: {
        VL();
        int ies = (opc & 1) ? 8 : 4, des = W ? 8 : 4;
        static const char *nm[4][2] = {{"vpgatherdd", "vpgatherdq"}, {"vpgatherqd", "vpgatherqq"}, {"vgatherdps", "vgatherdpd"}, {"vgatherqps", "vgatherqpd"}};
        NAME(nm[opc & 3][W]);
        return do_gather(c, I, ies, des, vlb);
    }
    case 0xA0: case 0xA1: case 0xA2: case 0xA3: {
        VL();
        int ies = (opc & 1) ? 8 : 4, des = W ? 8 : 4;
        static const char *nm[4][2] = {{"vpscatterdd", "vpscatterdq"}, {"vpscatterqd", "vpscatterqq"}, {"vscatterdps", "vscatterdpd"}, {"vscatterqps", "vscatterqpd"}};
        NAME(nm[opc & 3][W]);
        return do_scatter(c, I, ies, des, vlb);
    }
    }
    /* FMA family 0x96..0xBF */
    if (opc >= 0x96 && opc <= 0xBF && (opc & 15) >= 6) {
        int form = opc < 0xA0 ? 132 : opc < 0xB0 ? 213 : 231;
        int lo = opc & 15;
        int scalar = (lo & 1) && lo >= 9;
        int kind = lo >= 0xE ? 3 : lo >= 0xC ? 2 : lo >= 0xA ? 1 : lo >= 8 ? 0 : -1;   /* 8/9 fmadd, A/B fmsub, C/D fnmadd, E/F fnmsub */
        int dbl = W, es = dbl ? 8 : 4;
        static char namebuf[4][3][2][2][16];
        const char *kn[] = {"vfmadd", "vfmsub", "vfnmadd", "vfnmsub"};
        if (kind < 0) { /* 6/7: fmaddsub / fmsubadd (packed only) */
            int k2 = lo == 6 ? 0 : 1;
            if (fp_er) vlb = 64; else VL();
            int nel = vlb / es;
            uint64_t m = kmask(I, nel);
            NAME(k2 ? "vfmsubadd" : "vfmaddsub");
            get_vreg(c, I->reg, &d); get_vreg(c, I->vvvv, &a);
            get_rm(c, I, &b, vlb, es, 1, m);
            fp_begin(c, I, 2);
            for (int i = 0; i < nel; i++) if ((m >> i) & 1) {
                int sub = ((i & 1) == 0) ^ k2;   /* fmaddsub: even elements subtract */
                if (dbl) r.g[i] = fmad(form, sub ? 1 : 0, d.g[i], a.g[i], b.g[i]);
                else r.f[i] = fmas(form, sub ? 1 : 0, d.f[i], a.f[i], b.f[i]);
            }
            fp_end(c);
            put_vec(c, I, I->reg, &r, es, vlb);
            return 0;
        }
        char *nb = namebuf[kind][form == 132 ? 0 : form == 213 ? 1 : 2][scalar][dbl];
        if (!nb[0]) {
            char *p = nb; const char *s = kn[kind];
            while (*s) *p++ = *s++;
            p += (form == 132) ? (memcpy(p, "132", 3), 3) : (form == 213) ? (memcpy(p, "213", 3), 3) : (memcpy(p, "231", 3), 3);
            *p++ = scalar ? 's' : 'p'; *p++ = dbl ? 'd' : 's'; *p = 0;
        }
        NAME(nb);
        if (scalar) {
            get_vreg(c, I->reg, &d); get_vreg(c, I->vvvv, &a);
            uint64_t m = kmask(I, 1);
            memset(&b, 0, sizeof b);
            if (I->mod == 3) get_vreg(c, I->rm, &b); else if (m & 1) mrd(addr_of(c, I, es), &b, es);
            r = d;
            fp_begin(c, I, 2);
            if (m & 1) { if (dbl) r.g[0] = fmad(form, kind, d.g[0], a.g[0], b.g[0]); else r.f[0] = fmas(form, kind, d.f[0], a.f[0], b.f[0]); }
            fp_end(c);
            put_scalar(c, I, &r, &d, es);
            return 0;
        }
        if (fp_er) vlb = 64; else VL();
        int nel = vlb / es;
        uint64_t m = kmask(I, nel);
        get_vreg(c, I->reg, &d); get_vreg(c, I->vvvv, &a);
        get_rm(c, I, &b, vlb, es, 1, m);
        fp_begin(c, I, 2);
        for (int i = 0; i < nel; i++) if ((m >> i) & 1) {
            if (dbl) r.g[i] = fmad(form, kind, d.g[i], a.g[i], b.g[i]); else r.f[i] = fmas(form, kind, d.f[i], a.f[i], b.f[i]);
        }
        fp_end(c);
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    FAIL("unimplemented EVEX map2 opcode");
}

static int exec_map3(struct cpu *c, struct insn *I)
{
    int vlb = 16, pp = I->pp, W = I->W, opc = I->opc, imm = I->imm;
    vec_t a, b, r, d;
    memset(&r, 0, sizeof r);
    if (pp != 1) FAIL("unimplemented EVEX 0F3A pp");
    switch (opc) {
    case 0x00: case 0x01: { /* vpermq/vpermpd imm: within 256-bit halves */
        NEED(W == 1 && I->LL >= 1); VL();
        NAME(opc == 0 ? "vpermq imm" : "vpermpd imm");
        if (I->bc && I->mod == 3) FAIL("b on reg");
        get_rm(c, I, &b, vlb, 8, 1, fullm(vlb / 8));
        for (int i = 0; i < vlb / 8; i++) r.q[i] = b.q[(i & ~3) + ((imm >> (2 * (i & 3))) & 3)];
        put_vec(c, I, I->reg, &r, 8, vlb);
        return 0;
    }
    case 0x03: { /* valignd/q */
        VL();
        int es = W ? 8 : 4, nel = vlb / es;
        NAME(W ? "valignq" : "valignd");
        if (I->bc && I->mod == 3) FAIL("b on reg");
        get_vreg(c, I->vvvv, &a);
        get_rm(c, I, &b, vlb, es, 1, fullm(nel));
        int sh = imm & (nel - 1);
        for (int i = 0; i < nel; i++) { int j = i + sh; se(&r, es, i, j < nel ? ge(&b, es, j) : ge(&a, es, j - nel)); }
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    case 0x08: case 0x09: { /* vrndscaleps/pd */
        NEED(W == (opc & 1));
        int dbl = opc & 1, es = dbl ? 8 : 4;
        if (I->bc && I->mod == 3) vlb = 64; else VL();
        NAME(dbl ? "vrndscalepd" : "vrndscaleps");
        int nel = vlb / es;
        uint64_t m = kmask(I, nel);
        get_rm(c, I, &b, vlb, es, 1, m);
        fp_begin(c, I, 1);
        for (int i = 0; i < nel; i++) if ((m >> i) & 1) { if (dbl) r.g[i] = rndscale_d(b.g[i], imm); else r.f[i] = rndscale_s(b.f[i], imm); }
        fp_end(c);
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    case 0x0A: case 0x0B: { /* vrndscaless/sd */
        NEED(W == (opc & 1));
        int dbl = opc & 1, es = dbl ? 8 : 4;
        NAME(dbl ? "vrndscalesd" : "vrndscaless");
        get_vreg(c, I->vvvv, &a);
        uint64_t m = kmask(I, 1);
        memset(&b, 0, sizeof b);
        if (I->mod == 3) get_vreg(c, I->rm, &b); else if (m & 1) mrd(addr_of(c, I, es), &b, es);
        r = a;
        fp_begin(c, I, 1);
        if (m & 1) { if (dbl) r.g[0] = rndscale_d(b.g[0], imm); else r.f[0] = rndscale_s(b.f[0], imm); }
        fp_end(c);
        put_scalar(c, I, &r, &a, es);
        return 0;
    }
    case 0x0F: { /* vpalignr */
        VL(); NAME("vpalignr");
        if (I->bc) FAIL("b");
        get_vreg(c, I->vvvv, &a);
        get_rm(c, I, &b, vlb, 1, 0, fullm(vlb));
        for (int l = 0; l < vlb / 16; l++)
            for (int j = 0; j < 16; j++) {
                int s = j + imm;
                r.b[l * 16 + j] = s < 16 ? b.b[l * 16 + s] : s < 32 ? a.b[l * 16 + s - 16] : 0;
            }
        put_vec(c, I, I->reg, &r, 1, vlb);
        return 0;
    }
    case 0x14: case 0x15: case 0x16: case 0x17: { /* vpextrb/w/d/q, vextractps */
        NEED(I->LL == 0);
        int es = opc == 0x14 ? 1 : opc == 0x15 ? 2 : opc == 0x16 ? (W ? 8 : 4) : 4;
        NAME(opc == 0x14 ? "vpextrb" : opc == 0x15 ? "vpextrw" : opc == 0x16 ? (W ? "vpextrq" : "vpextrd") : "vextractps");
        get_vreg(c, I->reg, &a);
        uint64_t x = ge(&a, es, imm & (16 / es - 1));
        if (I->mod == 3) { if (es == 8) set_greg64(c, I->rmg, x); else set_greg32(c, I->rmg, (uint32_t)x); }
        else mwr(addr_of(c, I, es), &x, es);
        return 0;
    }
    case 0x18: case 0x1A: case 0x38: case 0x3A: { /* vinsert[fi]32x4/64x2/32x8/64x4 */
        VL();
        int lb = (opc & 2) ? 32 : 16, es = W ? 8 : 4;
        NEED(vlb > lb);
        static const char *nm[2][2][2] = {{{"vinsertf32x4", "vinsertf64x2"}, {"vinsertf32x8", "vinsertf64x4"}},
                                          {{"vinserti32x4", "vinserti64x2"}, {"vinserti32x8", "vinserti64x4"}}};
        NAME(nm[opc >= 0x38][lb == 32][W]);
        get_vreg(c, I->vvvv, &a);
        get_rm_n(c, I, &b, lb, lb);
        r = a;
        int lane = imm & (vlb / lb - 1);
        memcpy(r.b + lane * lb, b.b, lb);
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    case 0x19: case 0x1B: case 0x39: case 0x3B: { /* vextract[fi]32x4/64x2/32x8/64x4 */
        VL();
        int lb = (opc & 2) ? 32 : 16, es = W ? 8 : 4;
        NEED(vlb > lb);
        static const char *nm[2][2][2] = {{{"vextractf32x4", "vextractf64x2"}, {"vextractf32x8", "vextractf64x4"}},
                                          {{"vextracti32x4", "vextracti64x2"}, {"vextracti32x8", "vextracti64x4"}}};
        NAME(nm[opc >= 0x38][lb == 32][W]);
        get_vreg(c, I->reg, &a);
        int lane = imm & (vlb / lb - 1);
        memcpy(r.b, a.b + lane * lb, lb);
        return put_rm_narrow(c, I, &r, es, lb, lb);
    }
    case 0x1E: case 0x1F: case 0x3E: case 0x3F: { /* vpcmp[u]b/w/d/q */
        VL();
        int es = opc >= 0x3E ? (W ? 2 : 1) : (W ? 8 : 4);
        int sgn = opc & 1;
        static const char *pn[] = {"eq", "lt", "le", "false", "neq", "nlt", "nle", "true"};
        static char namebuf[8][2][4][16];
        int ei = es == 1 ? 0 : es == 2 ? 1 : es == 4 ? 2 : 3;
        char *nb = namebuf[imm & 7][sgn][ei];
        if (!nb[0]) {
            char *p = nb; memcpy(p, "vpcmp", 5); p += 5;
            for (const char *s = pn[imm & 7]; *s; s++) *p++ = *s;
            if (!sgn) *p++ = 'u';
            *p++ = "bwdq"[ei]; *p = 0;
        }
        NAME(nb);
        return do_icmpk(c, I, es, vlb, imm, sgn, es >= 4);
    }
    case 0x20: case 0x22: { /* vpinsrb, vpinsrd/q */
        NEED(I->LL == 0);
        int es = opc == 0x20 ? 1 : (W ? 8 : 4);
        NAME(opc == 0x20 ? "vpinsrb" : W ? "vpinsrq" : "vpinsrd");
        uint64_t x = 0;
        if (I->mod == 3) x = greg(c, I->rmg); else mrd(addr_of(c, I, es), &x, es);
        get_vreg(c, I->vvvv, &a);
        r = a;
        se(&r, es, imm & (16 / es - 1), x & emask(es));
        memset(r.b + 16, 0, 48);
        set_vreg(c, I->reg, &r, 16);
        return 0;
    }
    case 0x21: { /* vinsertps */
        NEED(I->LL == 0 && W == 0);
        NAME("vinsertps");
        uint32_t x;
        get_vreg(c, I->vvvv, &a);
        if (I->mod == 3) { get_vreg(c, I->rm, &b); x = b.d[(imm >> 6) & 3]; }
        else mrd(addr_of(c, I, 4), &x, 4);
        r = a;
        r.d[(imm >> 4) & 3] = x;
        for (int i = 0; i < 4; i++) if ((imm >> i) & 1) r.d[i] = 0;
        memset(r.b + 16, 0, 48);
        set_vreg(c, I->reg, &r, 16);
        return 0;
    }
    case 0x23: case 0x43: { /* vshuff32x4/64x2, vshufi32x4/64x2 */
        NEED(I->LL >= 1); VL();
        int es = W ? 8 : 4;
        NAME(opc == 0x23 ? (W ? "vshuff64x2" : "vshuff32x4") : (W ? "vshufi64x2" : "vshufi32x4"));
        if (I->bc && I->mod == 3) FAIL("b on reg");
        get_vreg(c, I->vvvv, &a);
        get_rm(c, I, &b, vlb, es, 1, fullm(vlb / es));
        if (vlb == 32) {
            memcpy(r.b, a.b + 16 * (imm & 1), 16);
            memcpy(r.b + 16, b.b + 16 * ((imm >> 1) & 1), 16);
        } else {
            memcpy(r.b, a.b + 16 * (imm & 3), 16);
            memcpy(r.b + 16, a.b + 16 * ((imm >> 2) & 3), 16);
            memcpy(r.b + 32, b.b + 16 * ((imm >> 4) & 3), 16);
            memcpy(r.b + 48, b.b + 16 * ((imm >> 6) & 3), 16);
        }
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    case 0x25: { /* vpternlogd/q */
        VL();
        int es = W ? 8 : 4, nel = vlb / es;
        NAME(W ? "vpternlogq" : "vpternlogd");
        if (I->bc && I->mod == 3) FAIL("b on reg");
        get_vreg(c, I->reg, &d);
        get_vreg(c, I->vvvv, &a);
        get_rm(c, I, &b, vlb, es, 1, kmask(I, nel));
        for (int i = 0; i < vlb / 8; i++) {
            uint64_t x = d.q[i], y = a.q[i], z = b.q[i], o = 0;
            for (int t = 0; t < 8; t++) if ((imm >> t) & 1) {
                uint64_t tx = (t & 4) ? x : ~x, ty = (t & 2) ? y : ~y, tz = (t & 1) ? z : ~z;
                o |= tx & ty & tz;
            }
            r.q[i] = o;
        }
        put_vec(c, I, I->reg, &r, es, vlb);
        return 0;
    }
    }
    FAIL("unimplemented EVEX map3 opcode");
}

int evex_exec(struct cpu *c, struct insn *I)
{
    evex_err = 0;
    I->name = 0;
    if (I->kind == 2) return exec_kop(c, I);
    switch (I->map) {
    case 1: return exec_map1(c, I);
    case 2: return exec_map2(c, I);
    case 3: return exec_map3(c, I);
    }
    FAIL("unsupported EVEX map");
}
