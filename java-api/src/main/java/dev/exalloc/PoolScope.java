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
     * Checked, for blocks that travel between threads: any thread may use and free the block. Segments live in
     * epochs: up to 1024 consecutive shared blocks share one shared arena. A free is checked at once (the very
     * segment handed out, not freed before, what the native free would refuse: a second free is an
     * {@link InvalidBlockException}) and the block is quarantined: it stays allocated in the pool, so its address is
     * not handed out again while a segment over it is open. When every block of a full epoch has been freed, one
     * handshake with every thread closes the epoch's arena (a later access through any of its segments throws
     * {@link IllegalStateException}) and its blocks go back to the pool. Until then a use after free reaches only the
     * quarantined block itself, and PoolMon counts it as allocated. A free costs tens of nanoseconds (a shared arena
     * per block would cost a handshake, tens of microseconds, per free); the price is memory: one block kept out pins
     * its epoch's freed blocks (at most 1023). {@link Pool#trim()} ends the current epoch early.
     */
    SHARED,
    /**
     * Checked (the default), and cheaper than the JDK's own confined arena: a small block (up to 1 KiB) is handed out
     * in its thread's quarantine epoch, a run of up to 32 blocks whose segments share one confined arena. A free is
     * checked at once (the very segment handed out, not freed before, what the native free would refuse: IRQL,
     * protected tag) and quarantines the block: it stays allocated in the pool, so its address is not handed out
     * again while its segment is open. When every block of the run has been freed, the arena closes (a later access
     * through any of its segments throws {@link IllegalStateException}) and the blocks go back to the pool; until
     * then a use after free reaches only the quarantined block. {@link Pool#endQuarantine()} ends the calling
     * thread's run early, and the pool's queries do it first. Bigger blocks, quota-charged blocks and every block at
     * the verifier check level get a confined arena each, closed by the free. Only the allocating thread may touch
     * the block ({@link WrongThreadException} elsewhere). Any thread may free it: on another thread the free is
     * checked and deferred (a second free is refused at once), and the allocating thread takes it at its next call
     * through the segment routines (or at once when that thread has ended; {@link Pool#trim()} collects blocks left
     * for ended threads). Blocks that travel between threads as a rule: {@link #SHARED}, or the address routines
     * ({@link Pool#allocateAddress}).
     */
    CONFINED
}
