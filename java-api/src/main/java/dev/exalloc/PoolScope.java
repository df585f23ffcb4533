package dev.exalloc;

/**
 * What the {@link java.lang.foreign.MemorySegment}s of {@link Pool}'s segment routines are tied to
 * ({@link Pool#setScope}, or the system property {@code exalloc.pool.scope} = global | shared | confined at startup).
 */
public enum PoolScope {
    /**
     * Unchecked: the global scope, as C's pointers; touching a block after its free is the caller's bug (it may read
     * another owner's data or, for a big allocation whose pages went back to the host, crash the JVM). The cheapest.
     */
    GLOBAL,
    /**
     * Checked, for blocks that travel between threads: each block gets its own shared arena, closed by the free, so a
     * later access from any thread throws {@link IllegalStateException}. Any thread may use and free the block.
     * Closing a shared arena waits for a handshake with every thread: a free costs about 20 us, hundreds of times a
     * confined free (see bench/results/latest.md).
     */
    SHARED,
    /**
     * Checked (the default), and cheap to free: each block gets its own confined arena, closed by the free. Only the
     * allocating thread may touch the block ({@link WrongThreadException} elsewhere) and only it may free it through
     * the segment routines while it lives: a free from another thread throws {@link WrongThreadException} with nothing changed
     * (once the allocating thread has ended, nobody can reach the segment and any thread may free it). Blocks that
     * travel between threads: {@link #SHARED}, or the address routines ({@link Pool#allocateAddress}).
     */
    CONFINED
}
