package dev.exalloc;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

/**
 * {@link Lookaside#asSegmentAllocator()}: a request of up to the list's block size, aligned to at most 16 bytes, is
 * one block, handed out as a segment of exactly the size asked for (the first {@code byteSize} bytes of the block).
 * The list's mode applies to it as to a whole block: in checked mode it is recorded, scoped in the default mode,
 * and {@link Lookaside#free} (or a {@link LookasideLocal}'s) takes it back through that segment or any slice of it
 * that starts at offset 0 (the block's address); the list knows the block was handed out short.
 */
final class LookasideSegmentAllocator implements SegmentAllocator {

    /** The alignment every list block has: the pool's small-block alignment. */
    static final long MAX_ALIGNMENT = 16;

    private final Lookaside list;

    LookasideSegmentAllocator(Lookaside list) {
        this.list = list;
    }

    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        if (byteSize < 0 || byteAlignment <= 0 || (byteAlignment & (byteAlignment - 1)) != 0) {
            throw new IllegalArgumentException("invalid request: " + byteSize + " bytes, alignment " + byteAlignment);
        }
        if (byteSize > list.size || byteAlignment > MAX_ALIGNMENT) {
            throw new IllegalArgumentException("a request of " + byteSize + " bytes aligned to " + byteAlignment
                    + " does not fit " + list + ": it hands out blocks of at most " + list.size
                    + " bytes aligned to at most " + MAX_ALIGNMENT + " (use a list of bigger blocks, or the pool)");
        }
        MemorySegment s = slice(byteSize, byteAlignment);
        if (s == null) {
            throw new ExallocOutOfMemoryError(NtStatus.INSUFFICIENT_RESOURCES,
                    "lookaside list " + list.tag + " could not get a " + list.size + "-byte block");
        }
        return s;
    }

    /* A block for the segment allocator: byteSize <= the block size; null when there is none. */
    @SuppressWarnings("restricted") // reinterpret: the first byteSize bytes of a block of this list
    private MemorySegment slice(long byteSize, long byteAlignment) {
        int c = list.enter();
        try {
            LookasideOwner owner = null;
            if (list.scoped) {
                owner = list.owner();
                owner.reclaim(list);
                if (list.epochs != null) { // a pool block: aligned to 16 at least
                    MemorySegment block = list.epochs.allocate(owner, true);
                    return block == null ? null : block.asSlice(0, byteSize);
                }
            }
            long address = list.nativeAllocate();
            if (address == 0) {
                return null;
            }
            if ((address & (byteAlignment - 1)) != 0) { // a caller's allocator with less alignment than the pool's
                list.nativeFree(address);
                throw new IllegalArgumentException(String.format("%s got block 0x%X from its allocator, not aligned "
                        + "to the %d bytes asked for", list, address, byteAlignment));
            }
            if (list.scoped) {
                return list.scopedBlocks.handOut(address, list.size, owner, true).asSlice(0, byteSize);
            }
            if (list.outstanding != null) {
                list.outstanding.recordSliced(address);
            }
            return MemorySegment.ofAddress(address).reinterpret(byteSize);
        } finally {
            list.inFlight.exit(c);
        }
    }

    @Override
    public String toString() {
        return "SegmentAllocator of " + list;
    }
}
