package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.PoolConditionChangeEvent;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The delivery of pool condition changes to {@link Pool#onCondition} listeners without upcalls: the native pool
 * keeps its condition bits, and {@link #poll()} compares them with what was last delivered. A poll runs at the end
 * of ordinary (non-critical) pool calls while a listener exists ({@link #afterCall()}: one volatile read otherwise)
 * and on a daemon thread every {@value #PERIOD_MILLIS} ms. No native code ever calls into Java for this, so critical
 * downcalls stay allowed (an upcall inside one would abort the JVM).
 */
final class PoolConditions {

    private PoolConditions() {
    }

    static final long PERIOD_MILLIS = 5;

    private static final System.Logger LOG = System.getLogger("dev.exalloc.Pool");
    private static final CopyOnWriteArrayList<Registration> LISTENERS = new CopyOnWriteArrayList<>();
    static final AtomicLong FAILURES = new AtomicLong();
    static final AtomicLong FAILURES_LOGGED = new AtomicLong();
    /** Serialises polls, so that deliveries are in order; a poll already running elsewhere is not waited for. */
    private static final ReentrantLock POLL = new ReentrantLock();
    /** The condition bits last delivered per pool (PoolKind ordinal); guarded by POLL. */
    private static final int[] DELIVERED = new int[PoolKind.values().length];
    private static volatile boolean active;
    private static Thread daemon; // guarded by LISTENERS' monitor
    /** The registration whose listener this thread is running, to let a listener close itself. */
    private static final ThreadLocal<Registration> DELIVERING = new ThreadLocal<>();

    static AutoCloseable register(PoolConditionListener listener) {
        synchronized (LISTENERS) {
            if (LISTENERS.isEmpty()) {
                POLL.lock();
                try {
                    for (PoolKind kind : PoolKind.values()) {
                        DELIVERED[kind.ordinal()] = exa_pool_condition(kind.code()); // changes from here on
                    }
                } finally {
                    POLL.unlock();
                }
            }
            Registration r = new Registration(listener);
            LISTENERS.add(r);
            active = true;
            if (daemon == null || !daemon.isAlive()) {
                daemon = Thread.ofPlatform().daemon().name("exalloc-pool-conditions").start(PoolConditions::run);
            }
            return r;
        }
    }

    private static void unregistered() {
        synchronized (LISTENERS) {
            if (LISTENERS.isEmpty()) {
                active = false;
            }
        }
    }

    private static void run() {
        for (;;) {
            synchronized (LISTENERS) {
                if (LISTENERS.isEmpty()) {
                    daemon = null;
                    return;
                }
            }
            poll();
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(PERIOD_MILLIS));
        }
    }

    /** At the end of an ordinary pool call: delivers any change while a listener exists. */
    static void afterCall() {
        if (active && DELIVERING.get() == null) {
            poll();
        }
    }

    /** Delivers the changes since the last delivery, unless another thread is polling right now. */
    static void poll() {
        if (!POLL.tryLock()) {
            return; // that poll, or the daemon's next one, delivers
        }
        try {
            for (PoolKind kind : PoolKind.values()) {
                int now = exa_pool_condition(kind.code());
                int old = DELIVERED[kind.ordinal()];
                if (now == old) {
                    continue;
                }
                DELIVERED[kind.ordinal()] = now;
                event(kind, old, now);
                Set<PoolCondition> set = PoolCondition.fromBits(now);
                for (Registration r : LISTENERS) {
                    r.deliver(kind, set);
                }
            }
        } catch (Throwable t) {
            failed(null, t);
        } finally {
            POLL.unlock();
        }
    }

    private static void event(PoolKind kind, int old, int condition) {
        var event = new PoolConditionChangeEvent();
        if (!event.isEnabled()) {
            return;
        }
        event.pool = kind.name();
        event.oldCondition = PoolCondition.fromBits(old).toString();
        event.newCondition = PoolCondition.fromBits(condition).toString();
        PoolStats stats = Pool.readStats(kind);
        event.inUse = stats.inUse();
        event.capacity = stats.capacity();
        event.commit();
    }

    /* Counted always; logged once per listener (its first failure, one line), or with the trace outside one. */
    private static void failed(Registration r, Throwable t) {
        try {
            FAILURES.incrementAndGet();
            Pool.lastListenerFailure = t;
            if (r == null) {
                LOG.log(System.Logger.Level.WARNING, "pool condition delivery failed", t);
            } else if (r.failures.getAndIncrement() == 0) {
                FAILURES_LOGGED.incrementAndGet();
                LOG.log(System.Logger.Level.WARNING, "pool condition listener " + r.listener + " threw " + t
                        + "; its later failures are counted, not logged (it stays registered until closed)");
            }
        } catch (Throwable ignored) {
            // a failing logger must not stop the delivery
        }
    }

    private static final class Registration implements AutoCloseable {
        private final PoolConditionListener listener;
        private volatile boolean closed;
        private final AtomicInteger active = new AtomicInteger();
        private final AtomicLong failures = new AtomicLong();

        Registration(PoolConditionListener listener) {
            this.listener = listener;
        }

        void deliver(PoolKind pool, Set<PoolCondition> condition) {
            active.incrementAndGet();
            Registration outer = DELIVERING.get();
            try {
                if (!closed) {
                    DELIVERING.set(this);
                    listener.conditionChanged(pool, condition);
                }
            } catch (Throwable t) {
                failed(this, t);
            } finally {
                if (outer == null) {
                    DELIVERING.remove();
                } else {
                    DELIVERING.set(outer);
                }
                active.decrementAndGet();
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true; // volatile write, then read `active` (Dekker with deliver)
            LISTENERS.remove(this);
            unregistered();
            if (DELIVERING.get() == this) {
                return; // closing itself from inside its listener
            }
            for (int spins = 0; active.get() != 0; spins++) {
                if (spins < 1000) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }
    }
}
