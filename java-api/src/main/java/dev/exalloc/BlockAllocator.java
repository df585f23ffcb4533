package dev.exalloc;

import java.lang.foreign.MemorySegment;

/**
 * What the fixed-size block allocators have in common ({@link Lookaside}, {@link LookasideLocal}, {@link Zone}):
 * blocks of one size, taken with {@link #allocate()} and given back with {@link #free(MemorySegment)}, on any
 * thread the allocator allows, until {@link #close()}. Code written once over this type works with each of them.
 *
 * <pre>{@code
 * static void fill(BlockAllocator blocks, List<MemorySegment> out, int n) {
 *     for (int i = 0; i < n; i++) {
 *         MemorySegment b = blocks.tryAllocate();     // null when the allocator has no block
 *         if (b == null) break;
 *         out.add(b.fill((byte) 0));                   // exactly blocks.blockSize() bytes
 *     }
 * }
 * try (BlockAllocator list = Lookaside.builder(128).tag(Tag.of("Msgs")).build()) { ... }
 * try (BlockAllocator zone = Zone.builder(64).build()) { ... }
 * }</pre>
 *
 * <p>In checked mode (each allocator's default) every misuse of {@link #free} raises {@link InvalidBlockException}
 * and leaves the allocator as it was: a segment that is not one of its outstanding blocks (never handed out, or
 * freed already), or a segment of the wrong size.
 */
public sealed interface BlockAllocator extends AutoCloseable permits Lookaside, LookasideLocal, Zone {

    /**
     * The size of every block, in bytes.
     *
     * @return the block size in bytes
     */
    long blockSize();

    /**
     * A block of exactly {@link #blockSize()} bytes.
     *
     * @return a segment of exactly {@link #blockSize()} bytes
     * @throws ExallocOutOfMemoryError when the allocator has no block to give (an {@link OutOfMemoryError})
     */
    MemorySegment allocate();

    /**
     * As {@link #allocate()}, but null where it would throw {@link ExallocOutOfMemoryError}.
     *
     * @return a segment of exactly {@link #blockSize()} bytes, or null when the allocator has no block
     */
    MemorySegment tryAllocate();

    /**
     * Gives a block back.
     *
     * @param block a block this allocator handed out and that has not been freed since
     * @throws InvalidBlockException in checked mode, for anything but an outstanding block of this allocator
     */
    void free(MemorySegment block);

    /** Ends the allocator; what happens to blocks still out is each allocator's own (see its close). */
    @Override
    void close();
}
