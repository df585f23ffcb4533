/**
 * exalloc: the Windows NT executive's memory-support routines, for Java, over FFM.
 *
 * <p>The jar carries the native library; nothing has to be on {@code LD_LIBRARY_PATH}. Native
 * access must be enabled: {@code --enable-native-access=dev.exalloc} on the module path,
 * {@code --enable-native-access=ALL-UNNAMED} on the class path.
 *
 * <p>Packages: {@code dev.exalloc} is the API; {@code dev.exalloc.management} its MXBeans, which
 * need java.management (required here only statically: a module that uses the MXBeans reads
 * java.management itself, or the launcher adds it with {@code --add-modules java.management});
 * {@code dev.exalloc.internal} is not exported.
 *
 * <p>System properties read at startup: {@code exalloc.pool.scope} (global | shared | confined: what
 * the segments of {@code Pool.system()} and the static pool routines are tied to, default confined),
 * {@code exalloc.pool.critical} (default true: their calls are critical downcalls, which is safe because
 * nothing the pool's allocate and free run calls back into Java; false: ordinary downcalls); both are only the defaults of {@code Pool.system()}: pool instances from
 * {@code Pool.builder()} carry their own policies.
 * {@code exalloc.management} (true: register the MXBeans of {@code dev.exalloc.management} when the
 * pool or a lookaside list is first used; {@code ExallocManagement.register()} does it on demand).
 * JFR events: {@code dev.exalloc.PoolConditionChange}, {@code dev.exalloc.FatalReport},
 * {@code dev.exalloc.Reclaimed}.
 */
module dev.exalloc {
    requires static java.management;
    requires jdk.jfr;

    exports dev.exalloc;
    exports dev.exalloc.management;

    uses dev.exalloc.internal.StartupExtension;
    provides dev.exalloc.internal.StartupExtension with dev.exalloc.management.internal.ManagementStartup;
}
