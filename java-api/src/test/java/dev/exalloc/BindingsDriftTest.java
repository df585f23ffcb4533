package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exalloc.internal.bindings.exalloc_h;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The committed bindings, the public header and the built library must agree. */
class BindingsDriftTest {

    private static Set<String> headerFunctions() throws Exception {
        String header = System.getProperty("exalloc.header");
        assertNotNull(header, "surefire passes exalloc.header");
        String text = Files.readString(Path.of(header));
        text = text.replaceAll("(?s)/\\*.*?\\*/", "");
        Matcher m = Pattern.compile("EXA_API\\s+[^;(]*?\\b(exa_\\w+)\\s*\\(").matcher(text);
        Set<String> names = new TreeSet<>();
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    @Test
    void everyHeaderFunctionHasABindingAndNoBindingIsStale() throws Exception {
        Set<String> declared = headerFunctions();
        assertTrue(declared.size() > 20, "parsed " + declared);
        Set<String> bound = Arrays.stream(exalloc_h.class.getMethods())
                .filter(m -> Modifier.isStatic(m.getModifiers()) && m.getName().startsWith("exa_")
                        && !m.getName().contains("$"))
                .map(Method::getName).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(declared, bound, "header functions vs generated bindings: run generated/regen.sh");
    }

    @Test
    @SuppressWarnings("restricted") // a second lookup of the loaded library, to inspect its exports
    void libraryExportsThePublicApiAndHidesInternals() throws Exception {
        Exalloc.version();
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup lib = SymbolLookup.libraryLookup(Exalloc.libraryPath(), arena);
            for (String f : headerFunctions()) {
                assertTrue(lib.find(f).isPresent(), "exported: " + f);
            }
            for (String nt : new String[] {"ExInitializeNPagedLookasideList", "ExAllocateFromLookasideListEx",
                    "KeBugCheckEx"}) {
                assertTrue(lib.find(nt).isPresent(), "exported: " + nt);
            }
            for (String internal : new String[] {"_exa_bugcheck", "_exa_lookaside_create", "_exa_pool_allocate",
                    "_exa_os_thread_token"}) {
                assertFalse(lib.find(internal).isPresent(), "hidden: " + internal);
            }
        }
    }

    /**
     * C long is 32 bits on Windows, where a layout taken from canonicalLayouts().get("long") would make the
     * bindings fail to load; regen.sh pins jextract's C_LONG to 64 bits (exalloc.h has no plain long).
     */
    @Test
    void noBindingDependsOnTheSizeOfCLong() throws Exception {
        Path root = Path.of(System.getProperty("exalloc.header")).getParent().getParent().getParent();
        Path bindings = root.resolve("generated/src/main/java/dev/exalloc/internal/bindings");
        try (var files = Files.list(bindings)) {
            for (Path f : files.toList()) {
                String text = Files.readString(f);
                assertFalse(text.contains("canonicalLayouts().get(\"long\")"), f + " takes the layout of C long");
                assertFalse(text.contains("canonicalLayouts().get(\"unsigned long\")"), f + " takes the layout of C long");
            }
        }
        assertEquals(8, exalloc_h.C_LONG.byteSize());
        assertEquals(8, exalloc_h.exa_spinlock_t.byteSize());
    }

    @Test
    void abiAndLayoutsWereVerifiedAtLoad() {
        assertEquals(exalloc_h.EXA_ABI_VERSION(), Exalloc.abiVersion());
        assertTrue(Exalloc.cacheLineSize() == 64 || Exalloc.cacheLineSize() == 128);
        assertEquals("0.1.0", Exalloc.version());
    }
}
