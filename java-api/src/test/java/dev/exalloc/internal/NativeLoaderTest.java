package dev.exalloc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class NativeLoaderTest {

    @Test
    void platformKeyMatchesTheBuildsKey() {
        // The build stores the library under the key it computed from Maven's os profiles.
        String expected = System.getProperty("exalloc.expected.platform");
        assertNotNull(expected, "surefire passes exalloc.expected.platform");
        assertEquals(expected, NativeLoader.platformKey());
    }

    @Test
    void normalisesOsAndArch() {
        assertEquals("linux", NativeLoader.normaliseOs("Linux"));
        assertEquals("macos", NativeLoader.normaliseOs("Mac OS X"));
        assertEquals("windows", NativeLoader.normaliseOs("Windows 11"));
        assertEquals("x86_64", NativeLoader.normaliseArch("amd64"));
        assertEquals("aarch64", NativeLoader.normaliseArch("arm64"));
    }

    @Test
    void loadsFromTheJarResourceIntoAVersionedTmpDirectory() throws Exception {
        NativeLoader.load();
        Path from = NativeLoader.loadedFrom();
        assertNotNull(from);
        if (System.getProperty(NativeLoader.LIBRARY_PATH_PROPERTY) == null) {
            String dir = from.getParent().getFileName().toString();
            assertTrue(dir.matches("exalloc-" + java.util.regex.Pattern.quote(NativeLoader.version())
                    + "-[0-9a-f]{16}(-.*)?"), dir);
            assertEquals(System.mapLibraryName("exalloc"), from.getFileName().toString());
        }
        assertTrue(Files.isRegularFile(from));
    }

    @Test
    void loadIsIdempotentAndThreadSafe() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            Callable<Path> task = () -> {
                NativeLoader.load();
                return NativeLoader.loadedFrom();
            };
            List<Future<Path>> results = pool.invokeAll(java.util.Collections.nCopies(16, task));
            Path first = results.get(0).get();
            for (Future<Path> f : results) {
                assertEquals(first, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void extractionReusesAMatchingFile() throws Exception {
        byte[] bytes = "not really a library".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Path first = NativeLoader.extract(bytes);
        long modified = Files.getLastModifiedTime(first).toMillis();
        Path second = NativeLoader.extract(bytes);
        assertEquals(first, second);
        assertEquals(modified, Files.getLastModifiedTime(second).toMillis());
        assertTrue(first.getParent().getFileName().toString()
                .contains(NativeLoader.sha256Hex(bytes).substring(0, 16)));
        Files.delete(first);
        Files.delete(first.getParent());
    }

    @Test
    void propertyOverrideWithAMissingFileNamesThePath() {
        String missing = "/nonexistent/dir/libexalloc-missing.so";
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLoader.loadFresh(missing, NativeLoader.platformKey()));
        assertTrue(e.getMessage().contains(missing), e.getMessage());
        assertTrue(e.getMessage().contains(NativeLoader.LIBRARY_PATH_PROPERTY), e.getMessage());
    }

    @Test
    void unknownPlatformNamesTheKeyAndEveryPlaceLooked() {
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLoader.loadFresh(null, "plan9-mips"));
        String m = e.getMessage();
        assertTrue(m.contains("plan9-mips"), m);
        assertTrue(m.contains(NativeLoader.LIBRARY_PATH_PROPERTY), m);
        assertTrue(m.contains(NativeLoader.resourcePath("plan9-mips")), m);
    }

    @Test
    void propertyOverrideLoadsTheNamedFile() {
        Path extracted = NativeLoader.loadFresh(null, NativeLoader.platformKey());
        assertEquals(extracted, NativeLoader.loadFresh(extracted.toString(), "ignored-when-property-set"));
    }
}
