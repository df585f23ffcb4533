/**
 * exalloc: the Windows NT executive's memory-support routines, for Java, over FFM.
 *
 * <p>The jar carries the native library; nothing has to be on {@code LD_LIBRARY_PATH}. Native
 * access must be enabled: {@code --enable-native-access=dev.exalloc} on the module path,
 * {@code --enable-native-access=ALL-UNNAMED} on the class path.
 *
 * <p>System properties read at startup: {@code exalloc.pool.scope} (global | shared | confined: what pool
 * segments are tied to, default shared), {@code exalloc.pool.critical} (true: the pool's address fast path
 * uses critical downcalls and condition listeners are refused), {@code exalloc.management} (true: register
 * the MXBeans of {@code dev.exalloc.management} when the pool is first used). JFR events:
 * {@code dev.exalloc.PoolConditionChange}, {@code dev.exalloc.FatalReport}.
 */
module dev.exalloc {
    requires transitive java.management;
    requires jdk.jfr;

    exports dev.exalloc;
    exports dev.exalloc.management;
}
