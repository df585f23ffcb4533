package dev.exalloc;

/**
 * What the {@link java.lang.foreign.MemorySegment}s of a pool's segment routines are tied to: a
 * {@link PoolAllocator}'s segment policy ({@link Pool#builder()}{@code .scope(...)}); for {@link Pool#system()} and
 * the static routines, {@link Pool#setScope}, or the system property {@code exalloc.pool.scope} = global | shared |
 * confined at startup. Whatever the policy, a block may be freed on any thread; what that costs is below.
 *
 * <pre>{@code
 * PoolAllocator travelling = Pool.builder().scope(PoolScope.SHARED).tag(Tag.of("Msgs")).build();
 * }</pre>
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
     * allocating thread may touch the block ({@link WrongThreadException} elsewhere). Any thread may free it: on
     * another thread the free is deferred (a second free is refused at once) and the block goes back to the pool, its
     * scope ended, at the allocating thread's next call through the segment routines (or at once when that thread
     * has ended; {@link Pool#trim()} collects blocks left for ended threads). Blocks that travel between threads
     * as a rule: {@link #SHARED}, or the address routines ({@link Pool#allocateAddress}).
     */
    CONFINED
}
