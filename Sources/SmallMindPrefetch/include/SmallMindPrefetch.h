// Software prefetch for the quantized kernels and paged attention. Swift cannot name the prefetch
// instruction (clang's `_mm_prefetch` is a macro, and `__builtin_prefetch` is not imported), so this
// one static inline function carries it; the Swift compiler inlines it into the kernels like its
// own code. `__builtin_prefetch` compiles on every target (a no-op where there is no instruction).
#ifndef SMALLMIND_PREFETCH_H
#define SMALLMIND_PREFETCH_H

/// Asks for the cache line holding `address` to be brought into all cache levels (a read, high
/// temporal locality). A hint: it never faults, whatever the address.
static inline __attribute__((always_inline)) void smallmind_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
