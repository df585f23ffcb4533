package dev.exalloc;

/**
 * What {@link Pool#query} reports about a live pool block (ExQueryPoolBlockSize and the block's header).
 *
 * <pre>{@code
 * BlockInfo info = Pool.query(block);
 * long usable = info.size();          // ExQueryPoolBlockSize
 * Tag tag = info.tag();
 * }</pre>
 *
 * @param tag          the tag as allocated (the PROTECTED_POOL bit included)
 * @param size         ExQueryPoolBlockSize: bytes usable from the block's address (at least the requested size: the
 *                     block minus its header, rounded to 16 bytes, or whole pages for a big allocation)
 * @param charged      bytes counted for the tag (and charged to quota when {@code quotaCharged}): the block with its
 *                     16-byte header, or the whole pages of a big allocation
 * @param poolType     the POOL_TYPE as allocated (NX and session types included)
 * @param pool         the pool holding it
 * @param quotaCharged ExQueryPoolBlockSize's QuotaCharged: a quota account carries this block's charge
 * @param big          a big allocation: page-aligned, whole pages, no header (requests of more than 4064 bytes)
 * @param account      the account charged, when it is the process or system account or one created in Java and not
 *                     yet closed; null when nothing was charged, or the account is closed or was created in C
 */
public record BlockInfo(Tag tag, long size, long charged, PoolType poolType, PoolKind pool, boolean quotaCharged,
        boolean big, QuotaAccount account) {
}
