package dev.exalloc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;
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

    private static final Supplier<String> GLIBC_X64 = () -> "/lib64/ld-linux-x86-64.so.2";
    private static final Supplier<String> NOT_ASKED = () -> {
        throw new AssertionError("the interpreter is consulted on Linux only");
    };
    private static final Predicate<String> NO_FILES = path -> false;

    @Test
    void platformComesFromOsNameAndArch() {
        assertEquals("linux-x86_64", NativeLoader.platformKey("Linux", "amd64", GLIBC_X64, NO_FILES));
        assertEquals("linux-aarch64", NativeLoader.platformKey("Linux", "aarch64",
                () -> "/lib/ld-linux-aarch64.so.1", NO_FILES));
        assertEquals("windows-x86_64", NativeLoader.platformKey("Windows 11", "amd64", NOT_ASKED, NO_FILES));
        assertEquals("windows-x86_64", NativeLoader.platformKey("Windows Server 2022", "x86_64", NOT_ASKED, NO_FILES));
        assertEquals("macos-aarch64", NativeLoader.platformKey("Mac OS X", "aarch64", NOT_ASKED, NO_FILES));
    }

    @Test
    void muslIsToldFromGlibcByTheInterpreter() {
        assertEquals("linux-x86_64-musl", NativeLoader.platformKey("Linux", "amd64",
                () -> "/lib/ld-musl-x86_64.so.1", NO_FILES));
        assertEquals("linux-aarch64-musl", NativeLoader.platformKey("Linux", "aarch64",
                () -> "/lib/ld-musl-aarch64.so.1", NO_FILES));
        // glibc's interpreter wins over a musl loader installed beside it (Debian's musl package)
        assertEquals("linux-x86_64", NativeLoader.platformKey("Linux", "amd64", GLIBC_X64,
                path -> path.equals("/lib/ld-musl-x86_64.so.1")));
    }

    @Test
    void withoutAnInterpreterTheLoadersOnDiskDecide() {
        Set<String> alpine = Set.of("/lib/ld-musl-x86_64.so.1");
        Set<String> debianWithMusl = Set.of("/lib/ld-musl-x86_64.so.1", "/lib64/ld-linux-x86-64.so.2");
        assertTrue(NativeLoader.isMusl(null, "x86_64", alpine::contains));
        assertFalse(NativeLoader.isMusl(null, "x86_64", debianWithMusl::contains));
        assertFalse(NativeLoader.isMusl(null, "x86_64", NO_FILES));
        assertFalse(NativeLoader.isMusl(null, "aarch64", alpine::contains), "the loader is per architecture");
        assertEquals("linux-x86_64-musl", NativeLoader.platformKey("Linux", "amd64", () -> null, alpine::contains));
    }

    @Test
    void readsTheInterpreterOfThisJvm() throws Exception {
        String interpreter = NativeLoader.elfInterpreter(Path.of("/proc/self/exe"));
        assertNotNull(interpreter, "this JVM is a dynamically linked ELF executable");
        assertTrue(interpreter.startsWith("/") && interpreter.contains("ld-"), interpreter);
        assertEquals(interpreter.contains("ld-musl-"), NativeLoader.platformKey().endsWith("-musl"));
        Path notElf = Files.createTempFile("exalloc-not-elf", ".txt");
        try {
            Files.writeString(notElf, "#!/bin/sh\n" + "x".repeat(100));
            assertNull(NativeLoader.elfInterpreter(notElf));
            assertNull(NativeLoader.elfInterpreter(notElf.resolveSibling("exalloc-no-such-file")));
        } finally {
            Files.delete(notElf);
        }
    }

    @Test
    void hostLibraryFileNameIsMapLibraryName() {
        assertEquals(System.mapLibraryName("exalloc"), NativeLoader.libraryFileName(NativeLoader.platformKey()));
        assertEquals("exalloc.dll", NativeLoader.libraryFileName("windows-x86_64"));
        assertEquals("libexalloc.so", NativeLoader.libraryFileName("linux-aarch64-musl"));
    }

    @Test
    void theIndexListsExactlyTheLibrariesTheJarCarries() {
        List<String> carried = NativeLoader.carriedPlatforms();
        assertNotNull(carried, "the build writes " + NativeLoader.PLATFORM_INDEX);
        assertTrue(carried.contains(NativeLoader.platformKey()), carried.toString());
        for (String platform : carried) {
            String resource = "/dev/exalloc/native/" + platform + "/" + NativeLoader.libraryFileName(platform);
            assertNotNull(NativeLoader.class.getResource(resource), resource + " is in the index but not the jar");
        }
        for (String platform : List.of("linux-x86_64", "linux-aarch64", "linux-x86_64-musl", "linux-aarch64-musl",
                "windows-x86_64", "windows-aarch64", "macos-x86_64", "macos-aarch64")) {
            String resource = "/dev/exalloc/native/" + platform + "/" + NativeLoader.libraryFileName(platform);
            assertEquals(carried.contains(platform), NativeLoader.class.getResource(resource) != null, resource);
        }
        assertEquals(List.of("linux-x86_64", "windows-x86_64"),
                NativeLoader.parseIndex("# comment\nlinux-x86_64\r\n\n  windows-x86_64  \n"));
    }

    @Test
    void messageForAnUncarriedPlatformListsTheCarriedOnesAndTheProperty() {
        String m = NativeLoader.noLibraryMessage("windows-x86_64", "/dev/exalloc/native/windows-x86_64/exalloc.dll",
                List.of("linux-x86_64", "linux-aarch64"));
        assertTrue(m.contains("windows-x86_64"), m);
        assertTrue(m.contains("carries libraries for: linux-x86_64, linux-aarch64."), m);
        assertTrue(m.contains("-D" + NativeLoader.LIBRARY_PATH_PROPERTY + "=/path/to/exalloc.dll"), m);
        assertFalse(m.contains("musl"), m);
    }

    @Test
    void messageOnMuslExplainsThatTheGlibcLibraryCannotLoad() {
        String m = NativeLoader.noLibraryMessage("linux-x86_64-musl",
                "/dev/exalloc/native/linux-x86_64-musl/libexalloc.so", List.of("linux-x86_64", "windows-x86_64"));
        assertTrue(m.contains("musl libc"), m);
        assertTrue(m.contains("the linux-x86_64 library is linked against glibc, which musl cannot load"), m);
        assertTrue(m.contains("-D" + NativeLoader.LIBRARY_PATH_PROPERTY + "=/path/to/libexalloc.so"), m);
        String noGlibc = NativeLoader.noLibraryMessage("linux-aarch64-musl", "r", List.of("linux-x86_64"));
        assertTrue(noGlibc.contains("musl libc"), noGlibc);
        assertFalse(noGlibc.contains("linked against glibc"), noGlibc);
    }

    @Test
    void messageWithoutAnIndexSaysSo() {
        String m = NativeLoader.noLibraryMessage("linux-aarch64", "r", null);
        assertTrue(m.contains("no platform index (" + NativeLoader.PLATFORM_INDEX + ")"), m);
        assertTrue(m.contains(NativeLoader.LIBRARY_PATH_PROPERTY), m);
        assertTrue(NativeLoader.noLibraryMessage("linux-aarch64", "r", List.of())
                .contains("carries no native library"));
    }

    @Test
    void loadFailureForAnUncarriedPlatformQuotesTheIndex() {
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLoader.loadFresh(null, "freebsd-riscv64"));
        assertTrue(e.getMessage().contains("carries libraries for: " + String.join(", ", NativeLoader.carriedPlatforms())),
                e.getMessage());
    }
}
