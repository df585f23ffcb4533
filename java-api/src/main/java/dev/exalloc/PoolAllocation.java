package dev.exalloc;

/**
 * One live pool block, as {@link Diagnostics#allocations()} finds it: what the debugger's {@code !pool} shows.
 *
 * <pre>{@code
 * for (PoolAllocation a : Diagnostics.allocations()) {
 *     System.out.println(a);            // address, size, tag, pool type
 * }
 * }</pre>
 *
 * @param address  the pointer the caller holds
 * @param size     bytes usable from {@code address} (ExQueryPoolBlockSize)
 * @param tag      the tag it was allocated with (the protected bit cleared in {@link Tag})
 * @param poolType the pool type it was allocated as (null for a code PoolType has no constant for)
 * @param rawType  the POOL_TYPE code, modifier bits included
 */
public record PoolAllocation(long address, long size, Tag tag, PoolType poolType, int rawType) {

    @Override
    public String toString() {
        return String.format("0x%X %d bytes %s %s", address, size, tag, poolType != null ? poolType : rawType);
    }
}
