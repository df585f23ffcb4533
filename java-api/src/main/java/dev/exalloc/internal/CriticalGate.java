package dev.exalloc.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * Critical downcalls ({@code Linker.Option.critical}) skip the JVM's thread-state transition, and an upcall made
 * while one is in progress aborts the JVM ("wrong thread state for upcall"). Pool condition listeners are not
 * upcalls (Java polls the native condition), so nothing in this API closes the gate; it is where registering an
 * upcall into pool paths would go. Such an upcall would be made on whichever thread's allocation or free changed a pool's condition, and a lookaside list's miss or free miss
 * is exactly such a pool call. So code that links native pool paths as critical asks {@link #allowed()} first, after
 * entering its {@link InFlight}, and {@link #closeForUpcalls()} (called once, before the first upcall is registered
 * with native code) waits until every such call that may have missed the change has left.
 *
 * <p>Dekker over volatile accesses: a caller does a volatile read-modify-write on its InFlight cell, then a volatile
 * read of {@code open}; the closer writes {@code open} volatile, then reads every registered cell: either the caller
 * sees the gate closed (and makes a normal downcall), or the closer sees its cell and waits for it.
 */
public final class CriticalGate {

    private CriticalGate() {
    }

    private static volatile boolean open = true;

    /** In-flight trackers of objects that make critical downcalls into pool paths (weak: a lost list makes none). */
    private static final Set<InFlight> USERS = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

    /** True while critical downcalls into pool paths are safe; read it inside the caller's InFlight. */
    public static boolean allowed() {
        return open;
    }

    public static void register(InFlight users) {
        USERS.add(users);
    }

    public static void unregister(InFlight users) {
        USERS.remove(users);
    }

    /** Closes the gate for good and waits until no critical pool call that began before is still running. */
    public static synchronized void closeForUpcalls() {
        if (!open) {
            return;
        }
        open = false;
        List<InFlight> snapshot;
        synchronized (USERS) {
            snapshot = new ArrayList<>(USERS);
        }
        for (InFlight f : snapshot) {
            f.awaitQuiescent();
        }
    }
}
