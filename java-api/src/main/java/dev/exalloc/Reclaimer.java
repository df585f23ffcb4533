package dev.exalloc;

import dev.exalloc.internal.ReclaimedEvent;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Releases the native state of lookaside lists and quota accounts that became unreachable without a close: one
 * daemon thread (a {@link Cleaner}), a {@link System.Logger} warning naming the object, and a JFR
 * {@code dev.exalloc.Reclaimed} event. Closing is still the rule: this only bounds the leak of a forgotten close.
 */
final class Reclaimer {

    private Reclaimer() {
    }

    static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "exalloc-cleaner");
        t.setDaemon(true);
        return t;
    });

    /** Lookaside lists and quota accounts reclaimed so far (for diagnostics and tests). */
    static final AtomicLong LISTS = new AtomicLong();
    static final AtomicLong ACCOUNTS = new AtomicLong();

    private static final System.Logger LOG = System.getLogger("dev.exalloc");

    /** After a reclaim: one warning and one event. Never throws (it runs on the cleaner thread). */
    static void report(String kind, String name) {
        try {
            LOG.log(System.Logger.Level.WARNING, "an unclosed {0} ({1}) became unreachable; its native state was "
                    + "released by the cleaner: close it (try-with-resources)", kind, name);
            ReclaimedEvent e = new ReclaimedEvent();
            if (e.isEnabled()) {
                e.kind = kind;
                e.name = name;
                e.commit();
            }
        } catch (Throwable ignored) {
            // a failing logger must not stop the cleaner
        }
    }
}
