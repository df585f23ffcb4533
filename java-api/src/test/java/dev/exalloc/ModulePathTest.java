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
        Module module = NativeLoader.class.getModule();
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
        try (Lookaside list = Lookaside.builder(64).tag(Tag.of("Modp")).build()) {
            java.lang.foreign.MemorySegment b = list.allocate();
            assertEquals(64, b.byteSize());
            list.free(b);
            assertEquals(1, list.stats().currentDepth());
        }
    }
}
