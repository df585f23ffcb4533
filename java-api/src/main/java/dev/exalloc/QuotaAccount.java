package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.Native;
import dev.exalloc.internal.bindings.exa_quota_stats_s;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An NT process's pool quota (docs/pool.md#quota): a paged and a non-paged limit (0 = unlimited), the usage and its peak. Quota
 * allocations ({@link Pool#allocateWithQuota}, {@link PoolFlags#useQuota()}) charge the thread's current account: the
 * whole block, header included; nothing for blocks of more than 4064 bytes (NT: "PAGE_SIZE or greater") and nothing
 * to the {@link #system()} account. The charge returns when the block is freed. By default every thread's current
 * account is the {@link #process()} account (charged, no limit).
 *
 * <pre>{@code
 * try (QuotaAccount client = QuotaAccount.create(64 * 1024, 16 * 1024)) {   // paged, non-paged limits
 *     MemorySegment buf = client.callCharged(() -> Pool.allocateWithQuota(PoolType.NON_PAGED_NX, 512, tag));
 *     ... // client.usage().nonPaged() == 528: the 512-byte block and its 16-byte header, in 16-byte units
 *     Pool.free(buf);                                       // the charge goes back
 * }
 * }</pre>
 *
 * <p>{@link #runCharged}/{@link #callCharged} make the account current for the duration of the code (NT's "in the
 * context of the process") and restore the previous one afterwards, exceptions included. On a platform thread the
 * account is attached natively for the whole scope, so native code called from it is charged too; on a virtual
 * thread (which may move between carrier threads) it is attached around each quota allocation this API makes.
 *
 * <p>{@link #close()} drops the creator's reference; charged blocks keep the native account alive until they are
 * freed. An account cannot be closed while code charged to it runs ({@link QuotaAccountInUseException}): each scope
 * re-attaches the account it interrupted through a pointer it only borrows. After close, queries and scopes raise
 * {@link IllegalStateException}. The process and system accounts are never closed ({@code close()} does nothing).
 */
public final class QuotaAccount implements AutoCloseable {

    /** What an account stands for (exa_quota_kind_e). */
    public enum Kind {
        /** Created by {@link #create}: a client process. */
        ACCOUNT,
        /** The host process: every thread's default. */
        PROCESS,
        /** The System process: never charged. */
        SYSTEM
    }

    // state: bit 62 closed, bits 32..61 open scopes, bits 0..31 calls in flight
    private static final long CLOSED = 1L << 62;
    private static final long SCOPE = 1L << 32;
    private static final long CALLS_MASK = SCOPE - 1;

    /** Live accounts by native address: the process and system accounts and every Java-created one not yet closed. */
    private static final ConcurrentHashMap<Long, java.lang.ref.WeakReference<QuotaAccount>> LIVE =
            new ConcurrentHashMap<>();

    private static final QuotaAccount PROCESS;
    private static final QuotaAccount SYSTEM;

    static {
        Native.ensure();
        PROCESS = new QuotaAccount(exa_quota_process(), Kind.PROCESS);
        SYSTEM = new QuotaAccount(exa_quota_system(), Kind.SYSTEM);
        LIVE.put(PROCESS.handle.address(), new java.lang.ref.WeakReference<>(PROCESS));
        LIVE.put(SYSTEM.handle.address(), new java.lang.ref.WeakReference<>(SYSTEM));
    }

    /** A charged scope on this thread. */
    private record Scope(QuotaAccount account, Scope parent, boolean attachedNatively, MemorySegment saved) {
    }

    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();

    private final MemorySegment handle;
    private final Kind kind;
    private final long id;
    private final AtomicLong state = new AtomicLong();
    /** Closes the native account if this object becomes unreachable unclosed (see {@link Reclaimer}). */
    private java.lang.ref.Cleaner.Cleanable cleanable;

    /*
     * The cleaner's action for an account that became unreachable unclosed: no scope can be open (a scope references
     * its account), so it drops the creator's reference as close() does. Holds no reference to the account.
     */
    private record Reclaim(MemorySegment handle, AtomicLong state, long id) implements Runnable {
        @Override
        public void run() {
            if (!state.compareAndSet(0, CLOSED)) {
                return; // closed explicitly
            }
            LIVE.remove(handle.address());
            exa_quota_close(handle);
            Reclaimer.ACCOUNTS.incrementAndGet();
            Reclaimer.report("quota account", "#" + id);
        }
    }

    private QuotaAccount(MemorySegment handle, Kind kind) {
        this.handle = handle;
        this.kind = kind;
        this.id = queryId(handle);
    }

    private static long queryId(MemorySegment handle) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(exa_quota_stats_s.layout());
            Failures.check(exa_quota_query(handle, s));
            return exa_quota_stats_s.id(s);
        }
    }

    /**
     * A new account with these limits in bytes (0 = unlimited). Note the order: paged first.
     *
     * @param pagedLimit    the paged-pool limit
     * @param nonPagedLimit the non-paged-pool limit
     * @return the new account
     * @throws IllegalArgumentException for a negative limit
     * @throws ExallocOutOfMemoryError when the native account cannot be allocated
     */
    public static QuotaAccount create(long pagedLimit, long nonPagedLimit) {
        checkLimits(pagedLimit, nonPagedLimit);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Failures.check(exa_quota_create(nonPagedLimit, pagedLimit, out));
            QuotaAccount account = new QuotaAccount(out.get(ValueLayout.ADDRESS, 0), Kind.ACCOUNT);
            LIVE.put(account.handle.address(), new java.lang.ref.WeakReference<>(account));
            account.cleanable = Reclaimer.CLEANER.register(account,
                    new Reclaim(account.handle, account.state, account.id));
            return account;
        }
    }

    /**
     * The host process's account: every thread's current account unless code runs charged to another.
     *
     * @return the process account
     */
    public static QuotaAccount process() {
        return PROCESS;
    }

    /**
     * The System process's account: never charged. Run code charged to it to allocate without quota.
     *
     * @return the system account
     */
    public static QuotaAccount system() {
        return SYSTEM;
    }

    /**
     * The calling thread's current account: the innermost {@link #runCharged} scope's, else the natively attached one
     * (normally {@link #process()}); null when native code attached an account that was not created here.
     *
     * @return the current account, or null
     */
    public static QuotaAccount current() {
        Scope s = CURRENT.get();
        if (s != null) {
            return s.account;
        }
        return lookup(exa_quota_current().address());
    }

    /** The account at a native address, when it is known here and not closed. */
    static QuotaAccount lookup(long address) {
        java.lang.ref.WeakReference<QuotaAccount> ref = address == 0 ? null : LIVE.get(address);
        return ref == null ? null : ref.get();
    }

    /**
     * For quota allocations: the account to attach around the native call, when the thread's current scope did not
     * attach it natively (a virtual thread); null when the native current account is already right.
     */
    static QuotaAccount perCallAccount() {
        Scope s = CURRENT.get();
        return s != null && !s.attachedNatively ? s.account : null;
    }

    MemorySegment handle() {
        return handle;
    }

    /**
     * What the account stands for.
     *
     * @return a created account, the process's or the system's
     */
    public Kind kind() {
        return kind;
    }

    /**
     * Unique for the life of the process.
     *
     * @return the id
     */
    public long id() {
        return id;
    }

    /**
     * Whether {@link #close()} ran.
     *
     * @return true once the account is closed
     */
    public boolean isClosed() {
        return (state.get() & CLOSED) != 0;
    }

    // ---------------------------------------------------------------------------------------------
    // Guarding the native handle: calls in flight and open scopes, against close
    // ---------------------------------------------------------------------------------------------

    private void enter(long unit) {
        for (;;) {
            long s = state.get();
            if ((s & CLOSED) != 0) {
                throw new IllegalStateException("quota account " + id + " is closed");
            }
            if (state.compareAndSet(s, s + unit)) {
                return;
            }
        }
    }

    private void exit(long unit) {
        state.addAndGet(-unit);
    }

    private static void checkLimits(long pagedLimit, long nonPagedLimit) {
        if (pagedLimit < 0 || nonPagedLimit < 0) {
            throw new IllegalArgumentException("quota limits are bytes >= 0 (0 = unlimited): paged " + pagedLimit
                    + ", non-paged " + nonPagedLimit);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Queries and limits
    // ---------------------------------------------------------------------------------------------

    /**
     * Usage, peak, limits and charged blocks at one moment.
     *
     * @return the statistics
     */
    public QuotaStats stats() {
        enter(1);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(exa_quota_stats_s.layout());
            Failures.check(exa_quota_query(handle, s));
            return new QuotaStats(exa_quota_stats_s.id(s),
                    new QuotaUsage(exa_quota_stats_s.paged_usage(s), exa_quota_stats_s.non_paged_usage(s)),
                    new QuotaUsage(exa_quota_stats_s.paged_peak(s), exa_quota_stats_s.non_paged_peak(s)),
                    new QuotaUsage(exa_quota_stats_s.paged_limit(s), exa_quota_stats_s.non_paged_limit(s)),
                    exa_quota_stats_s.charged_blocks(s), Kind.values()[exa_quota_stats_s.kind(s)]);
        } finally {
            exit(1);
        }
    }

    /**
     * Bytes charged now, per pool.
     *
     * @return the usage
     */
    public QuotaUsage usage() {
        return stats().usage();
    }

    /**
     * The highest usage so far, per pool (frees do not lower it).
     *
     * @return the peak
     */
    public QuotaUsage peak() {
        return stats().peak();
    }

    /**
     * The limits, per pool (0 = unlimited).
     *
     * @return the limits
     */
    public QuotaUsage limits() {
        return stats().limits();
    }

    /**
     * Blocks holding a charge now.
     *
     * @return the number of blocks
     */
    public long chargedBlocks() {
        return stats().chargedBlocks();
    }

    /**
     * Sets the limits in bytes (0 = unlimited). Lowering a limit below the usage is allowed: charges then fail until
     * blocks are freed.
     *
     * @param pagedLimit    the paged-pool limit
     * @param nonPagedLimit the non-paged-pool limit
     */
    public void setLimits(long pagedLimit, long nonPagedLimit) {
        checkLimits(pagedLimit, nonPagedLimit);
        enter(1);
        try {
            Failures.check(exa_quota_set_limits(handle, nonPagedLimit, pagedLimit));
        } finally {
            exit(1);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Running code charged to the account
    // ---------------------------------------------------------------------------------------------

    /**
     * Runs {@code task} with this account current on the calling thread, then restores the previous account (also
     * when the task throws).
     *
     * @param task the code to run
     * @throws IllegalStateException when the account is closed
     */
    public void runCharged(Runnable task) {
        Objects.requireNonNull(task, "task");
        Scope parent = open();
        try {
            task.run();
        } finally {
            close(parent);
        }
    }

    /**
     * Calls {@code task} with this account current on the calling thread and returns its result, then restores the
     * previous account (also when the task throws; its exception propagates unchanged). No checked exception: code
     * that throws one wraps it, or uses {@link #runCharged} around its own handling.
     *
     * @param <T>  the task's result type
     * @param task the code to call
     * @return what the task returned
     * @throws RuntimeException whatever the task throws, unchanged
     * @throws IllegalStateException when the account is closed
     */
    public <T> T callCharged(Supplier<T> task) {
        Objects.requireNonNull(task, "task");
        Scope parent = open();
        try {
            return task.get();
        } finally {
            close(parent);
        }
    }

    private Scope open() {
        enter(SCOPE);
        Scope parent = CURRENT.get();
        boolean attach = !Thread.currentThread().isVirtual();
        try {
            // The thread references its current account; `saved` is only borrowed: it is the enclosing scope's
            // account (which cannot be closed while that scope is open: its count), the process account (never
            // freed), or one native code attached (native code's to keep alive).
            MemorySegment saved = attach ? exa_quota_attach(handle) : MemorySegment.NULL;
            CURRENT.set(new Scope(this, parent, attach, saved));
        } catch (Throwable t) {
            exit(SCOPE);
            throw t;
        }
        return parent;
    }

    private void close(Scope parent) {
        Scope mine = CURRENT.get();
        try {
            if (parent == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(parent);
            }
            if (mine != null && mine.attachedNatively) {
                exa_quota_attach(mine.saved);
            }
        } finally {
            exit(SCOPE);
        }
    }

    /**
     * Drops the creator's reference. Blocks still charged keep the native account alive until they are freed, and
     * their charges return normally. Idempotent; does nothing for the process and system accounts.
     *
     * @throws QuotaAccountInUseException while code charged to this account runs on any thread
     */
    @Override
    public void close() {
        if (kind != Kind.ACCOUNT) {
            return;
        }
        for (int spins = 0;; spins++) {
            long s = state.get();
            if ((s & CLOSED) != 0) {
                return;
            }
            long scopes = (s & ~CLOSED) >>> 32;
            if (scopes != 0) {
                throw new QuotaAccountInUseException("quota account " + id + " is current in " + scopes
                        + " open runCharged/callCharged scope(s): close it after they end", scopes);
            }
            if ((s & CALLS_MASK) != 0) { // a query on another thread: short
                if (spins > 1000) {
                    Thread.yield();
                } else {
                    Thread.onSpinWait();
                }
                continue;
            }
            if (state.compareAndSet(s, CLOSED)) {
                break;
            }
        }
        LIVE.remove(handle.address());
        if (cleanable != null) {
            cleanable.clean(); // deregisters: the action sees the account closed and does nothing
        }
        Failures.check(exa_quota_close(handle));
    }

    @Override
    public String toString() {
        return "QuotaAccount[" + kind + " #" + id + (isClosed() ? ", closed]" : "]");
    }
}
