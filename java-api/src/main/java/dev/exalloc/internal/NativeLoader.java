package dev.exalloc.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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

/**
 * Loads libexalloc into the JVM once, so that {@link java.lang.foreign.SymbolLookup#loaderLookup()}
 * (and the generated bindings) find its symbols. Users never set {@code LD_LIBRARY_PATH}.
 *
 * <p>Where the library comes from, first match wins:
 * <ol>
 *   <li>the system property {@value #LIBRARY_PATH_PROPERTY}, a path to the library file;</li>
 *   <li>the resource {@code /dev/exalloc/native/<os>-<arch>/<mapLibraryName("exalloc")>} in this
 *       jar, extracted to {@code ${java.io.tmpdir}/exalloc-<version>-<sha256 prefix>/} (written
 *       atomically, reused while its content matches);</li>
 *   <li>otherwise an {@link UnsatisfiedLinkError} naming the platform key and every place looked
 *       at.</li>
 * </ol>
 */
final class NativeLoader {

    /** System property naming the library file to load instead of the bundled one. */
    static final String LIBRARY_PATH_PROPERTY = "exalloc.library.path";

    static final String LIBRARY_NAME = "exalloc";

    private static final String RESOURCE_ROOT = "/dev/exalloc/native/";
    private static final String BUILD_PROPERTIES = RESOURCE_ROOT + "exalloc.properties";
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
            throw new UnsatisfiedLinkError("exalloc: no native library for platform '" + platform
                    + "'. Looked at: system property " + LIBRARY_PATH_PROPERTY + " (not set), classpath resource "
                    + resource + " (absent). Set " + LIBRARY_PATH_PROPERTY
                    + " to a libexalloc built for this platform.");
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

    /** {@code <os>-<arch>}: os is linux, macos or windows; arch is x86_64 or aarch64. */
    static String platformKey() {
        return normaliseOs(System.getProperty("os.name", "")) + "-" + normaliseArch(System.getProperty("os.arch", ""));
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
