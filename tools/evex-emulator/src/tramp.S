/* Common entry of patched EVEX sites.
 *
 * A patched site is "jmp stub"; the per-site stub (written by evex_rt.c) is
 *     lea  -128(%rsp),%rsp          # keep the interrupted code's red zone
 *     call *entry_slot(%rip)        # -> evex_tramp_entry
 *     lea  128(%rsp),%rsp
 *     jmp  site+len
 *     .quad site record, .quad &evex_tramp_entry
 * evex_tramp_entry saves flags, all GPRs and the x87/SSE/AVX state (XSAVE,
 * standard format, same layout as a signal frame), calls
 * evex_tramp_c(gprs, xsave_area) which emulates the instruction in place,
 * and restores everything.
 */
    .text
    .globl evex_tramp_entry
    .hidden evex_tramp_entry
    .type evex_tramp_entry, @function
evex_tramp_entry:
    pushfq
    cld
    push %rax
    push %rcx
    push %rdx
    push %rbx
    push %rbp
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov  %rsp, %rbx
    sub  $1152, %rsp
    and  $-64, %rsp
    xor  %eax, %eax
    mov  %rax, 512(%rsp)
    mov  %rax, 520(%rsp)
    mov  %rax, 528(%rsp)
    mov  %rax, 536(%rsp)
    mov  %rax, 544(%rsp)
    mov  %rax, 552(%rsp)
    mov  %rax, 560(%rsp)
    mov  %rax, 568(%rsp)
    mov  evex_xsave_mask(%rip), %eax
    xor  %edx, %edx
    xsave (%rsp)
    mov  %rbx, %rdi
    mov  %rsp, %rsi
    call evex_tramp_c
    mov  evex_xsave_mask(%rip), %eax
    xor  %edx, %edx
    xrstor (%rsp)
    mov  %rbx, %rsp
    pop  %r15
    pop  %r14
    pop  %r13
    pop  %r12
    pop  %r11
    pop  %r10
    pop  %r9
    pop  %r8
    pop  %rdi
    pop  %rsi
    pop  %rbp
    pop  %rbx
    pop  %rdx
    pop  %rcx
    pop  %rax
    popfq
    ret
    .size evex_tramp_entry, .-evex_tramp_entry
    .section .note.GNU-stack,"",@progbits
