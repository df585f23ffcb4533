package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.Native;
import dev.exalloc.internal.PoolFast;
import dev.exalloc.internal.PoolScopes;
import dev.exalloc.internal.StartupExtension;
import dev.exalloc.internal.bindings.exa_pool_block_info_s;
import dev.exalloc.internal.bindings.exa_pool_limits_s;
import dev.exalloc.internal.bindings.exa_pool_parameter_s;
import dev.exalloc.internal.bindings.exa_pool_stats_s;
import dev.exalloc.internal.bindings.exa_pool_tag_row_s;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The process-wide pools, as NT's executive pool (the static routines, NT's shapes; {@link #system()} is the same
 * pools as a {@link PoolAllocator} object, and {@link #builder()} makes instances with policies of their own): {@code ExAllocatePool*}, {@code ExFreePool*},
 * {@code ExQueryPoolBlockSize}, PoolMon's per-tag counters, the pools' limits and condition events, and the two Mm
 * queries. Two pools, non-paged and paged ({@link PoolKind}); every {@link PoolType} allocates from one of them.
 *
 * <pre>{@code
 * Tag tag = Tag.of("Msgs");
 * MemorySegment block = Pool.allocate(PoolType.NON_PAGED_NX, 200, tag);   // exactly 200 bytes, 16-byte aligned
 * BlockInfo info = Pool.query(block);                                     // tag, usable size 208, pool type
 * Pool.free(block, tag);                                                  // ExFreePoolWithTag
 * }</pre>
 *
 * <p>Blocks follow NT's x64 rules: a request of up to 4064 bytes is a small block, 16-byte aligned behind a 16-byte
 * header and never crossing a 4096-byte page; a larger one is a big allocation, page-aligned, in whole pages;
 * cache-aligned types align to the cache line. The segment returned is exactly the requested size. By default
 * ({@link PoolScope#CONFINED}, checked) its scope is confined to the allocating thread and ends after its free (at
 * once for a big block; for a small one when its quarantine epoch ends, see {@link PoolScope#CONFINED}), so touching
 * it after that throws {@link IllegalStateException}, and freeing it twice through it is an
 * {@link InvalidBlockException}; blocks that travel between threads use {@link PoolScope#SHARED} (also checked, in
 * epochs: a freed block is quarantined until its epoch ends); with
 * {@link #setScope}({@link PoolScope#GLOBAL}) it has the global scope and, as with C's pointers, touching it after
 * it is freed is the caller's bug. The address routines ({@link #allocateAddress}, {@link #freeAddress(long, Tag)})
 * are the unchecked fast path: no segment, no Java allocation per call.
 *
 * <p>Failure follows the routine: NT returns NULL where {@link #tryAllocate} returns null and {@link #allocate}
 * throws {@link ExallocOutOfMemoryError}; the quota routine raises ({@link QuotaExceededException} or
 * ExallocOutOfMemoryError, each carrying its NTSTATUS) unless the fail-instead-of-raise form
 * ({@link #tryAllocateWithQuota}) is used; ExAllocatePool2/3 return null unless {@link PoolFlags#raiseOnFailure()}.
 * A check that fails where NT would bug-check (strict mode, IRQL, must-succeed exhausted) is a {@link BugCheckError}.
 *
 * <p>Frees are checked before anything is changed, and a bad one never crashes the JVM: a heap segment or NULL is
 * refused in Java ({@link InvalidBlockException}); the native pool finds every other address in its segment map
 * before it reads anything, and an address in none of its segments (an arena's, malloc's, a stack's), a double free,
 * an interior or misaligned pointer, a page-aligned address that is not a big allocation, a wrong tag on a
 * PROTECTED_POOL tag, or a free at too high an IRQL is a {@link BugCheckError} with NT's code (0xC2 BAD_POOL_CALLER,
 * 0x19 BAD_POOL_HEADER) and parameters, the block left as it was. (What no allocator can see: a second free of a
 * block that has been handed out again frees the new owner's block, as in C.)
 *
 * <p>Thread-safe throughout. Each thread keeps a small cache of free blocks per size in front of the shared pool
 * (NT's per-processor lookasides): {@link #trim()} returns the calling thread's, thread exit all of them.
 */
public final class Pool {

    private Pool() {
    }

    /**
     * The process's pools as a {@link PoolAllocator}: the one every static routine here uses, with the process-wide
     * defaults as its policies (segments: {@link #setScope}; calls: the system property
     * {@code exalloc.pool.critical}); default tag "None", type NON_PAGED_NX.
     *
     * <pre>{@code
     * try (Arena arena = Pool.system().arena(Tag.of("Strs"), PoolType.PAGED)) { ... }
     * }</pre>
     *
     * @return the system pool instance (always the same object)
     */
    public static PoolAllocator system() {
        return PoolAllocator.SYSTEM;
    }

    /**
     * A builder for a {@link PoolAllocator} with policies of its own (default tag and type, segment policy, call
     * policy), which no process-wide setting changes.
     *
     * @return a new builder with the defaults: tag "None", NON_PAGED_NX, CONFINED segments, ordinary calls
     */
    public static PoolAllocator.Builder builder() {
        return new PoolAllocator.Builder();
    }

    static {
        Native.ensure();
        StartupExtension.runAll(); // e.g. the MXBeans under -Dexalloc.management=true
    }

    /** exa_pool_modifier_e bits. */
    private static final int QUOTA_FAIL_INSTEAD_OF_RAISE = EXA_POOL_QUOTA_FAIL_INSTEAD_OF_RAISE();

    /** Requests above this many bytes are big allocations (x64 POOL_MAX_ALLOC). */
    public static final int MAX_SMALL_BLOCK = 4064;
    /** NT's logical page, whatever the host's page size. */
    public static final int PAGE_SIZE = 4096;

    // ---------------------------------------------------------------------------------------------
    // Allocate: the POOL_TYPE routines
    // ---------------------------------------------------------------------------------------------

    /**
     * ExAllocatePoolWithTag: {@code size} bytes, uninitialised.
     *
     * @param type the pool type (paged or non-paged, with its modifiers)
     * @param size the block size in bytes
     * @param tag  the pool tag the block is counted under (PoolMon)
     * @return the block, exactly {@code size} bytes
     * @throws ExallocOutOfMemoryError when the pool has no room (NT returns NULL); the status is
     *                                        STATUS_INSUFFICIENT_RESOURCES, or STATUS_WORKING_SET_QUOTA when the
     *                                        host refused to lock non-paged memory under
     *                                        {@link PoolLimits.LockPolicy#REQUIRED}
     * @throws BugCheckError                  when a native check failed (strict-mode tag or size rules, IRQL, an
     *                                        exhausted must-succeed reserve)
     */
    public static MemorySegment allocate(PoolType type, long size, Tag tag) {
        return allocate(type, size, tag, PoolPriority.HIGH);
    }

    /**
     * ExAllocatePoolWithTag: as {@link #allocate(PoolType, long, Tag)}, but null where NT returns NULL.
     *
     * @param type the pool type (paged or non-paged, with its modifiers)
     * @param size the block size in bytes
     * @param tag  the pool tag the block is counted under (PoolMon)
     * @return the block, or null when the pool has no room
     */
    public static MemorySegment tryAllocate(PoolType type, long size, Tag tag) {
        return tryAllocate(type, size, tag, PoolPriority.HIGH);
    }

    /**
     * ExAllocatePoolWithTagPriority: as {@link #allocate(PoolType, long, Tag)}, failing earlier for lower priorities
     * (LOW below the low watermark, NORMAL below the critical watermark; see {@link PoolLimits}).
     *
     * @param type the pool type (paged or non-paged, with its modifiers)
     * @param size the block size in bytes
     * @param tag  the pool tag the block is counted under (PoolMon)
     * @param priority how early the request fails as the pool fills
     * @return the block, exactly {@code size} bytes
     */
    public static MemorySegment allocate(PoolType type, long size, Tag tag, PoolPriority priority) {
        return PoolAllocator.SYSTEM.allocate(type, size, tag, priority);
    }

    /**
     * ExAllocatePoolWithTagPriority, null where NT returns NULL.
     *
     * @param type the pool type (paged or non-paged, with its modifiers)
     * @param size the block size in bytes
     * @param tag  the pool tag the block is counted under (PoolMon)
     * @param priority how early the request fails as the pool fills
     * @return the block, or null when the request fails at this priority
     */
    public static MemorySegment tryAllocate(PoolType type, long size, Tag tag, PoolPriority priority) {
        return PoolAllocator.SYSTEM.tryAllocate(type, size, tag, priority);
    }

    /**
     * ExAllocatePoolWithQuotaTag: charges the current {@link QuotaAccount} (blocks of up to 4064 bytes: the whole
     * block, header included; nothing for bigger ones or the system account) and raises on failure.
     *
     * @param type the pool type (paged or non-paged, with its modifiers)
     * @param size the block size in bytes
     * @param tag  the pool tag the block is counted under (PoolMon)
     * @return the block, charged to the current quota account
     * @throws QuotaExceededException         when the charge would pass the account's limit (STATUS_QUOTA_EXCEEDED)
     * @throws ExallocOutOfMemoryError when the pool has no room
     */
    public static MemorySegment allocateWithQuota(PoolType type, long size, Tag tag) {
        PoolAllocator.checkArguments(type, size, tag);
        long mark = Native.mark();
        MemorySegment raw = quotaAllocate(type.code(), size, tag);
        if (raw.address() != 0) {
            return PoolAllocator.SYSTEM.block(raw, size);
        }
        throw PoolAllocator.failure(mark, type + " quota block of " + size + " bytes (" + tag + ")");
    }

    /**
     * ExAllocatePoolWithQuotaTag with POOL_QUOTA_FAIL_INSTEAD_OF_RAISE: as {@link #allocateWithQuota}, but null
     * where it would raise (nothing charged then).
     *
     * @param type the pool type (paged or non-paged, with its modifiers)
     * @param size the block size in bytes
     * @param tag  the pool tag the block is counted under (PoolMon)
     * @return the block, or null when the charge or the allocation fails
     */
    public static MemorySegment tryAllocateWithQuota(PoolType type, long size, Tag tag) {
        PoolAllocator.checkArguments(type, size, tag);
        long mark = Native.mark();
        MemorySegment raw = quotaAllocate(type.code() | QUOTA_FAIL_INSTEAD_OF_RAISE, size, tag);
        if (raw.address() != 0) {
            return PoolAllocator.SYSTEM.block(raw, size);
        }
        PoolAllocator.throwIfBugCheck(mark);
        return null;
    }

    private static MemorySegment quotaAllocate(int type, long size, Tag tag) {
        QuotaAccount account = QuotaAccount.perCallAccount();
        if (account == null) {
            return exa_pool_allocate_quota(type, size, tag.value());
        }
        // A virtual thread's scope: attach around the call (it cannot move to another carrier inside it).
        MemorySegment saved = exa_quota_attach(account.handle());
        try {
            return exa_pool_allocate_quota(type, size, tag.value());
        } finally {
            exa_quota_attach(saved);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Allocate: ExAllocatePool2 / ExAllocatePool3
    // ---------------------------------------------------------------------------------------------

    /**
     * ExAllocatePool2: {@code size} bytes, zeroed unless {@link PoolFlags#uninitialized()}; the tag must not be 0.
     * Returns null where NT returns NULL (no room, quota exceeded, flags or tag rejected) unless the flags include
     * {@link PoolFlags#raiseOnFailure()}, which throws instead: {@link ExallocOutOfMemoryError},
     * {@link QuotaExceededException}, or {@link InvalidArgumentException} for a rejected request.
     *
     * @param size the block size in bytes
     * @param tag   the pool tag, not 0
     * @param flags the POOL_FLAGS: pool, zeroing, quota, failure behaviour
     * @return the block, or null on failure unless the flags ask for an exception
     * @throws BugCheckError when a native check failed (IRQL)
     */
    public static MemorySegment allocate(long size, Tag tag, PoolFlags flags) {
        return allocate(size, tag, flags, PoolParameters.none());
    }

    /**
     * ExAllocatePool3: as {@link #allocate(long, Tag, PoolFlags)} with extended parameters (a priority, a NUMA node).
     * A required parameter that cannot be honoured fails the request like an invalid flag.
     *
     * @param size the block size in bytes
     * @param tag        the pool tag, not 0
     * @param flags      the POOL_FLAGS, as for ExAllocatePool2
     * @param parameters the extended parameters (priority, NUMA node)
     * @return the block, or null on failure unless the flags ask for an exception
     */
    public static MemorySegment allocate(long size, Tag tag, PoolFlags flags, PoolParameters parameters) {
        checkSize(size);
        Objects.requireNonNull(tag, "tag");
        Objects.requireNonNull(flags, "flags");
        Objects.requireNonNull(parameters, "parameters");
        long mark = Native.mark();
        QuotaAccount account = flags.isUseQuota() ? QuotaAccount.perCallAccount() : null;
        MemorySegment saved = account != null ? exa_quota_attach(account.handle()) : null;
        MemorySegment raw;
        try {
            raw = flagsAllocate(size, tag, flags, parameters);
        } finally {
            if (saved != null) {
                exa_quota_attach(saved);
            }
        }
        if (raw.address() != 0) {
            return PoolAllocator.SYSTEM.block(raw, size);
        }
        if (!flags.isRaiseOnFailure()) {
            PoolAllocator.throwIfBugCheck(mark);
            return null;
        }
        throw PoolAllocator.failure(mark, "block of " + size + " bytes (" + tag + ", " + flags + ")");
    }

    private static MemorySegment flagsAllocate(long size, Tag tag, PoolFlags flags, PoolParameters parameters) {
        if (parameters.size() == 0) {
            return exa_pool_allocate(flags.bits(), size, tag.value());
        }
        try (Arena a = Arena.ofConfined()) {
            List<PoolParameters.Parameter> list = parameters.parameters();
            MemorySegment array = a.allocate(exa_pool_parameter_s.layout(), list.size());
            for (int i = 0; i < list.size(); i++) {
                PoolParameters.Parameter p = list.get(i);
                MemorySegment e = exa_pool_parameter_s.asSlice(array, i);
                exa_pool_parameter_s.type(e, p.type());
                exa_pool_parameter_s.optional(e, p.optional() ? 1 : 0);
                exa_pool_parameter_s.value(e, p.value());
            }
            return exa_pool_allocate_ex(flags.bits(), size, tag.value(), array, list.size());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Helpers of the allocate paths
    // ---------------------------------------------------------------------------------------------

    private static void checkSize(long size) {
        if (size < 0) {
            throw new IllegalArgumentException("size must be >= 0: " + size);
        }
    }

    /** What new blocks' segments are tied to: {@link #setScope}, else the system property, else CONFINED. */
    private static volatile PoolScope scope = initialScope();

    private static PoolScope initialScope() {
        String p = System.getProperty(SCOPE_PROPERTY);
        return p == null ? PoolScope.CONFINED : PoolScope.valueOf(p.trim().toUpperCase(java.util.Locale.ROOT));
    }

    /** System property: the initial {@link #scope()} (global | shared | confined). */
    public static final String SCOPE_PROPERTY = "exalloc.pool.scope";

    /**
     * Sets what the segments of blocks allocated from now on by {@link #system()} and the static routines are tied
     * to (their default; instances from {@link #builder()} keep their own; blocks already out keep theirs). Default {@link PoolScope#CONFINED} (checked: a use after free throws {@link IllegalStateException};
     * the allocating thread owns the block), or the system property {@code exalloc.pool.scope}.
     *
     * @param scope what new blocks' segments are tied to
     */
    public static void setScope(PoolScope scope) {
        Pool.scope = Objects.requireNonNull(scope, "scope");
    }

    /**
     * What new blocks' segments are tied to ({@link #setScope}).
     *
     * @return the scope of segments handed out from now on
     */
    public static PoolScope scope() {
        return scope;
    }

    // ---------------------------------------------------------------------------------------------
    // Free and query
    // ---------------------------------------------------------------------------------------------

    /**
     * ExFreePool. A block allocated with a PROTECTED_POOL tag cannot be freed this way (bug check 0xC2/0x0A: use
     * {@link #free(MemorySegment, Tag)} with the tag).
     *
     * @param block a block from one of the pool's allocate methods
     * @throws InvalidBlockException for a heap segment or NULL (refused before any native call)
     * @throws BugCheckError         for anything else that is not a live pool block (see the class comment), nothing
     *                               changed
     */
    public static void free(MemorySegment block) {
        PoolAllocator.freeSegment(block, 0);
    }

    /**
     * ExFreePoolWithTag: as {@link #free(MemorySegment)}, with the tag checked. A protected block needs its exact
     * tag, PROTECTED_POOL bit included; in strict mode any tag that does not match is refused; otherwise an
     * unprotected block's tag is not checked (NT's behaviour). Refusal: bug check 0xC2/0x0A (p2 the block, p3 its
     * tag, p4 the tag passed), the block still allocated.
     *
     * @param block a block from one of the pool's allocate methods
     * @param tag   the tag it was allocated with
     */
    public static void free(MemorySegment block, Tag tag) {
        Objects.requireNonNull(tag, "tag");
        PoolAllocator.freeSegment(block, tag.value());
    }

    // ---------------------------------------------------------------------------------------------
    // Address-based fast path
    // ---------------------------------------------------------------------------------------------

    /**
     * ExAllocatePoolWithTag, as an address: the fast path for callers that keep raw addresses (no
     * {@link MemorySegment} and no Java allocation per call). Returns 0 where NT returns NULL (as
     * {@link #tryAllocate(PoolType, long, Tag)}); the block is {@code size} bytes at the returned address, with NT's
     * alignment. Free it with {@link #freeAddress(long, Tag)} or {@link #freeAddress(long)}; to touch it, wrap it
     * ({@code MemorySegment.ofAddress(a).reinterpret(size)}) or use it from native code. Critical downcalls (no
     * thread-state transition: nothing the pool runs calls back into Java) unless the system property
     * {@code exalloc.pool.critical} is false at startup; condition listeners work either way (see {@link #onCondition}).
     *
     * @param type the pool type (paged or non-paged, with its modifiers)
     * @param size the block size in bytes
     * @param tag  the pool tag the block is counted under (PoolMon)
     * @return the block's address, or 0 when the pool has no room
     * @throws BugCheckError when a native check failed (strict-mode tag or size rules, IRQL, must-succeed)
     */
    public static long allocateAddress(PoolType type, long size, Tag tag) {
        return PoolAllocator.SYSTEM.allocateAddress(type, size, tag);
    }

    /**
     * ExFreePoolWithTag for an address from {@link #allocateAddress} (or any pool block). Checked as
     * {@link #free(MemorySegment, Tag)}: anything that is not a live pool block, a double free, a wrong tag on a
     * protected block, is a {@link BugCheckError} with the block left as it was; the JVM is never at risk (the native
     * pool looks an address up in its segment map before it reads anything). One downcall: {@code
     * exa_pool_free_checked} returns the outcome, and the bug-check record is read only on a refusal. Java-side
     * scopes are not looked at: freeing by
     * address a block allocated through the segment routines leaves its segment's scope open (free it with
     * {@link #free(MemorySegment, Tag)} instead).
     *
     * @param address the block's address
     * @param tag     the tag it was allocated with
     * @throws InvalidBlockException for address 0
     */
    public static void freeAddress(long address, Tag tag) {
        Objects.requireNonNull(tag, "tag");
        PoolAllocator.SYSTEM.freeAddress(address, tag.value());
    }

    /**
     * ExFreePool for an address (as {@link #freeAddress(long, Tag)} without the tag check).
     *
     * @param address the block's address
     */
    public static void freeAddress(long address) {
        PoolAllocator.SYSTEM.freeAddress(address, 0);
    }

    /**
     * True when the system pool's calls are critical downcalls (the default; system property
     * {@code exalloc.pool.critical=false} makes them ordinary).
     *
     * @return whether {@link #allocateAddress} and {@link #freeAddress} use critical downcalls
     */
    public static boolean criticalFastPath() {
        return PoolFast.CRITICAL;
    }

    /**
     * The block's tag, usable size (ExQueryPoolBlockSize), pool type and quota charge.
     *
     * @param block a live pool block
     * @return what the pool records about the block
     * @throws InvalidBlockException FOREIGN for a heap segment, NOT_OUTSTANDING for an address that is not a live
     *                               pool block (freed, interior, never allocated)
     */
    public static BlockInfo query(MemorySegment block) {
        BlockInfo info = tryQuery(block);
        if (info == null) {
            throw new InvalidBlockException(InvalidBlockException.Reason.NOT_OUTSTANDING,
                    String.format("0x%X is not a live pool block", block.address()));
        }
        return info;
    }

    /**
     * True when {@code block} is the address of a live pool block (a silent check: never a bug check).
     *
     * @param block any native segment
     * @return whether it is a live pool block
     */
    public static boolean isLive(MemorySegment block) {
        Objects.requireNonNull(block, "block");
        return block.isNative() && block.scope().isAlive() && tryQuery(block) != null;
    }

    private static BlockInfo tryQuery(MemorySegment block) {
        Objects.requireNonNull(block, "block");
        if (!block.isNative()) {
            throw new InvalidBlockException(InvalidBlockException.Reason.FOREIGN,
                    "not native memory, so not a pool block: " + block);
        }
        if (!block.scope().isAlive() || PoolScopes.isQuarantined(block)) {
            return null; // a checked segment after its free
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(exa_pool_block_info_s.layout());
            if (exa_pool_query_block(MemorySegment.ofAddress(block.address()), out) != NtStatus.SUCCESS) {
                return null;
            }
            int type = exa_pool_block_info_s.pool_type(out);
            PoolType poolType;
            try {
                poolType = PoolType.fromCode(type);
            } catch (IllegalArgumentException e) {
                poolType = null; // a type only C code can ask for (cache-aligned must-succeed)
            }
            boolean charged = exa_pool_block_info_s.quota_charged(out) != 0;
            return new BlockInfo(new Tag(exa_pool_block_info_s.tag(out)), exa_pool_block_info_s.size(out),
                    exa_pool_block_info_s.charged(out), poolType, PoolKind.fromCode(exa_pool_block_info_s.pool(out)),
                    charged, exa_pool_block_info_s.big(out) != 0,
                    charged ? QuotaAccount.lookup(exa_pool_block_info_s.account(out).address()) : null);
        }
    }

    /**
     * Ends the calling thread's current quarantine epoch early (checked confined segments, {@link PoolScope#CONFINED}):
     * once its blocks still out are freed (at once, if there are none), their segments die and the blocks go back to
     * the pool. Blocks quarantined by threads that have ended go back too. {@link #stats}, {@link #tags()} and
     * {@link #trim()} do this first, so that the counts they report include every free the calling thread made.
     *
     * @return the number of blocks that went back to the pool
     */
    public static int endQuarantine() {
        return PoolScopes.settle();
    }

    /**
     * Returns the calling thread's cached free blocks to the pools and empty segments to the host; returns the number
     * of blocks returned. (Thread exit does this by itself.) Also ends the current epoch of {@link PoolScope#SHARED}
     * segments early: once its blocks still out are freed (at once if there are none), its segments die and its
     * quarantined blocks go back to the pool.
     *
     * @return the number of blocks returned to the pools
     */
    public static long trim() {
        PoolScopes.settle(); // this thread's quarantine epoch ends, and ended threads' quarantines go back
        PoolScopes.endSharedEpoch(); // shared segments freed so far die, and their blocks go back
        return exa_pool_trim();
    }

    // ---------------------------------------------------------------------------------------------
    // PoolMon and pool statistics
    // ---------------------------------------------------------------------------------------------

    /**
     * PoolMon's rows: every tag in every pool it was used in, sorted by tag bytes, then pool.
     *
     * @return one row per tag and pool, largest first
     */
    public static List<PoolTagStats> tags() {
        PoolScopes.settle(); // this thread's quarantined frees count
        try (Arena a = Arena.ofConfined()) {
            for (;;) {
                int n = exa_pool_tag_snapshot(MemorySegment.NULL, 0);
                int capacity = n + 16;
                MemorySegment rows = a.allocate(exa_pool_tag_row_s.layout(), capacity);
                int total = exa_pool_tag_snapshot(rows, capacity);
                if (total <= capacity) {
                    List<PoolTagStats> result = new ArrayList<>(total);
                    for (int i = 0; i < total; i++) {
                        MemorySegment r = exa_pool_tag_row_s.asSlice(rows, i);
                        result.add(new PoolTagStats(new Tag(exa_pool_tag_row_s.tag(r)),
                                PoolKind.fromCode(exa_pool_tag_row_s.pool(r)), exa_pool_tag_row_s.allocs(r),
                                exa_pool_tag_row_s.frees(r), exa_pool_tag_row_s.diff(r), exa_pool_tag_row_s.bytes(r),
                                exa_pool_tag_row_s.per_alloc(r)));
                    }
                    return List.copyOf(result);
                }
            }
        }
    }

    /**
     * The PoolMon row of one tag in one pool (zeroes when the tag was never used there).
     *
     * @param tag  the tag (its PROTECTED_POOL bit is ignored)
     * @param pool the pool
     * @return the tag's row in that pool
     */
    public static PoolTagStats tag(Tag tag, PoolKind pool) {
        Tag plain = tag.unprotected();
        for (PoolTagStats row : tags()) {
            if (row.tag().equals(plain) && row.pool() == pool) {
                return row;
            }
        }
        return new PoolTagStats(plain, pool, 0, 0, 0, 0, 0);
    }

    /**
     * The PoolMon row of one tag in the pool a type allocates from ({@code tag(tag, type.kind())}).
     *
     * @param tag  the tag
     * @param type a pool type (its pool is the one looked at)
     * @return the tag's row now
     */
    public static PoolTagStats tag(Tag tag, PoolType type) {
        return tag(tag, type.kind());
    }

    /**
     * The counters of the pool a type allocates from ({@code stats(type.kind())}).
     *
     * @param type a pool type (its pool is the one looked at)
     * @return its statistics at this moment
     */
    public static PoolStats stats(PoolType type) {
        return stats(type.kind());
    }

    /**
     * A pool's counters, capacity and condition now.
     *
     * @param pool the pool
     * @return its statistics at this moment
     */
    public static PoolStats stats(PoolKind pool) {
        PoolScopes.settle(); // this thread's quarantined frees count
        PoolStats s = readStats(pool);
        PoolConditions.afterCall();
        return s;
    }

    static PoolStats readStats(PoolKind pool) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(exa_pool_stats_s.layout());
            Failures.check(exa_pool_query(pool.code(), s));
            return new PoolStats(pool, PoolCondition.fromBits(exa_pool_stats_s.condition(s)),
                    exa_pool_stats_s.capacity(s), exa_pool_stats_s.in_use(s), exa_pool_stats_s.peak(s),
                    exa_pool_stats_s.available(s), exa_pool_stats_s.small_pages(s), exa_pool_stats_s.big_pages(s),
                    exa_pool_stats_s.big_allocations(s), exa_pool_stats_s.mapped(s), exa_pool_stats_s.cached(s),
                    exa_pool_stats_s.locked(s), exa_pool_stats_s.lock_failures(s), exa_pool_stats_s.cold_hints(s),
                    exa_pool_stats_s.lock_status(s), exa_pool_stats_s.condition_changes(s),
                    exa_pool_stats_s.executable(s) != 0, exa_pool_stats_s.numa_nodes(s),
                    exa_pool_stats_s.node_refusals(s));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Limits and options
    // ---------------------------------------------------------------------------------------------

    /**
     * A pool's capacity, watermarks and policies now.
     *
     * @param pool the pool
     * @return its limits, rounded to whole pages as the pool keeps them
     */
    public static PoolLimits limits(PoolKind pool) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = a.allocate(exa_pool_limits_s.layout());
            Failures.check(exa_pool_get_limits(pool.code(), l));
            int policy = exa_pool_limits_s.lock_policy(l);
            return new PoolLimits(exa_pool_limits_s.capacity(l), exa_pool_limits_s.low_watermark(l),
                    exa_pool_limits_s.low_clear(l), exa_pool_limits_s.high_clear(l),
                    exa_pool_limits_s.high_watermark(l), exa_pool_limits_s.critical_watermark(l),
                    exa_pool_limits_s.must_succeed_reserve(l), PoolLimits.LockPolicy.values()[policy],
                    exa_pool_limits_s.cached_segments(l));
        }
    }

    /**
     * Sets a pool's limits (process-wide, at once). Lowering the capacity below what is in use is allowed: requests
     * then fail until blocks are freed. The new marks are evaluated at once, so condition listeners may be called.
     *
     * @param pool   the pool
     * @param limits the new limits
     * @throws InvalidArgumentException STATUS_INVALID_PARAMETER_2 when the marks are out of order (after rounding to
     *                                   pages) or a value is out of range
     */
    public static void setLimits(PoolKind pool, PoolLimits limits) {
        Objects.requireNonNull(limits, "limits");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment l = a.allocate(exa_pool_limits_s.layout());
            exa_pool_limits_s.capacity(l, limits.capacity());
            exa_pool_limits_s.low_watermark(l, limits.lowWatermark());
            exa_pool_limits_s.low_clear(l, limits.lowClear());
            exa_pool_limits_s.high_clear(l, limits.highClear());
            exa_pool_limits_s.high_watermark(l, limits.highWatermark());
            exa_pool_limits_s.critical_watermark(l, limits.criticalWatermark());
            exa_pool_limits_s.must_succeed_reserve(l, limits.mustSucceedReserve());
            exa_pool_limits_s.lock_policy(l, limits.lockPolicy().ordinal());
            exa_pool_limits_s.cached_segments(l, limits.cachedSegments());
            Failures.check(exa_pool_set_limits(pool.code(), l));
        }
        PoolConditions.afterCall();
    }

    /**
     * Strict mode (process-wide; default off; the rules NT applies under Driver Verifier, docs/diagnostics.md#check-levels): zero-byte and must-succeed legacy
     * requests and legacy tags 0, "BIG " or without a letter or digit are bug checks; zero-byte ExAllocatePool2/3
     * requests return null; any non-zero tag passed to {@link #free(MemorySegment, Tag)} must match.
     *
     * @param strict true for strict mode, false for NT's lenient defaults
     */
    public static void setStrict(boolean strict) {
        int strictBit = EXA_POOL_OPTION_STRICT();
        synchronized (Pool.class) {
            int options = exa_pool_get_options();
            exa_pool_set_options(strict ? options | strictBit : options & ~strictBit);
            PoolScopes.refreshOptions();
        }
    }

    /**
     * Whether strict mode is on ({@link #setStrict}).
     *
     * @return true in strict mode
     */
    public static boolean isStrict() {
        return (exa_pool_get_options() & EXA_POOL_OPTION_STRICT()) != 0;
    }

    // ---------------------------------------------------------------------------------------------
    // Condition events
    // ---------------------------------------------------------------------------------------------

    /**
     * The pool's condition events set now: the pollable form of {@link #onCondition}.
     *
     * @param pool the pool
     * @return the LOW and HIGH events set now (empty when neither)
     */
    public static Set<PoolCondition> condition(PoolKind pool) {
        int bits = exa_pool_condition(pool.code());
        PoolConditions.afterCall();
        return PoolCondition.fromBits(bits);
    }

    /** Listener failures caught so far, and the last one (for diagnostics and tests). */
    static final AtomicLong LISTENER_FAILURES = PoolConditions.FAILURES;
    /** Listener failures logged: one per failing listener. */
    static final AtomicLong LISTENER_FAILURES_LOGGED = PoolConditions.FAILURES_LOGGED;
    static volatile Throwable lastListenerFailure;

    /**
     * Adds a listener for both pools' condition changes; {@link AutoCloseable#close()} removes it (after close
     * returns, outside the listener itself, it is not called again).
     *
     * <p>Listeners are not upcalls from inside the pool: the native pool only records its condition, and Java
     * compares it with what it last delivered and calls the listeners in order, with the pool's condition at that
     * moment, from outside every native call: at the end of the next call through the pool's ordinary routines (the
     * segment and address routines of {@link #system()}, {@link #setLimits}, {@link #condition}, {@link #stats}) on
     * any thread, and on a daemon thread ({@code exalloc-pool-conditions}) that looks every few milliseconds while a
     * listener is registered. So lookaside lists, {@link LookasideLocal}s and pool instances with critical calls keep
     * their critical downcalls whatever listeners exist; a change they cause is delivered by the next ordinary call or
     * the daemon. Changes that come and go between two looks are delivered as the condition now (a flip and a flip
     * back: nothing, or one call with the same set).
     *
     * @param listener told of every change of either pool's condition
     * @return a handle whose close removes the listener
     */
    public static AutoCloseable onCondition(PoolConditionListener listener) {
        return PoolConditions.register(Objects.requireNonNull(listener, "listener"));
    }

    // ---------------------------------------------------------------------------------------------
    // Memory-manager queries
    // ---------------------------------------------------------------------------------------------

    /**
     * MmQuerySystemSize: from the host's physical memory (or {@link #configureSystem}).
     *
     * @return the system size class
     */
    public static MmSystemSize systemSize() {
        return MmSystemSize.fromCode(exa_mm_query_system_size());
    }

    /**
     * MmIsThisAnNtAsSystem: true on a server product type (anything but "Wi..."); false by default ("WinNt").
     *
     * @return true for a server product type
     */
    public static boolean isNtAsSystem() {
        return exa_mm_is_nt_as_system() != 0;
    }

    /**
     * Overrides the inputs of the Mm queries, process-wide: {@code physicalBytes} 0 = the host's memory;
     * {@code productType} null = "WinNt" (only its first two characters count, as in NT: "Wi" is a workstation,
     * anything else a server, e.g. "ServerNt", "LanmanNt"). {@code configureSystem(0, null)} restores the defaults.
     *
     * @param physicalBytes the memory size the Mm queries see, 0 for the host's
     * @param productType   the product type they see, null for "WinNt"
     */
    public static void configureSystem(long physicalBytes, String productType) {
        if (physicalBytes < 0) {
            throw new IllegalArgumentException("physical memory must be >= 0 bytes: " + physicalBytes);
        }
        try (Arena a = Arena.ofConfined()) {
            Failures.check(exa_mm_configure(physicalBytes,
                    productType == null ? MemorySegment.NULL : a.allocateFrom(productType)));
        }
    }

    /**
     * NUMA nodes the host has (at least 1): the range of {@link PoolParameters#numaNode}.
     *
     * @return the number of NUMA nodes, at least 1
     */
    public static int numaNodes() {
        return exa_numa_node_count();
    }
}
