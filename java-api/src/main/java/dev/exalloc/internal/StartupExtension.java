package dev.exalloc.internal;

/**
 * Something another package of this module runs once, when the pool or a lookaside list is first used, without the
 * core package depending on it: found by {@link java.util.ServiceLoader} ({@code uses}/{@code provides} in
 * module-info on the module path, {@code META-INF/services} on the class path).
 */
public interface StartupExtension {

    /** Runs once per process, on the thread that first used the library; decides for itself whether to act. */
    void start();

    /** Runs every extension found, once per process; a failing one is logged and skipped. */
    static void runAll() {
        Holder.run();
    }

    /** Runs the extensions when first touched. */
    final class Holder {
        private static boolean started; // guarded by the class

        private Holder() {
        }

        static synchronized void run() {
            if (started) {
                return;
            }
            started = true;
            for (var provider : java.util.ServiceLoader.load(StartupExtension.class,
                    StartupExtension.class.getClassLoader()).stream().toList()) {
                try {
                    provider.get().start();
                } catch (RuntimeException | LinkageError e) {
                    System.getLogger("dev.exalloc").log(System.Logger.Level.WARNING,
                            "exalloc startup extension " + provider.type().getName() + " failed", e);
                }
            }
        }
    }
}
