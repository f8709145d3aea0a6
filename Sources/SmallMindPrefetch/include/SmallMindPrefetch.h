// Software prefetch for the quantized kernels and paged attention, and the spin-wait hint for the
// thread pool. Swift cannot name these instructions (clang's `_mm_prefetch` is a macro,
// `__builtin_prefetch` is not imported), so static inline functions carry them; the Swift compiler
// inlines them like its own code. Both compile on every target (a no-op where there is no
// instruction).
#ifndef SMALLMIND_PREFETCH_H
#define SMALLMIND_PREFETCH_H

/// Asks for the cache line holding `address` to be brought into all cache levels (a read, high
/// temporal locality). A hint: it never faults, whatever the address.
static inline __attribute__((always_inline)) void smallmind_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Tells the CPU the thread is spinning on a flag (x86 `pause`, arm64 `yield`): the loop backs off
/// the memory system and leaves a hyperthread sibling the core's resources, without a system call.
static inline __attribute__((always_inline)) void smallmind_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
