/*
 * fixed_getrandom.c: a getrandom(2) that always returns the same bytes, for
 * deterministic fuzz runs only (scripts/fuzz-smoke.sh loads it with
 * LD_PRELOAD into the fuzz target binaries; never into anything shipped).
 *
 * Rust's standard library draws the keys of every HashMap/HashSet from
 * getrandom, through a weak libc symbol so that LD_PRELOAD can interpose it.
 * Random keys change iteration orders and probe sequences, so coverage
 * feedback, so the inputs a libFuzzer run keeps, even with a fixed -seed.
 * With this shim (and address-space randomisation off) a run with a fixed
 * -seed and -runs builds the same corpus every time.
 */
#include <stddef.h>
#include <sys/types.h>

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
    unsigned char *out = buf;
    unsigned int state = 0x9e3779b9u;
    (void)flags;
    for (size_t i = 0; i < len; i++) {
        state = state * 1103515245u + 12345u;
        out[i] = (unsigned char)(state >> 16);
    }
    return (ssize_t)len;
}
