/* evex-stats FILE [TOP]: print the counters and hottest sites of a process
 * running with EVEX_EMU_STATS=FILE. Sites are resolved to module+offset
 * through /proc/PID/maps while the process runs. */
#include "evex_stats.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct map { unsigned long lo, hi, off; char name[256]; };
static struct map maps[4096];
static int nmaps;

static void load_maps(int pid)
{
    char fn[64], line[512];
    snprintf(fn, sizeof fn, "/proc/%d/maps", pid);
    FILE *f = fopen(fn, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f) && nmaps < 4096) {
        struct map *m = &maps[nmaps];
        char perms[8];
        m->name[0] = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %255s", &m->lo, &m->hi, perms, &m->off, m->name) >= 4) nmaps++;
    }
    fclose(f);
}

static void where(unsigned long a, char *out, size_t n)
{
    for (int i = 0; i < nmaps; i++)
        if (a >= maps[i].lo && a < maps[i].hi && maps[i].name[0]) {
            const char *b = strrchr(maps[i].name, '/');
            snprintf(out, n, "%s+0x%lx", b ? b + 1 : maps[i].name, a - maps[i].lo + maps[i].off);
            return;
        }
    snprintf(out, n, "?");
}

static int cmp(const void *x, const void *y)
{
    const struct evex_site *a = x, *b = y;
    uint64_t ta = a->nsig + a->ntramp, tb = b->nsig + b->ntramp;
    return ta < tb ? 1 : ta > tb ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: evex-stats FILE [TOP]\n"); return 2; }
    int top = argc > 2 ? atoi(argv[2]) : 25;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || (size_t)st.st_size < sizeof(struct evex_stats)) { perror(argv[1]); return 1; }
    struct evex_stats *s = mmap(0, sizeof *s, PROT_READ, MAP_SHARED, fd, 0);
    if (s == MAP_FAILED || memcmp(s->magic, EVEX_STATS_MAGIC, 8)) { fprintf(stderr, "%s: not an evex-emu stats file\n", argv[1]); return 1; }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double up = ((uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec - s->start_ns) / 1e9;
    load_maps(s->pid);
    /* TSC frequency, measured here (same machine) */
    uint32_t lo, hi;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    uint64_t c0 = ((uint64_t)hi << 32) | lo;
    struct timespec d = {0, 50000000};
    nanosleep(&d, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    double hz = ((((uint64_t)hi << 32) | lo) - c0) / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    printf("pid %d, up %.1f s: %llu signal emulations (%.1f/s avg), %llu trampoline emulations (%.1f/s avg), %llu sites, %llu patched, %llu unrecorded, %llu+%llu run instructions (signal+trampoline)\n",
           s->pid, up, (unsigned long long)s->nsig, s->nsig / up, (unsigned long long)s->ntramp, s->ntramp / up,
           (unsigned long long)s->nsites, (unsigned long long)s->npatched, (unsigned long long)s->nlost,
           (unsigned long long)s->nrunsig, (unsigned long long)s->nruntramp);
    printf("time in emulator: stubs %.3f s, SIGILL handler %.3f s (+ kernel signal delivery); tsc %.0f MHz; %llu native-code analyses\n",
           s->tramp_cycles / hz, s->sig_cycles / hz, hz / 1e6, (unsigned long long)s->nscan);
    static struct evex_site v[EVEX_MAX_SITES];
    int n = 0;
    for (int i = 0; i < EVEX_MAX_SITES; i++) if (s->sites[i].rip && s->sites[i].rip != ~0ull) v[n++] = s->sites[i];
    qsort(v, n, sizeof v[0], cmp);
    /* per mnemonic */
    printf("%-22s %12s %12s %6s\n", "instruction", "signals", "trampoline", "sites");
    static char seen[EVEX_MAX_SITES];
    for (int i = 0; i < n; i++) {
        if (seen[i]) continue;
        uint64_t a = 0, b = 0; int k = 0;
        for (int j = i; j < n; j++) if (!seen[j] && !strncmp(v[j].name, v[i].name, sizeof v[i].name)) { a += v[j].nsig; b += v[j].ntramp; k++; seen[j] = 1; }
        printf("%-22.20s %12llu %12llu %6d\n", v[i].name, (unsigned long long)a, (unsigned long long)b, k);
    }
    printf("\ntop sites:\n%-18s %-44s %-20s %10s %10s %s\n", "address", "where", "instruction", "signals", "trampoline", "state (run)");
    for (int i = 0; i < n && i < top; i++) {
        char w[320];
        where(v[i].rip, w, sizeof w);
        static const char *stn[] = {"", "patching", "patched", "no-patch"};
        printf("0x%-16llx %-44.44s %-20.20s %10llu %10llu %s", (unsigned long long)v[i].rip, w, v[i].name,
               (unsigned long long)v[i].nsig, (unsigned long long)v[i].ntramp, v[i].state < 4 ? stn[v[i].state] : "?");
        if (v[i].state == SITE_PATCHED) printf(" (%d insns)", v[i].nrun);
        printf("\n");
    }
    return 0;
}
