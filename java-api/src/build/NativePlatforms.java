import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Build step of the exalloc jar (run by java-api/pom.xml through the JDK's source launcher): puts the
 * other platforms' libraries beside the host's and writes the jar's platform index.
 *
 * <pre>
 * java NativePlatforms.java NATIVE_RESOURCE_DIR HOST_PLATFORM REQUIRED [CROSS_DIR]
 * </pre>
 *
 * <ul>
 *   <li>NATIVE_RESOURCE_DIR is the classes folder's dev/exalloc/native/, which already holds
 *       HOST_PLATFORM/&lt;library&gt; (copied from the native module's build).</li>
 *   <li>CROSS_DIR, when given and not empty, holds libraries built for other platforms as
 *       CROSS_DIR/&lt;platform&gt;/&lt;library&gt; or CROSS_DIR/cross-&lt;platform&gt;/&lt;library&gt; (the layout of
 *       native/target after the cross builds). A platform is {@code <linux|macos|windows>-<x86_64|aarch64>},
 *       optionally with {@code -musl} on Linux; the library is libexalloc.so, libexalloc.dylib or exalloc.dll as
 *       that platform names it. Other folders are ignored; the host platform is never taken from there.</li>
 *   <li>REQUIRED is a comma-separated list of platforms that must end up in the jar; the step fails naming
 *       the missing ones.</li>
 * </ul>
 *
 * <p>Writes NATIVE_RESOURCE_DIR/platforms.txt: one platform a line, sorted, the platforms with a library in
 * the jar. The loader quotes it when no library fits the running JVM.
 */
public final class NativePlatforms {

    private static final Pattern PLATFORM = Pattern.compile("(linux|macos|windows)-(x86_64|aarch64)(-musl)?");

    static String libraryFileName(String platform) {
        if (platform.startsWith("windows-")) {
            return "exalloc.dll";
        }
        return platform.startsWith("macos-") ? "libexalloc.dylib" : "libexalloc.so";
    }

    static boolean isPlatform(String name) {
        return PLATFORM.matcher(name).matches() && (!name.endsWith("-musl") || name.startsWith("linux-"));
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 3 || args.length > 4) {
            throw new IllegalArgumentException(
                    "usage: NativePlatforms NATIVE_RESOURCE_DIR HOST_PLATFORM REQUIRED[,...] [CROSS_DIR]");
        }
        Path out = Path.of(args[0]);
        String host = args[1];
        String cross = args.length == 4 ? args[3].strip() : "";

        // Other platforms' folders can only be left from an earlier run of this step (a build without clean):
        // start from the host's library alone, so the jar carries exactly what this run found.
        if (Files.isDirectory(out)) {
            try (Stream<Path> s = Files.list(out)) {
                for (Path dir : s.filter(Files::isDirectory).sorted().toList()) {
                    String platform = dir.getFileName().toString();
                    if (isPlatform(platform) && !platform.equals(host)) {
                        try (Stream<Path> files = Files.list(dir)) {
                            for (Path f : files.toList()) {
                                Files.delete(f);
                            }
                        }
                        Files.delete(dir);
                    }
                }
            }
        }

        if (!cross.isEmpty()) {
            Path crossDir = Path.of(cross).toAbsolutePath();
            if (!Files.isDirectory(crossDir)) {
                throw new IllegalArgumentException("exalloc.cross.dir " + crossDir + " is not a directory");
            }
            List<Path> dirs;
            try (Stream<Path> s = Files.list(crossDir)) {
                dirs = s.filter(Files::isDirectory).sorted().toList();
            }
            for (Path dir : dirs) {
                String name = dir.getFileName().toString();
                String platform = name.startsWith("cross-") ? name.substring("cross-".length()) : name;
                Path library = dir.resolve(libraryFileName(platform));
                if (!isPlatform(platform) || !Files.isRegularFile(library)) {
                    continue;
                }
                if (platform.equals(host)) {
                    System.out.println("native platforms: " + platform + " is this build's own; not taken from " + dir);
                    continue;
                }
                Path target = out.resolve(platform).resolve(library.getFileName());
                Files.createDirectories(target.getParent());
                Files.copy(library, target, StandardCopyOption.REPLACE_EXISTING);
                System.out.println("native platforms: " + platform + " from " + library);
            }
        }

        TreeSet<String> carried = new TreeSet<>();
        if (Files.isDirectory(out)) {
            try (Stream<Path> s = Files.list(out)) {
                for (Path dir : s.filter(Files::isDirectory).toList()) {
                    String platform = dir.getFileName().toString();
                    if (isPlatform(platform) && Files.isRegularFile(dir.resolve(libraryFileName(platform)))) {
                        carried.add(platform);
                    }
                }
            }
        }
        List<String> missing = new ArrayList<>();
        for (String required : args[2].split(",")) {
            if (!required.isBlank() && !carried.contains(required.strip())) {
                missing.add(required.strip());
            }
        }
        if (!missing.isEmpty()) {
            System.err.println("native platforms: the jar would lack the library for " + String.join(", ", missing)
                    + " (it has " + String.join(", ", carried) + "). Build them first (native/scripts/cross-*.sh) and "
                    + "point exalloc.cross.dir at a folder laid out as <platform>/<library> or cross-<platform>/<library>"
                    + (cross.isEmpty() ? "" : "; looked in " + Path.of(cross).toAbsolutePath()));
            System.exit(1);
        }

        StringBuilder index = new StringBuilder();
        for (String platform : carried) {
            index.append(platform).append('\n');
        }
        Files.createDirectories(out);
        Files.writeString(out.resolve("platforms.txt"), index, StandardCharsets.UTF_8);
        System.out.println("native platforms: the jar carries " + String.join(", ", carried));
    }
}
