package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Runs in its own surefire execution on the module path, with native access granted to the
 * one module dev.exalloc (--enable-native-access=dev.exalloc --illegal-native-access=deny), as
 * module-path users run it. The jextract bindings live in that module, not in one of their own.
 */
class ModulePathTest {

    @Test
    void runsInTheNamedModuleAndCallsNativeCode() {
        Module module = Pool.class.getModule();
        assertTrue(module.isNamed(), "expected to run on the module path");
        assertEquals("dev.exalloc", module.getName());
        assertTrue(module.isNativeAccessEnabled());
        // the bindings are a package of this module, and one it keeps to itself
        Module bindings = dev.exalloc.internal.bindings.exalloc_h.class.getModule();
        assertEquals(module, bindings);
        assertTrue(module.getPackages().contains("dev.exalloc.internal.bindings"));
        assertFalse(module.isExported("dev.exalloc.internal.bindings"));
        assertTrue(module.isExported("dev.exalloc"));
        assertEquals(1, Exalloc.abiVersion());
        // java.management only for the management package: required statically, not passed on to readers
        var management = module.getDescriptor().requires().stream()
                .filter(r -> r.name().equals("java.management")).findFirst().orElseThrow();
        assertEquals(java.util.Set.of(java.lang.module.ModuleDescriptor.Requires.Modifier.STATIC),
                management.modifiers());
        assertTrue(!module.getDescriptor().exports().stream().anyMatch(e -> e.source().startsWith("dev.exalloc.internal")
                || e.source().endsWith(".internal")), "internal packages are not exported");
        try (Lookaside list = Lookaside.builder(64).tag(Tag.of("Modp")).build()) {
            java.lang.foreign.MemorySegment b = list.allocate();
            assertEquals(64, b.byteSize());
            list.free(b);
            assertEquals(1, list.stats().currentDepth());
        }
    }

    /** The JFR event classes live in the non-exported dev.exalloc.internal: JFR still records them. */
    @Test
    void jfrRecordsEventsOfTheInternalPackage() throws Exception {
        assertTrue(Pool.class.getModule().isNamed(), "expected to run on the module path");
        java.nio.file.Path file = java.nio.file.Files.createTempFile("exalloc-modp", ".jfr");
        try (jdk.jfr.Recording r = new jdk.jfr.Recording()) {
            r.enable("dev.exalloc.FatalReport");
            r.start();
            long a = Pool.allocateAddress(PoolType.NON_PAGED_NX, 48, Tag.of("JfrM"));
            Pool.freeAddress(a);
            Pool.trim();
            BugCheckError e = org.junit.jupiter.api.Assertions.assertThrows(BugCheckError.class,
                    () -> Pool.freeAddress(a)); // double free
            r.stop();
            r.dump(file);
            var events = jdk.jfr.consumer.RecordingFile.readAllEvents(file).stream()
                    .filter(x -> x.getEventType().getName().equals("dev.exalloc.FatalReport")).toList();
            assertEquals(1, events.size());
            assertEquals(e.code(), events.get(0).getInt("code"));
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }
}
