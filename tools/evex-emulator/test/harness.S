/* void run_case(struct regs *r, void (*fn)(void))
 * struct regs { uint8_t ymm[16][32]; uint64_t gpr[16]; uint64_t rflags; uint32_t mxcsr; }
 * Loads ymm0-15, all GPRs except rsp (encoding order rax rcx rdx rbx rsp rbp
 * rsi rdi r8..r15), rflags and MXCSR from r, calls fn, stores them back. */
    .text
    .globl run_case
    .type run_case, @function
run_case:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    push %rdi               /* 16(%rsp) = r   */
    push %rsi               /*  8(%rsp) = fn  */
    sub  $8, %rsp           /*  0(%rsp) = pad, rsp 16-aligned */
    vmovdqu 0(%rdi), %ymm0
    vmovdqu 32(%rdi), %ymm1
    vmovdqu 64(%rdi), %ymm2
    vmovdqu 96(%rdi), %ymm3
    vmovdqu 128(%rdi), %ymm4
    vmovdqu 160(%rdi), %ymm5
    vmovdqu 192(%rdi), %ymm6
    vmovdqu 224(%rdi), %ymm7
    vmovdqu 256(%rdi), %ymm8
    vmovdqu 288(%rdi), %ymm9
    vmovdqu 320(%rdi), %ymm10
    vmovdqu 352(%rdi), %ymm11
    vmovdqu 384(%rdi), %ymm12
    vmovdqu 416(%rdi), %ymm13
    vmovdqu 448(%rdi), %ymm14
    vmovdqu 480(%rdi), %ymm15
    ldmxcsr 648(%rdi)
    pushq 640(%rdi)
    popfq
    mov 512(%rdi), %rax
    mov 520(%rdi), %rcx
    mov 528(%rdi), %rdx
    mov 536(%rdi), %rbx
    mov 552(%rdi), %rbp
    mov 560(%rdi), %rsi
    mov 576(%rdi), %r8
    mov 584(%rdi), %r9
    mov 592(%rdi), %r10
    mov 600(%rdi), %r11
    mov 608(%rdi), %r12
    mov 616(%rdi), %r13
    mov 624(%rdi), %r14
    mov 632(%rdi), %r15
    mov 568(%rdi), %rdi
    call *8(%rsp)
    pushfq
    push %rdi
    mov 32(%rsp), %rdi      /* r */
    pop 568(%rdi)
    pop 640(%rdi)
    mov %rax, 512(%rdi)
    mov %rcx, 520(%rdi)
    mov %rdx, 528(%rdi)
    mov %rbx, 536(%rdi)
    mov %rbp, 552(%rdi)
    mov %rsi, 560(%rdi)
    mov %r8, 576(%rdi)
    mov %r9, 584(%rdi)
    mov %r10, 592(%rdi)
    mov %r11, 600(%rdi)
    mov %r12, 608(%rdi)
    mov %r13, 616(%rdi)
    mov %r14, 624(%rdi)
    mov %r15, 632(%rdi)
    stmxcsr 648(%rdi)
    vmovdqu %ymm0, 0(%rdi)
    vmovdqu %ymm1, 32(%rdi)
    vmovdqu %ymm2, 64(%rdi)
    vmovdqu %ymm3, 96(%rdi)
    vmovdqu %ymm4, 128(%rdi)
    vmovdqu %ymm5, 160(%rdi)
    vmovdqu %ymm6, 192(%rdi)
    vmovdqu %ymm7, 224(%rdi)
    vmovdqu %ymm8, 256(%rdi)
    vmovdqu %ymm9, 288(%rdi)
    vmovdqu %ymm10, 320(%rdi)
    vmovdqu %ymm11, 352(%rdi)
    vmovdqu %ymm12, 384(%rdi)
    vmovdqu %ymm13, 416(%rdi)
    vmovdqu %ymm14, 448(%rdi)
    vmovdqu %ymm15, 480(%rdi)
    vzeroupper
    add  $24, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret
    .size run_case, .-run_case
    .section .note.GNU-stack,"",@progbits
