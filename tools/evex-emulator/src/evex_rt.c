/* evex-emu runtime: LD_PRELOAD entry point.
 *
 *  - decides at load time whether emulation is needed (CPUID AVX512F + XCR0);
 *    on an AVX-512 machine it does nothing at all;
 *  - installs a SIGILL handler that decodes the faulting EVEX / VEX-k
 *    instruction, emulates it on the signal frame and advances RIP;
 *  - keeps SIGILL deliverable: interposes sigaction/signal (the application's
 *    SIGILL handler is remembered and called for non-EVEX faults) and
 *    sigprocmask/pthread_sigmask (SIGILL is never blocked: a blocked
 *    synchronous SIGILL would kill the process);
 *  - counts emulations per site; hot sites (EVEX_EMU_PATCH_AFTER hits) are
 *    patched with a jump to a generated stub that runs the same emulator
 *    without a signal (see tramp.S);
 *  - on an instruction it cannot emulate, logs bytes/address/module/symbol
 *    and lets the process die by SIGILL at that instruction.
 *
 * Environment:
 *   EVEX_EMU_LOG=path          also append messages to this file (default: stderr only)
 *   EVEX_EMU_STATS=path        keep counters/site table in this file (%p = pid), read with evex-stats
 *   EVEX_EMU_PATCH=0|1         patch hot sites with trampolines (default 1)
 *   EVEX_EMU_PATCH_AFTER=N     hits before a site is patched (default 64)
 *   EVEX_EMU_VERBOSE=1         log every new site
 */
#define _GNU_SOURCE
#include "evex_emu.h"
#include "evex_stats.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <cpuid.h>
#include <linux/membarrier.h>

#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN uint32_t evex_xsave_mask = 7;
extern void evex_tramp_entry(void) HIDDEN;

static int g_active;              /* emulator installed */
static int g_patch = 1;
static unsigned g_patch_after = 64;
static int g_verbose;
static int g_logfd = -1;
static int g_membarrier;
static struct evex_stats *g_st;

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static int (*real_sigprocmask)(int, const sigset_t *, sigset_t *);
static int (*real_pthread_sigmask)(int, const sigset_t *, sigset_t *);
static struct sigaction g_app_ill;   /* the application's SIGILL disposition */

/* ------------------------------------------------------------------ */
/* Logging (async-signal-safe)                                          */
/* ------------------------------------------------------------------ */

static void wr_all(int fd, const char *s, size_t n)
{
    while (n) { ssize_t w = write(fd, s, n); if (w <= 0) return; s += w; n -= w; }
}
static void logmsg(const char *s)
{
    size_t n = strlen(s);
    wr_all(2, s, n);
    if (g_logfd >= 0) wr_all(g_logfd, s, n);
}
static char *fmt_hex(char *p, uint64_t v)
{
    char t[17]; int n = 0;
    do { t[n++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    *p++ = '0'; *p++ = 'x';
    while (n) *p++ = t[--n];
    return p;
}
static char *fmt_str(char *p, const char *s) { while (s && *s) *p++ = *s++; return p; }
static char *fmt_bytes(char *p, const uint8_t *b, int n)
{
    for (int i = 0; i < n; i++) { *p++ = "0123456789abcdef"[b[i] >> 4]; *p++ = "0123456789abcdef"[b[i] & 15]; if (i + 1 < n) *p++ = ' '; }
    return p;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Site table                                                           */
/* ------------------------------------------------------------------ */

static struct evex_site *site_get(uint64_t rip, const struct insn *I)
{
    if (!g_st) return 0;
    uint64_t h = (rip * 0x9E3779B97F4A7C15ull) >> 51;   /* 13 bits */
    for (unsigned n = 0; n < EVEX_MAX_SITES; n++) {
        struct evex_site *s = &g_st->sites[(h + n) & (EVEX_MAX_SITES - 1)];
        uint64_t cur = __atomic_load_n(&s->rip, __ATOMIC_ACQUIRE);
        if (cur == rip) return s;
        if (cur == 0) {
            if (!I) return 0;
            /* claim: fill the record first, publish rip last */
            uint64_t exp = 0;
            if (__atomic_compare_exchange_n(&s->rip, &exp, ~0ull, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                s->len = I->len;
                memcpy(s->orig, I->p, I->len);
                memset(s->name, 0, sizeof s->name);
                s->state = SITE_NEW;
                __atomic_store_n(&s->rip, rip, __ATOMIC_RELEASE);
                __atomic_fetch_add(&g_st->nsites, 1, __ATOMIC_RELAXED);
                return s;
            }
            if (exp == rip) return s;
            if (exp == ~0ull) { /* being claimed by another thread: wait */
                while (__atomic_load_n(&s->rip, __ATOMIC_ACQUIRE) == ~0ull) ;
                if (s->rip == rip) return s;
            }
        }
    }
    return 0;
}

static void site_name(struct evex_site *s, const char *nm)
{
    if (s && nm && !s->name[0]) {
        int i = 0;
        for (; nm[i] && i < (int)sizeof s->name - 1; i++) s->name[i] = nm[i];
    }
}

/* ------------------------------------------------------------------ */
/* Fatal: unimplemented instruction                                     */
/* ------------------------------------------------------------------ */

static void die_unimpl(const uint8_t *ip, const struct insn *I, const char *why)
{
    char buf[1024], *p = buf;
    Dl_info di;
    p = fmt_str(p, "evex-emu: FATAL: cannot emulate instruction at ");
    p = fmt_hex(p, (uint64_t)ip);
    if (dladdr(ip, &di) && di.dli_fname) {
        p = fmt_str(p, " (");
        p = fmt_str(p, di.dli_fname);
        p = fmt_str(p, "+");
        p = fmt_hex(p, (uint64_t)ip - (uint64_t)di.dli_fbase);
        if (di.dli_sname) { p = fmt_str(p, ", "); p = fmt_str(p, di.dli_sname); p = fmt_str(p, "+"); p = fmt_hex(p, (uint64_t)ip - (uint64_t)di.dli_saddr); }
        p = fmt_str(p, ")");
    }
    p = fmt_str(p, ": bytes ");
    p = fmt_bytes(p, ip, I && I->len ? I->len : 15);
    p = fmt_str(p, ": ");
    p = fmt_str(p, why ? why : "unknown");
    if (I && I->name) { p = fmt_str(p, " ["); p = fmt_str(p, I->name); p = fmt_str(p, "]"); }
    p = fmt_str(p, "\n");
    *p = 0;
    logmsg(buf);
    /* Let the instruction fault again with the default action: the process
     * dies by SIGILL (core dump) exactly at the offending instruction. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    real_sigaction(SIGILL, &sa, 0);
}

/* ------------------------------------------------------------------ */
/* Trampolines                                                          */
/* ------------------------------------------------------------------ */

#define REGION_SIZE (256 * 1024)
#define STUB_SIZE 48
/* A trampoline region is a memfd mapped twice: executable (never writable)
 * within +-2 GiB of the patched code, and writable elsewhere. Live stubs
 * therefore never lose PROT_EXEC while another stub is being written. */
struct region { uint8_t *x; uint8_t *w; size_t used; };
static struct region g_regions[64];
static int g_nregions;
static volatile int g_patch_lock;

static int near32(uint64_t a, uint64_t b)
{
    int64_t d = (int64_t)(a - b);
    return d > -0x7ff00000ll && d < 0x7ff00000ll;
}

static int in_stub(uint64_t a)
{
    int n = __atomic_load_n(&g_nregions, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        if (a >= (uint64_t)g_regions[i].x && a < (uint64_t)g_regions[i].x + REGION_SIZE) return 1;
    return 0;
}

/* Is the code page at a still mapped? (the previous run's end may be in a
 * module unloaded since). One cheap syscall, only when a scan is needed. */
static int code_readable(uint64_t a)
{
    unsigned char v;
    int e = errno;
    int r = syscall(SYS_mincore, (void *)(a & ~4095ull), 4096, &v) == 0;
    errno = e;
    return r;
}

/* Returns the executable address of a new stub; *w = its writable alias. */
static uint8_t *stub_alloc(uint64_t site, uint8_t **w)
{
    for (int i = 0; i < g_nregions; i++) {
        struct region *r = &g_regions[i];
        if (r->used + STUB_SIZE <= REGION_SIZE && near32((uint64_t)r->x, site) && near32((uint64_t)r->x + REGION_SIZE, site)) {
            *w = r->w + r->used;
            r->used += STUB_SIZE;
            return *w - r->w + r->x;
        }
    }
    if (g_nregions == (int)(sizeof g_regions / sizeof g_regions[0])) return 0;
    int fd = (int)syscall(SYS_memfd_create, "evex-emu-stubs", 1u /* MFD_CLOEXEC */);
    if (fd < 0) return 0;
    if (ftruncate(fd, REGION_SIZE)) { close(fd); return 0; }
    uint8_t *wv = mmap(0, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (wv == MAP_FAILED) { close(fd); return 0; }
    /* find free address space within +-2 GiB of the site */
    for (int64_t k = 1; k < 1800; k++) {
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            uint64_t hint = ((site & ~0xfffffull) + (uint64_t)(sgn * k) * 0x100000ull);
            void *m = mmap((void *)hint, REGION_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
            if (m == MAP_FAILED) continue;
            if ((uint64_t)m != hint || !near32((uint64_t)m, site) || !near32((uint64_t)m + REGION_SIZE, site)) { munmap(m, REGION_SIZE); continue; }
            close(fd);
            struct region *r = &g_regions[g_nregions];
            r->x = m; r->w = wv; r->used = STUB_SIZE;
            __atomic_store_n(&g_nregions, g_nregions + 1, __ATOMIC_RELEASE);
            *w = wv;
            return m;
        }
    }
    munmap(wv, REGION_SIZE);
    close(fd);
    return 0;
}

/* Decoded runs of patched sites (allocated under g_patch_lock, never freed). */
static uint8_t *g_dpool;
static size_t g_dpool_left;
static struct insn *dec_alloc(int n)
{
    size_t sz = sizeof(struct insn) * (size_t)n;
    if (g_dpool_left < sz) {
        void *m = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return 0;
        g_dpool = m; g_dpool_left = 1 << 20;
    }
    struct insn *d = (struct insn *)g_dpool;
    g_dpool += sz; g_dpool_left -= sz;
    return d;
}

/* Can this decoded instruction run from a trampoline? */
static int patchable(const struct insn *I)
{
    if (I->len < 5 || I->len > 15) return 0;
    if (I->p[0] != 0x62) return 0;                 /* no prefixes: byte 0 must keep faulting while patching */
    if (I->kind != 1) return 0;
    return 1;
}

static void sync_cores(void)
{
    if (g_membarrier) syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
}

/* Patch site s (state SITE_NEW, instruction already emulated successfully once). */
static void try_patch(struct evex_site *s, const struct insn *I)
{
    if (!patchable(I)) { s->state = SITE_NOPATCH; return; }
    if (__atomic_exchange_n(&g_patch_lock, 1, __ATOMIC_ACQUIRE)) return;   /* busy: later */
    if (s->state != SITE_NEW) goto out;
    uint64_t site = s->rip;
    /* The stub emulates the run of consecutive EVEX/VEX-opmask instructions
     * that starts here (they cannot be branches); only the first one is
     * overwritten, so other paths into the run still find original code. */
    {
        int n = 1, off = I->len;
        memcpy(s->orig, (const void *)site, I->len);
        while (n < EVEX_RUN_MAX && off + 15 <= EVEX_RUN_BYTES) {
            struct insn J;
            const uint8_t *q = (const uint8_t *)site + off;
            if (evex_decode(q, &J)) {
                /* an already patched site: splice in its saved run */
                struct evex_site *t = q[0] == 0xe9 ? site_get((uint64_t)q, 0) : 0;
                if (t && __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == SITE_PATCHED && !memcmp(q + 1, &t->prel, 4) &&
                    off + t->runlen <= EVEX_RUN_BYTES && n + t->nrun <= EVEX_RUN_MAX) {
                    memcpy(s->orig + off, t->orig, t->runlen);
                    off += t->runlen;
                    n += t->nrun;
                    continue;
                }
                break;
            }
            if (off + J.len > EVEX_RUN_BYTES) break;
            memcpy(s->orig + off, q, J.len);
            off += J.len;
            n++;
        }
        s->runlen = off;
        s->nrun = n;
        /* decode the run once; stubs use the decoded copy */
        struct insn *d = dec_alloc(n);
        const uint8_t *q = s->orig;
        for (int i = 0; d && i < n; i++) {
            if (evex_decode(q, &d[i])) { d = 0; break; }
            q += d[i].len;
        }
        s->dec = (uint64_t)d;
    }
    uint8_t *stw, *st = stub_alloc(site, &stw);
    if (!st) { s->state = SITE_NOPATCH; goto out; }
    uint8_t code[STUB_SIZE];
    memset(code, 0xcc, sizeof code);
    int32_t rel;
    code[0] = 0x48; code[1] = 0x8d; code[2] = 0x64; code[3] = 0x24; code[4] = 0x80;          /* lea -0x80(%rsp),%rsp */
    code[5] = 0xff; code[6] = 0x15; rel = 32 - 11; memcpy(code + 7, &rel, 4);                 /* call *32(stub) */
    code[11] = 0x48; code[12] = 0x8d; code[13] = 0xa4; code[14] = 0x24;                       /* lea 0x80(%rsp),%rsp */
    code[15] = 0x80; code[16] = 0; code[17] = 0; code[18] = 0;
    code[19] = 0xe9; rel = (int32_t)((int64_t)(site + s->runlen) - (int64_t)((uint64_t)st + 24)); memcpy(code + 20, &rel, 4);
    uint64_t rec = (uint64_t)s, ent = (uint64_t)&evex_tramp_entry;
    memcpy(code + 24, &rec, 8);
    memcpy(code + 32, &ent, 8);
    memcpy(stw, code, sizeof code);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    /* Patch the site: bytes 1..4 first (byte 0 is still 0x62, so any thread
     * reaching the site still traps and is emulated from s->orig), then
     * byte 0 = jmp. */
    uint64_t p0 = site & ~4095ull, p1 = (site + 5 + 4095) & ~4095ull;
    if (mprotect((void *)p0, p1 - p0, PROT_READ | PROT_WRITE | PROT_EXEC)) { s->state = SITE_NOPATCH; goto out; }
    rel = (int32_t)((int64_t)(uint64_t)st - (int64_t)(site + 5));
    s->prel = (uint32_t)rel;
    uint8_t *sp = (uint8_t *)site;
    __atomic_store_n(&s->state, SITE_PATCHING, __ATOMIC_SEQ_CST);
    memcpy(sp + 1, &rel, 4);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    sync_cores();
    __atomic_store_n(sp, (uint8_t)0xe9, __ATOMIC_SEQ_CST);
    sync_cores();
    mprotect((void *)p0, p1 - p0, PROT_READ | PROT_EXEC);
    s->state = SITE_PATCHED;
    __atomic_fetch_add(&g_st->npatched, 1, __ATOMIC_RELAXED);
    if (g_verbose) {
        char buf[256], *p = buf;
        p = fmt_str(p, "evex-emu: patched ");
        p = fmt_hex(p, site);
        p = fmt_str(p, " ");
        p = fmt_str(p, s->name);
        p = fmt_str(p, "\n"); *p = 0;
        logmsg(buf);
    }
out:
    __atomic_store_n(&g_patch_lock, 0, __ATOMIC_RELEASE);
}

/* Called from evex_tramp_entry. g: r15..r8, rdi, rsi, rbp, rbx, rdx, rcx, rax, rflags, return address. */
static inline uint64_t rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }

HIDDEN void evex_tramp_c(uint64_t *g, uint8_t *xs)
{
    uint64_t t0 = rdtsc();
    uint64_t ret = g[16];
    struct evex_site *s = *(struct evex_site **)(ret + 13);
    uint64_t rsp = (uint64_t)(g + 17) + 128, rsp0 = rsp;
    struct cpu c = {
        .gpr = {&g[14], &g[13], &g[12], &g[11], &rsp, &g[10], &g[9], &g[8], &g[7], &g[6], &g[5], &g[4], &g[3], &g[2], &g[1], &g[0]},
        .rflags = &g[15], .rip = s->rip, .xsave = xs,
    };
    struct insn I, *d = (struct insn *)s->dec;
    const uint8_t *p = s->orig;
    if (evex_begin_run(s->rip, in_stub, code_readable)) __atomic_fetch_add(&g_st->nscan, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < s->nrun; i++) {
        struct insn *J = d ? &d[i] : &I;
        if ((!d && evex_decode(p, &I)) || evex_exec(&c, J) || rsp != rsp0) {
            die_unimpl((const uint8_t *)c.rip, J, evex_err ? evex_err : "trampoline emulation failed");
            abort();
        }
        p += J->len;
        c.rip += J->len;
    }
    evex_end_run(s->rip + s->runlen);
    if (s->nrun > 1) __atomic_fetch_add(&g_st->nruntramp, s->nrun - 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->ntramp, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&g_st->ntramp, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&g_st->tramp_cycles, rdtsc() - t0, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* SIGILL handler                                                       */
/* ------------------------------------------------------------------ */

static void chain_app(int sig, siginfo_t *si, void *uc, const uint8_t *ip)
{
    struct sigaction a = g_app_ill;
    if ((a.sa_flags & SA_SIGINFO) && a.sa_sigaction) { a.sa_sigaction(sig, si, uc); return; }
    if (!(a.sa_flags & SA_SIGINFO) && a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN) { a.sa_handler(sig); return; }
    char buf[256], *p = buf;
    p = fmt_str(p, "evex-emu: SIGILL at ");
    p = fmt_hex(p, (uint64_t)ip);
    p = fmt_str(p, " is not an EVEX/VEX-opmask instruction: bytes ");
    p = fmt_bytes(p, ip, 8);
    p = fmt_str(p, "\n"); *p = 0;
    logmsg(buf);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    real_sigaction(SIGILL, &sa, 0);
}

static void on_sigill(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    greg_t *gr = uc->uc_mcontext.gregs;
    const uint8_t *ip = (const uint8_t *)gr[REG_RIP];
    uint8_t *xs = (uint8_t *)uc->uc_mcontext.fpregs;
    int saved_errno = errno;
    uint64_t t0 = rdtsc();
    struct insn I;
    struct evex_site *s = 0;

    if (si->si_code <= 0) { chain_app(sig, si, ucv, ip); goto out; }   /* sent by kill(), not a fault */

    /* A fault at a site that we are patching (byte 0 still 0x62, rel32
     * already written) or that another core still sees unpatched: emulate
     * the saved original bytes. Anything else at a recorded address (code
     * re-loaded there after dlclose) is decoded from memory. */
    const uint8_t *code = ip;
    if (g_st && (s = site_get((uint64_t)ip, 0)) != 0) {
        uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
        if (memcmp(ip, s->orig, s->len) != 0) {
            if ((st == SITE_PATCHING || st == SITE_PATCHED) && (ip[0] == 0x62 || ip[0] == 0xe9) && memcmp(ip + 1, &s->prel, 4) == 0)
                code = s->orig;
            else
                s = 0;
        } else if (st == SITE_PATCHED) {
            /* our jmp is gone: the module was unloaded and loaded again at the
             * same address. Start over for this site (the old stub is leaked). */
            if (__atomic_compare_exchange_n(&s->state, &st, SITE_NEW, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                s->nsig = 0;
                evex_scan_cache_flush();
            }
        }
    }
    if (evex_decode(code, &I)) { chain_app(sig, si, ucv, ip); goto out; }
    if (!xs || *(uint32_t *)(xs + 464) != 0x46505853u /* FP_XSTATE_MAGIC1 */) {
        die_unimpl(ip, &I, "signal frame has no XSAVE area");
        goto out;
    }
    if (evex_begin_run((uint64_t)ip, in_stub, code_readable) && g_st) __atomic_fetch_add(&g_st->nscan, 1, __ATOMIC_RELAXED);
    struct cpu c = {
        .gpr = {(uint64_t *)&gr[REG_RAX], (uint64_t *)&gr[REG_RCX], (uint64_t *)&gr[REG_RDX], (uint64_t *)&gr[REG_RBX],
                (uint64_t *)&gr[REG_RSP], (uint64_t *)&gr[REG_RBP], (uint64_t *)&gr[REG_RSI], (uint64_t *)&gr[REG_RDI],
                (uint64_t *)&gr[REG_R8], (uint64_t *)&gr[REG_R9], (uint64_t *)&gr[REG_R10], (uint64_t *)&gr[REG_R11],
                (uint64_t *)&gr[REG_R12], (uint64_t *)&gr[REG_R13], (uint64_t *)&gr[REG_R14], (uint64_t *)&gr[REG_R15]},
        .rflags = (uint64_t *)&gr[REG_EFL], .rip = (uint64_t)ip, .xsave = xs,
    };
    if (evex_exec(&c, &I)) {
        die_unimpl(ip, &I, evex_err);
        goto out;
    }
    gr[REG_RIP] += I.len;
    /* Emulate the following EVEX/VEX-opmask instructions in the same trap
     * (sequential execution from here; stops at anything else, at a patched
     * site, or at an instruction we cannot emulate - which then traps itself). */
    {
        int n = 0;
        struct insn J;
        while (n < EVEX_RUN_MAX - 1) {
            const uint8_t *q = (const uint8_t *)gr[REG_RIP];
            if (evex_decode(q, &J)) break;
            c.rip = (uint64_t)q;
            if (evex_exec(&c, &J)) break;
            gr[REG_RIP] += J.len;
            n++;
        }
        if (n && g_st) __atomic_fetch_add(&g_st->nrunsig, n, __ATOMIC_RELAXED);
        evex_end_run((uint64_t)gr[REG_RIP]);
    }
    if (g_st) {
        __atomic_fetch_add(&g_st->nsig, 1, __ATOMIC_RELAXED);
        if (!s) s = site_get((uint64_t)ip, &I);
        if (s) {
            uint64_t n = __atomic_add_fetch(&s->nsig, 1, __ATOMIC_RELAXED);
            if (n == 1) {
                site_name(s, I.name);
                if (g_verbose) {
                    char buf[256], *p = buf;
                    p = fmt_str(p, "evex-emu: new site ");
                    p = fmt_hex(p, (uint64_t)ip);
                    p = fmt_str(p, " ");
                    p = fmt_str(p, I.name);
                    p = fmt_str(p, "\n"); *p = 0;
                    logmsg(buf);
                }
            }
            if (g_patch && n >= g_patch_after && s->state == SITE_NEW && I.p == ip) try_patch(s, &I);
        } else
            __atomic_fetch_add(&g_st->nlost, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&g_st->sig_cycles, rdtsc() - t0, __ATOMIC_RELAXED);
    }
out:
    errno = saved_errno;
}

/* ------------------------------------------------------------------ */
/* Interposed signal API                                                */
/* ------------------------------------------------------------------ */

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!real_sigaction) real_sigaction = dlsym(RTLD_NEXT, "sigaction");
    if (g_active && sig == SIGILL) {
        if (old) *old = g_app_ill;
        if (act) g_app_ill = *act;
        return 0;
    }
    return real_sigaction(sig, act, old);
}

sighandler_t signal(int sig, sighandler_t h)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, &old)) return SIG_ERR;
    return old.sa_handler;
}

static const sigset_t *unblock_ill(int how, const sigset_t *set, sigset_t *tmp)
{
    if (!g_active || !set || how == SIG_UNBLOCK || !sigismember(set, SIGILL)) return set;
    *tmp = *set;
    sigdelset(tmp, SIGILL);
    return tmp;
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    sigset_t t;
    if (!real_sigprocmask) real_sigprocmask = dlsym(RTLD_NEXT, "sigprocmask");
    return real_sigprocmask(how, unblock_ill(how, set, &t), old);
}

int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    sigset_t t;
    if (!real_pthread_sigmask) real_pthread_sigmask = dlsym(RTLD_NEXT, "pthread_sigmask");
    return real_pthread_sigmask(how, unblock_ill(how, set, &t), old);
}

/* ------------------------------------------------------------------ */
/* Init                                                                 */
/* ------------------------------------------------------------------ */

/* 1 if the CPU and OS run AVX-512F natively. */
int evex_emu_native_avx512(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;  /* OSXSAVE */
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xe6) != 0xe6) return 0;                                     /* SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 16) & 1;                                                  /* AVX512F */
}

static void shadow_diag(int n, uint64_t wrip, uint64_t rrip, int kind)
{
    char buf[200], *p = buf;
    p = fmt_str(p, "evex-emu: zmm");
    *p++ = '0' + n / 10; *p++ = '0' + n % 10;
    p = fmt_str(p, " upper half dropped (low half all zero): written at ");
    p = fmt_hex(p, wrip);
    p = fmt_str(p, ", read at ");
    p = fmt_hex(p, rrip);
    p = fmt_str(p, "\n"); *p = 0;
    logmsg(buf);
}

static void after_fork_child(void)
{
    if (g_st) g_st->pid = getpid();
    /* Stub regions are MAP_SHARED with the parent: existing stubs stay valid,
     * but new stubs of the child go to regions of its own. */
    g_nregions = 0;
    g_patch_lock = 0;
}

static void open_stats(void)
{
    const char *path = getenv("EVEX_EMU_STATS");
    size_t sz = (sizeof(struct evex_stats) + 4095) & ~4095ul;
    void *m = MAP_FAILED;
    if (path && *path) {
        char fn[512];
        size_t j = 0;
        for (size_t i = 0; path[i] && j < sizeof fn - 24; i++) {
            if (path[i] == '%' && path[i + 1] == 'p') { j += snprintf(fn + j, sizeof fn - j, "%d", (int)getpid()); i++; }
            else fn[j++] = path[i];
        }
        fn[j] = 0;
        int fd = open(fn, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0 && ftruncate(fd, sz) == 0) m = mmap(0, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (fd >= 0) close(fd);
    }
    if (m == MAP_FAILED) m = mmap(0, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return;
    g_st = m;
    memcpy(g_st->magic, EVEX_STATS_MAGIC, 8);
    g_st->version = 2;
    g_st->max_sites = EVEX_MAX_SITES;
    g_st->pid = getpid();
    g_st->start_ns = now_ns();
}

__attribute__((constructor(101))) static void evex_init(void)
{
    real_sigaction = dlsym(RTLD_NEXT, "sigaction");
    real_sigprocmask = dlsym(RTLD_NEXT, "sigprocmask");
    real_pthread_sigmask = dlsym(RTLD_NEXT, "pthread_sigmask");
    if (evex_emu_native_avx512()) return;   /* nothing to do on AVX-512 hardware */

    unsigned a, b, c, d;
    if (__get_cpuid_count(0xD, 2, &a, &b, &c, &d) && b) evex_avx_off = b;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    evex_xsave_mask = lo & 7;

    const char *e;
    if ((e = getenv("EVEX_EMU_LOG")) && *e) g_logfd = open(e, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if ((e = getenv("EVEX_EMU_PATCH"))) g_patch = atoi(e) != 0;
    if ((e = getenv("EVEX_EMU_PATCH_AFTER"))) { long v = atol(e); g_patch_after = v < 1 ? 1 : (unsigned)v; }
    if ((e = getenv("EVEX_EMU_VERBOSE"))) { g_verbose = atoi(e) != 0; if (atoi(e) >= 2) evex_shadow_hook = shadow_diag; }
    open_stats();
    if (!g_st) g_patch = 0;
    if (g_patch && syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) == 0) g_membarrier = 1;

    real_sigaction(SIGILL, 0, &g_app_ill);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigill;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    real_sigaction(SIGILL, &sa, 0);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGILL);
    real_sigprocmask(SIG_UNBLOCK, &s, 0);
    pthread_atfork(0, 0, after_fork_child);
    g_active = 1;
}

/* Test/diagnostic API */
struct evex_tls *evex_emu_state(void) { return &evex_T; }
int evex_emu_active(void) { return g_active; }
