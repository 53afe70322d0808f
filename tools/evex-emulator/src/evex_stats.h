/* Layout of the statistics / site table (shared with the evex-stats reader). */
#ifndef EVEX_STATS_H
#define EVEX_STATS_H
#include <stdint.h>

#define EVEX_STATS_MAGIC "EVEXEMU3"
#define EVEX_RUN_MAX 16      /* instructions emulated per trap/stub */
#define EVEX_RUN_BYTES 96
#define EVEX_MAX_SITES 8192

enum { SITE_NEW = 0, SITE_PATCHING = 1, SITE_PATCHED = 2, SITE_NOPATCH = 3 };

struct evex_site {
    uint64_t rip;          /* 0 = free slot */
    uint64_t nsig;         /* times emulated through SIGILL */
    uint64_t ntramp;       /* times emulated through a trampoline */
    uint32_t len;          /* length of the instruction at rip */
    uint32_t state;        /* SITE_* */
    uint32_t prel;         /* rel32 of the jmp written over the site */
    uint32_t pad0;
    uint64_t dec;          /* (process-local pointer) decoded run, set when patched */
    uint16_t runlen;       /* bytes emulated by the stub (a run of instructions) */
    uint8_t nrun;          /* instructions in that run */
    uint8_t pad;
    uint8_t orig[EVEX_RUN_BYTES]; /* original bytes of the run */
    char name[24];         /* mnemonic of the first instruction */
};

struct evex_stats {
    char magic[8];
    uint32_t version, max_sites;
    int32_t pid;
    uint32_t flags;
    uint64_t start_ns;     /* CLOCK_MONOTONIC at init */
    uint64_t nsig;         /* total SIGILL emulations */
    uint64_t ntramp;       /* total trampoline emulations */
    uint64_t npatched;     /* sites patched */
    uint64_t nsites;       /* sites seen */
    uint64_t nlost;        /* emulations not recorded (table full) */
    uint64_t nrunsig;      /* extra instructions emulated in the same SIGILL */
    uint64_t nruntramp;    /* extra instructions emulated in the same stub call */
    uint64_t tramp_cycles; /* TSC cycles spent in the emulator from stubs (C part) */
    uint64_t sig_cycles;   /* TSC cycles spent in the SIGILL handler (kernel delivery excluded) */
    uint64_t nscan;        /* analyses of native code between runs */
    uint64_t reserved[3];
    struct evex_site sites[EVEX_MAX_SITES];
};

#endif
