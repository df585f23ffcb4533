package dev.exalloc.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.function.Predicate;

/**
 * Loads libexalloc into the JVM once, so that {@link java.lang.foreign.SymbolLookup#loaderLookup()}
 * (and the generated bindings) find its symbols. Users never set {@code LD_LIBRARY_PATH}.
 *
 * <p>Where the library comes from, first match wins:
 * <ol>
 *   <li>the system property {@value #LIBRARY_PATH_PROPERTY}, a path to the library file;</li>
 *   <li>the resource {@code /dev/exalloc/native/<platform>/<mapLibraryName("exalloc")>} in this
 *       jar, extracted to {@code ${java.io.tmpdir}/exalloc-<version>-<sha256 prefix>/} (written
 *       atomically, reused while its content matches);</li>
 *   <li>otherwise an {@link UnsatisfiedLinkError} naming this platform, the platforms the jar
 *       carries (its index {@code /dev/exalloc/native/platforms.txt}, written by the build) and how
 *       to point {@value #LIBRARY_PATH_PROPERTY} at a library built for this machine.</li>
 * </ol>
 *
 * <p>The platform is {@code <os>-<arch>} from os.name and os.arch (linux, macos or windows;
 * x86_64 or aarch64), with {@code -musl} appended on a Linux whose C library is musl (Alpine):
 * a library linked against glibc does not load there. musl is told from glibc by the program
 * interpreter of the running executable (its ELF PT_INTERP, for example
 * {@code /lib/ld-musl-x86_64.so.1}), read from {@code /proc/self/exe}; no process is started.
 */
final class NativeLoader {

    /** System property naming the library file to load instead of the bundled one. */
    static final String LIBRARY_PATH_PROPERTY = "exalloc.library.path";

    static final String LIBRARY_NAME = "exalloc";

    private static final String RESOURCE_ROOT = "/dev/exalloc/native/";
    private static final String BUILD_PROPERTIES = RESOURCE_ROOT + "exalloc.properties";
    /** One platform key a line: the platforms whose library this jar carries (written at build time). */
    static final String PLATFORM_INDEX = RESOURCE_ROOT + "platforms.txt";
    static final String MUSL_SUFFIX = "-musl";
    private static final int HASH_PREFIX_HEX = 16;

    private static final Object LOCK = new Object();
    private static volatile Path loadedFrom;

    private NativeLoader() {
    }

    /** Loads the library if no earlier call did. Idempotent and thread-safe. */
    static void load() {
        if (loadedFrom != null) {
            return;
        }
        synchronized (LOCK) {
            if (loadedFrom == null) {
                loadedFrom = loadFresh(System.getProperty(LIBRARY_PATH_PROPERTY), platformKey());
            }
        }
    }

    /** The file the library was loaded from, or null before the first successful {@link #load()}. */
    static Path loadedFrom() {
        return loadedFrom;
    }

    /**
     * Does the work of {@link #load()} with no caching, for tests: {@code override} plays the
     * system property, {@code platform} the detected platform key.
     */
    static Path loadFresh(String override, String platform) {
        if (override != null && !override.isBlank()) {
            Path file = Path.of(override).toAbsolutePath();
            if (!Files.isRegularFile(file)) {
                throw new UnsatisfiedLinkError("exalloc: system property " + LIBRARY_PATH_PROPERTY + " names "
                        + file + ", which is not an existing file");
            }
            loadFile(file);
            return file;
        }

        String resource = resourcePath(platform);
        byte[] bytes = readResource(resource);
        if (bytes == null) {
            throw new UnsatisfiedLinkError(noLibraryMessage(platform, resource, carriedPlatforms()));
        }
        Path file;
        try {
            file = extract(bytes);
        } catch (IOException | UncheckedIOException e) {
            UnsatisfiedLinkError error = new UnsatisfiedLinkError("exalloc: could not extract " + resource + " under "
                    + System.getProperty("java.io.tmpdir") + ": " + e);
            error.initCause(e);
            throw error;
        }
        loadFile(file);
        return file;
    }

    @SuppressWarnings("restricted")
    private static void loadFile(Path file) {
        try {
            System.load(file.toString());
        } catch (IllegalCallerException e) {
            // the JVM refuses native access to this module (--illegal-native-access=deny)
            UnsatisfiedLinkError error = new UnsatisfiedLinkError(nativeAccessDenied(NativeLoader.class.getModule()));
            error.initCause(e);
            throw error;
        }
    }

    /**
     * The message for a JVM that denies native access to {@code module}: it names the flag to add,
     * for the way exalloc was loaded (module path: the module's name; class path: ALL-UNNAMED).
     */
    static String nativeAccessDenied(Module module) {
        String self = module.isNamed() ? module.getName() : "ALL-UNNAMED";
        String other = module.isNamed() ? "ALL-UNNAMED" : "dev.exalloc";
        return "exalloc: the JVM denies native access to " + (module.isNamed() ? "module " + self : "the class path")
                + ", and exalloc cannot work without it. Add --enable-native-access=" + self
                + " to the java command line (for exalloc " + (module.isNamed() ? "on the class path" : "on the module path")
                + ": --enable-native-access=" + other + ").";
    }

    /**
     * This JVM's platform: {@code <os>-<arch>} (os linux, macos or windows; arch x86_64 or aarch64), and
     * {@code <os>-<arch>-musl} on a Linux with musl libc.
     */
    static String platformKey() {
        return platformKey(System.getProperty("os.name", ""), System.getProperty("os.arch", ""),
                NativeLoader::runningInterpreter, path -> Files.exists(Path.of(path)));
    }

    /**
     * The platform key for the given os.name and os.arch. On Linux, {@code interpreter} gives the program
     * interpreter of the running executable (null when it cannot be read) and {@code fileExists} answers for
     * absolute paths; both are consulted only on Linux. Pure apart from those two, for tests.
     */
    static String platformKey(String osName, String osArch, java.util.function.Supplier<String> interpreter,
            Predicate<String> fileExists) {
        String os = normaliseOs(osName);
        String arch = normaliseArch(osArch);
        String key = os + "-" + arch;
        if (os.equals("linux") && isMusl(interpreter.get(), arch, fileExists)) {
            key += MUSL_SUFFIX;
        }
        return key;
    }

    /**
     * Whether a Linux process runs on musl libc. The program interpreter decides when it is known (musl's is
     * {@code ld-musl-<arch>.so.1}, glibc's {@code ld-linux-*.so.*}). Without it, musl's loader present and
     * glibc's absent means musl: a glibc system may have musl's loader installed beside its own (Debian's musl
     * package does), so the presence of musl alone proves nothing.
     */
    static boolean isMusl(String interpreter, String arch, Predicate<String> fileExists) {
        if (interpreter != null && !interpreter.isEmpty()) {
            return interpreter.contains("ld-musl-");
        }
        boolean muslLoader = fileExists.test("/lib/ld-musl-" + arch + ".so.1");
        boolean glibcLoader = fileExists.test("/lib64/ld-linux-x86-64.so.2")
                || fileExists.test("/lib/ld-linux-aarch64.so.1") || fileExists.test("/lib/ld-linux-x86-64.so.2");
        return muslLoader && !glibcLoader;
    }

    /** The program interpreter (PT_INTERP) of the running executable, or null when it cannot be read. */
    private static String runningInterpreter() {
        String interpreter = elfInterpreter(Path.of("/proc/self/exe"));
        if (interpreter == null) {
            interpreter = elfInterpreter(Path.of(System.getProperty("java.home", ""), "bin", "java"));
        }
        return interpreter;
    }

    private static final int PT_INTERP = 3;
    private static final int ELF_HEADER_READ = 64;
    private static final int MAX_INTERP = 4096;

    /**
     * The PT_INTERP string of a 64-bit little-endian ELF file (x86-64 and aarch64 Linux), or null: not such a
     * file, no interpreter (a static executable), or unreadable. Reads the ELF header, the program headers and
     * the string, a few hundred bytes.
     */
    static String elfInterpreter(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer header = ByteBuffer.allocate(ELF_HEADER_READ).order(ByteOrder.LITTLE_ENDIAN);
            if (readFully(ch, header, 0) < ELF_HEADER_READ || header.getInt(0) != 0x464c457f
                    || header.get(4) != 2 /* ELFCLASS64 */ || header.get(5) != 1 /* little-endian */) {
                return null;
            }
            long phoff = header.getLong(0x20);
            int phentsize = Short.toUnsignedInt(header.getShort(0x36));
            int phnum = Short.toUnsignedInt(header.getShort(0x38));
            if (phentsize < 0x38 || phnum > 256) {
                return null;
            }
            ByteBuffer ph = ByteBuffer.allocate(0x38).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < phnum; i++) {
                ph.clear();
                if (readFully(ch, ph, phoff + (long) i * phentsize) < 0x38) {
                    return null;
                }
                if (ph.getInt(0) != PT_INTERP) {
                    continue;
                }
                long offset = ph.getLong(0x08);
                long size = ph.getLong(0x20);
                if (size <= 1 || size > MAX_INTERP) {
                    return null;
                }
                ByteBuffer name = ByteBuffer.allocate((int) size);
                if (readFully(ch, name, offset) < size) {
                    return null;
                }
                return new String(name.array(), 0, (int) size - 1, StandardCharsets.ISO_8859_1);
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static int readFully(FileChannel ch, ByteBuffer buffer, long position) throws IOException {
        int total = 0;
        while (buffer.hasRemaining()) {
            int n = ch.read(buffer, position + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    /** The platforms this jar carries a library for, from its index; null when the jar has no index. */
    static List<String> carriedPlatforms() {
        byte[] index = readResource(PLATFORM_INDEX);
        return index == null ? null : parseIndex(new String(index, StandardCharsets.UTF_8));
    }

    static List<String> parseIndex(String text) {
        List<String> platforms = new ArrayList<>();
        for (String line : text.split("\\R")) {
            String p = line.strip();
            if (!p.isEmpty() && !p.startsWith("#")) {
                platforms.add(p);
            }
        }
        return platforms;
    }

    /**
     * Why no library fits {@code platform}: the resource looked for, the platforms the jar carries
     * ({@code carried}, null when the jar has no index), the musl/glibc mismatch when that is the reason, and
     * how to use a library built elsewhere.
     */
    static String noLibraryMessage(String platform, String resource, List<String> carried) {
        StringBuilder m = new StringBuilder("exalloc: no native library for this platform, ").append(platform)
                .append(". Looked at: system property ").append(LIBRARY_PATH_PROPERTY).append(" (not set), resource ")
                .append(resource).append(" (absent). ");
        if (carried == null) {
            m.append("This jar has no platform index (").append(PLATFORM_INDEX).append("), so which platforms it ")
                    .append("carries is unknown. ");
        } else if (carried.isEmpty()) {
            m.append("This jar carries no native library. ");
        } else {
            m.append("This jar carries libraries for: ").append(String.join(", ", carried)).append(". ");
        }
        if (platform.endsWith(MUSL_SUFFIX)) {
            String glibc = platform.substring(0, platform.length() - MUSL_SUFFIX.length());
            m.append("This JVM runs on musl libc (as on Alpine Linux)");
            if (carried != null && carried.contains(glibc)) {
                m.append(", and the ").append(glibc).append(" library is linked against glibc, which musl cannot load");
            }
            m.append(": use a jar built with the ").append(platform).append(" library, or build libexalloc on this ")
                    .append("system. ");
        }
        m.append("To use a libexalloc built for this machine (./mvnw -B -pl native package builds it under ")
                .append("native/target/nar/), start java with -D").append(LIBRARY_PATH_PROPERTY)
                .append("=/path/to/").append(libraryFileName(platform)).append('.');
        return m.toString();
    }

    /** The library's file name on a platform: System.mapLibraryName("exalloc") there. */
    static String libraryFileName(String platform) {
        if (platform.startsWith("windows-")) {
            return LIBRARY_NAME + ".dll";
        }
        if (platform.startsWith("macos-")) {
            return "lib" + LIBRARY_NAME + ".dylib";
        }
        return "lib" + LIBRARY_NAME + ".so";
    }

    static String normaliseOs(String osName) {
        String os = osName.toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            return "linux";
        }
        if (os.startsWith("mac") || os.startsWith("darwin")) {
            return "macos";
        }
        if (os.startsWith("windows")) {
            return "windows";
        }
        return os.replaceAll("[^a-z0-9]", "");
    }

    static String normaliseArch(String osArch) {
        String arch = osArch.toLowerCase(Locale.ROOT);
        return switch (arch) {
            case "amd64", "x86_64", "x64", "x86-64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch.replaceAll("[^a-z0-9_]", "");
        };
    }

    static String resourcePath(String platform) {
        return RESOURCE_ROOT + platform + "/" + System.mapLibraryName(LIBRARY_NAME);
    }

    /** The library version: from the build-generated resource, else the jar manifest, else "dev". */
    static String version() {
        try (InputStream in = NativeLoader.class.getResourceAsStream(BUILD_PROPERTIES)) {
            if (in != null) {
                Properties properties = new Properties();
                properties.load(in);
                String version = properties.getProperty("version");
                if (version != null && !version.isBlank() && !version.startsWith("${")) {
                    return sanitise(version);
                }
            }
        } catch (IOException e) {
            // fall through to the manifest
        }
        String version = NativeLoader.class.getPackage().getImplementationVersion();
        return version == null || version.isBlank() ? "dev" : sanitise(version);
    }

    private static String sanitise(String s) {
        return s.trim().replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private static byte[] readResource(String resource) {
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("exalloc: cannot read resource " + resource, e);
        }
    }

    static String sha256Hex(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    /** Writes bytes to the versioned location, or reuses the file there when its content matches. */
    static Path extract(byte[] bytes) throws IOException {
        String hash = sha256Hex(bytes);
        String dirName = "exalloc-" + version() + "-" + hash.substring(0, HASH_PREFIX_HEX);
        Path tmp = Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath();
        Path dir = tmp.resolve(dirName);
        String fileName = System.mapLibraryName(LIBRARY_NAME);

        List<FileAttribute<?>> attrs = new ArrayList<>();
        boolean posix = dir.getFileSystem().supportedFileAttributeViews().contains("posix");
        if (posix) {
            attrs.add(PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        FileAttribute<?>[] dirAttrs = attrs.toArray(new FileAttribute<?>[0]);
        try {
            Files.createDirectory(dir, dirAttrs);
        } catch (FileAlreadyExistsException e) {
            // shared with an earlier run (or another JVM); checked below
        }
        if (!Files.isDirectory(dir) || !Files.isWritable(dir) || !ownedByUs(dir, posix)) {
            // Someone else's directory on a shared tmp: use a private one instead of trusting it.
            dir = Files.createTempDirectory(tmp, dirName + "-", dirAttrs);
        }

        Path target = dir.resolve(fileName);
        if (Files.isRegularFile(target) && Files.size(target) == bytes.length
                && hash.equals(sha256Hex(Files.readAllBytes(target)))) {
            return target;
        }
        Path partial = Files.createTempFile(dir, fileName + ".", ".part");
        try {
            Files.write(partial, bytes);
            try {
                Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(partial);
        }
        return target;
    }

    private static boolean ownedByUs(Path dir, boolean posix) {
        if (!posix) {
            return true;
        }
        try {
            UserPrincipal owner = Files.getFileAttributeView(dir, PosixFileAttributeView.class).getOwner();
            UserPrincipal me = dir.getFileSystem().getUserPrincipalLookupService()
                    .lookupPrincipalByName(System.getProperty("user.name"));
            return owner.equals(me);
        } catch (IOException | UnsupportedOperationException e) {
            return false;  // cannot tell: the caller then uses a private directory
        }
    }
}
