/**
 * exalloc: the Windows NT executive's memory-support routines, for Java, over FFM.
 *
 * <p>The jar carries the native library; nothing has to be on {@code LD_LIBRARY_PATH}. Native
 * access must be enabled: {@code --enable-native-access=dev.exalloc,dev.exalloc.bindings} on the
 * module path, {@code --enable-native-access=ALL-UNNAMED} on the class path.
 */
module dev.exalloc {
    requires dev.exalloc.bindings;
    requires transitive java.management;
    requires jdk.jfr;

    exports dev.exalloc;
    exports dev.exalloc.management;
}
