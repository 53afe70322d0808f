/* native_scan: which vector registers may native code have written between
 * two emulated runs?
 *
 * When a run of emulated instructions ends at address E and the next one
 * starts at S, the thread executed native code from E to S. We explore the
 * possible paths E -> S: x86-64 instructions are length-decoded, direct
 * branches followed (both ways for conditional ones), and each VEX
 * instruction's destination register recorded (a VEX write zeroes bits
 * 511:128 of that zmm). Paths that would have trapped into the emulator
 * (EVEX, VEX opmask, a jump into a patched-site stub) cannot be the one taken
 * and are pruned. A call, return, indirect branch or anything not decodable
 * ends a path as "escaped" (the psABI makes every vector register dead
 * across such boundaries).
 *
 * Result: SCAN_UNKNOWN if no explored path reaches S; otherwise the union of
 * the registers written on the paths that reach S, plus SCAN_ZEROUPPER if
 * every such path executes vzeroupper/vzeroall.
 */
#include "evex_emu.h"
#include <string.h>

#define BUDGET 512          /* instructions decoded per query */
#define MAXPATHS 16

struct nins {
    int len;
    int kind;               /* 0 plain, 1 jmp, 2 jcc, 3 escape (call/ret/indirect/unknown), 4 traps (EVEX, VEX-k) */
    uint64_t target;
    uint32_t wmask;         /* xmm0-15 possibly written */
    int zeroupper;
};

static int modrm_len(const uint8_t *p, int *mod_out, int *reg_out, int *rm_out)
{
    uint8_t m = p[0];
    int mod = m >> 6, rm = m & 7, n = 1;
    *mod_out = mod; *reg_out = (m >> 3) & 7; *rm_out = rm;
    if (mod == 3) return 1;
    if (rm == 4) {
        uint8_t sib = p[1];
        n++;
        if (mod == 0 && (sib & 7) == 5) n += 4;
    } else if (mod == 0 && rm == 5) n += 4;
    if (mod == 1) n += 1; else if (mod == 2) n += 4;
    return n;
}

/* VEX: which xmm register does this instruction write (bitmask), given map/opcode/pp/L/modrm fields */
static uint32_t vex_writes(int map, int opc, int pp, int L, int mod, int reg, int rm, int vvvv, int *zu)
{
    uint32_t R = 1u << reg, RM = 1u << rm;
    if (map == 1) {
        switch (opc) {
        case 0x77: *zu = 1; return L ? 0xffff : 0;                          /* vzeroupper / vzeroall */
        case 0x11: case 0x29: case 0x7F: case 0xD6: return mod == 3 ? RM : 0;  /* stores (reg form: rm is dest) */
        case 0x13: case 0x17: case 0x2B: case 0xE7: case 0xF7: return 0;      /* stores to memory */
        case 0x7E: return pp == 1 ? 0 : R;                                    /* vmovd/q to r/m */
        case 0xC5: case 0x50: case 0xD7: case 0x2E: case 0x2F: case 0x2C: case 0x2D: case 0xAE: return 0;
        }
        return R;
    }
    if (map == 2) {
        switch (opc) {
        case 0x17: case 0x0E: case 0x0F: case 0x2E: case 0x2F: case 0x8E: return 0;  /* vptest/vtestp (flags), maskmov stores */
        case 0x90: case 0x91: case 0x92: case 0x93: return R | (1u << vvvv);          /* gathers also clear the mask */
        }
        return R;
    }
    if (map == 3) {
        switch (opc) {
        case 0x14: case 0x15: case 0x16: case 0x17: return 0;                 /* vpextr*, vextractps to r/m */
        case 0x19: case 0x39: case 0x1D: return mod == 3 ? RM : 0;            /* vextract[fi]128, vcvtps2ph */
        }
        return R;
    }
    return 0xffff;
}

static void decode_native(const uint8_t *p0, uint64_t addr, struct nins *o)
{
    const uint8_t *p = p0;
    int opsz = 0, rexw = 0, mod, reg, rm;
    memset(o, 0, sizeof *o);
    for (int i = 0; i < 14; i++) {
        uint8_t b = *p;
        if (b == 0x66) opsz = 1;
        else if (b == 0x67 || b == 0xF0 || b == 0xF2 || b == 0xF3 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x26 || b == 0x64 || b == 0x65) ;
        else break;
        p++;
    }
    if ((*p & 0xF0) == 0x40) { rexw = (*p >> 3) & 1; p++; }
    uint8_t op = *p++;
    if (op == 0x62) { o->kind = 4; o->len = 1; return; }
    if (op == 0xC4 || op == 0xC5) {
        int map, pp, L, vvvv, Rb, Bb;
        if (op == 0xC5) { Rb = !(p[0] & 0x80); vvvv = (~p[0] >> 3) & 15; L = (p[0] >> 2) & 1; pp = p[0] & 3; map = 1; Bb = 0; p += 1; }
        else { Rb = !(p[0] & 0x80); Bb = !(p[0] & 0x20); map = p[0] & 0x1f; vvvv = (~p[1] >> 3) & 15; L = (p[1] >> 2) & 1; pp = p[1] & 3; p += 2; }
        int vop = *p++;
        if (map < 1 || map > 3) { o->kind = 3; o->len = 1; return; }
        /* opmask instructions trap into the emulator */
        if ((map == 1 && ((vop >= 0x41 && vop <= 0x4B) || (vop >= 0x90 && vop <= 0x93) || vop == 0x98 || vop == 0x99)) || (map == 3 && vop >= 0x30 && vop <= 0x33)) {
            o->kind = 4; o->len = 1; return;
        }
        int zu = 0;
        if (map == 1 && vop == 0x77) { o->len = (int)(p - p0); o->wmask = vex_writes(1, 0x77, pp, L, 3, 0, 0, 0, &zu); o->zeroupper = zu; return; }
        p += modrm_len(p, &mod, &reg, &rm);
        if (map == 3 || (map == 1 && ((vop >= 0x70 && vop <= 0x73) || vop == 0xC2 || vop == 0xC4 || vop == 0xC5 || vop == 0xC6))) p++;
        o->len = (int)(p - p0);
        o->wmask = vex_writes(map, vop, pp, L, mod, reg | (Rb << 3), rm | (Bb << 3), vvvv, &zu);
        o->zeroupper = zu;
        return;
    }
    int has_modrm = 0, imm = 0;
    if (op == 0x0F) {
        uint8_t b = *p++;
        if (b == 0x38) { p++; has_modrm = 1; }
        else if (b == 0x3A) { p++; has_modrm = 1; imm = 1; }
        else if (b >= 0x80 && b <= 0x8F) { int32_t d; memcpy(&d, p, 4); p += 4; o->kind = 2; o->len = (int)(p - p0); o->target = addr + o->len + d; return; }
        else if (b == 0x05 || b == 0x07 || b == 0x0B || b == 0x34 || b == 0x35) { o->kind = 3; o->len = (int)(p - p0); return; }
        else if (b == 0x06 || b == 0x08 || b == 0x09 || b == 0x30 || b == 0x31 || b == 0x32 || b == 0x33 || b == 0x37 || b == 0x77 ||
                 b == 0xA0 || b == 0xA1 || b == 0xA2 || b == 0xA8 || b == 0xA9 || b == 0xAA || (b >= 0xC8 && b <= 0xCF)) has_modrm = 0;
        else {
            has_modrm = 1;
            if ((b >= 0x70 && b <= 0x73) || b == 0xA4 || b == 0xAC || b == 0xBA || b == 0xC2 || b == 0xC4 || b == 0xC5 || b == 0xC6) imm = 1;
        }
        if (has_modrm) p += modrm_len(p, &mod, &reg, &rm);
        p += imm;
        o->len = (int)(p - p0);
        return;   /* legacy SSE writes preserve bits 511:128: not a zeroing write */
    }
    int z = opsz ? 2 : 4;   /* imm16/32 */
    if (op < 0x40) {
        if ((op & 7) < 4) has_modrm = 1;
        else if ((op & 7) == 4) imm = 1;
        else if ((op & 7) == 5) imm = z;
        else { o->kind = 3; o->len = 1; return; }
    } else if (op >= 0x50 && op <= 0x5F) ;
    else if (op == 0x63) has_modrm = 1;
    else if (op == 0x68) imm = z;
    else if (op == 0x69) { has_modrm = 1; imm = z; }
    else if (op == 0x6A) imm = 1;
    else if (op == 0x6B) { has_modrm = 1; imm = 1; }
    else if (op >= 0x6C && op <= 0x6F) ;
    else if (op >= 0x70 && op <= 0x7F) { int8_t d = (int8_t)*p++; o->kind = 2; o->len = (int)(p - p0); o->target = addr + o->len + d; return; }
    else if (op == 0x80 || op == 0x82 || op == 0x83) { has_modrm = 1; imm = 1; }
    else if (op == 0x81) { has_modrm = 1; imm = z; }
    else if (op >= 0x84 && op <= 0x8F) has_modrm = 1;
    else if (op >= 0x90 && op <= 0x99) ;
    else if (op == 0x9B || (op >= 0x9C && op <= 0x9F)) ;
    else if (op >= 0xA0 && op <= 0xA3) imm = 8;
    else if (op >= 0xA4 && op <= 0xA7) ;
    else if (op == 0xA8) imm = 1;
    else if (op == 0xA9) imm = z;
    else if (op >= 0xAA && op <= 0xAF) ;
    else if (op >= 0xB0 && op <= 0xB7) imm = 1;
    else if (op >= 0xB8 && op <= 0xBF) imm = rexw ? 8 : z;
    else if (op == 0xC0 || op == 0xC1) { has_modrm = 1; imm = 1; }
    else if (op == 0xC6) { has_modrm = 1; imm = 1; }
    else if (op == 0xC7) { has_modrm = 1; imm = z; }
    else if (op == 0xC8) imm = 3;
    else if (op == 0xC9) ;
    else if (op >= 0xD0 && op <= 0xD3) has_modrm = 1;
    else if (op >= 0xD8 && op <= 0xDF) has_modrm = 1;
    else if (op >= 0xE0 && op <= 0xE3) { int8_t d = (int8_t)*p++; o->kind = 2; o->len = (int)(p - p0); o->target = addr + o->len + d; return; }
    else if (op >= 0xE4 && op <= 0xE7) imm = 1;
    else if (op == 0xE9) { int32_t d; memcpy(&d, p, 4); p += 4; o->kind = 1; o->len = (int)(p - p0); o->target = addr + o->len + d; return; }
    else if (op == 0xEB) { int8_t d = (int8_t)*p++; o->kind = 1; o->len = (int)(p - p0); o->target = addr + o->len + d; return; }
    else if (op >= 0xEC && op <= 0xEF) ;
    else if (op == 0xF5 || (op >= 0xF8 && op <= 0xFD)) ;
    else if (op == 0xF6 || op == 0xF7) {
        has_modrm = 1;
        p += modrm_len(p, &mod, &reg, &rm);
        if (reg < 2) p += op == 0xF6 ? 1 : z;
        o->len = (int)(p - p0);
        return;
    } else if (op == 0xFE) has_modrm = 1;
    else if (op == 0xFF) {
        p += modrm_len(p, &mod, &reg, &rm);
        o->len = (int)(p - p0);
        if (reg >= 2 && reg <= 5) o->kind = 3;   /* indirect call/jmp */
        return;
    } else { o->kind = 3; o->len = 1; return; }   /* call, ret, int, hlt, ... */
    if (has_modrm) p += modrm_len(p, &mod, &reg, &rm);
    p += imm;
    o->len = (int)(p - p0);
}

/* in_stub(addr): nonzero if addr is inside a trampoline region */
uint32_t evex_native_scan(uint64_t E, uint64_t S, int (*in_stub)(uint64_t))
{
    struct { uint64_t pc; uint32_t mask; int zu; int depth; uint64_t seen[8]; int nseen; } st[MAXPATHS];
    int sp = 0, budget = BUDGET, reached = 0, all_zu = 1;
    uint32_t result = 0;
    st[sp].pc = E; st[sp].mask = 0; st[sp].zu = 0; st[sp].nseen = 0; sp++;
    while (sp > 0) {
        sp--;
        uint64_t pc = st[sp].pc;
        uint32_t mask = st[sp].mask;
        int zu = st[sp].zu;
        uint64_t seen[8]; int nseen = st[sp].nseen;
        memcpy(seen, st[sp].seen, sizeof seen);
        for (;;) {
            if (pc == S) { reached = 1; result |= mask; if (!zu) all_zu = 0; break; }
            if (--budget <= 0) return SCAN_UNKNOWN;
            if (in_stub && in_stub(pc)) break;            /* would have entered the emulator */
            struct nins n;
            decode_native((const uint8_t *)pc, pc, &n);
            if (n.kind == 4) break;                        /* would have trapped: not this path */
            if (n.kind == 3) break;                        /* escaped (ABI boundary / unknown) */
            mask |= n.wmask;
            zu |= n.zeroupper;
            if (n.kind == 0) { pc += n.len; continue; }
            uint64_t tgt = n.target, fall = pc + n.len;
            if (n.kind == 1) { pc = tgt; }
            else {
                /* conditional: continue with the fall-through, queue the target */
                if (sp < MAXPATHS) {
                    st[sp].pc = tgt; st[sp].mask = mask; st[sp].zu = zu;
                    memcpy(st[sp].seen, seen, sizeof seen); st[sp].nseen = nseen;
                    sp++;
                }
                else return SCAN_UNKNOWN;
                pc = fall;
            }
            /* stop cycles that do not pass through S */
            int cyc = 0;
            for (int i = 0; i < nseen; i++) if (seen[i] == pc) cyc = 1;
            if (cyc) break;
            if (nseen < 8) seen[nseen++] = pc; else return SCAN_UNKNOWN;
        }
    }
    if (!reached) return SCAN_UNKNOWN;
    return result | (all_zu ? SCAN_ZEROUPPER : 0);
}
