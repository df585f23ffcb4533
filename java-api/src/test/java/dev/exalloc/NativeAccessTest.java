package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exalloc.probe.NativeAccessProbe;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What a user sees about native access, in child JVMs run as users run them: exalloc's classes
 * (with the bundled library) on the class path or on the module path, the program itself on the
 * class path. One grant is enough on either path; with none and --illegal-native-access=deny,
 * loading fails with a message that names the flag to add.
 */
class NativeAccessTest {

    private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    @Test
    void classPathWithOneGrantWorks() throws Exception {
        Result r = run(false, "--enable-native-access=ALL-UNNAMED");
        assertEquals(0, r.exit, r::toString);
        assertEquals("abi " + Exalloc.abiVersion(), r.output.strip(), r::toString);
    }

    @Test
    void modulePathWithOneGrantWorks() throws Exception {
        Result r = run(true, "--enable-native-access=dev.exalloc");
        assertEquals(0, r.exit, r::toString);
        assertEquals("abi " + Exalloc.abiVersion(), r.output.strip(), r::toString);
    }

    @Test
    void classPathWithoutGrantNamesTheFlag() throws Exception {
        Result r = run(false);
        assertEquals(3, r.exit, r::toString);
        assertTrue(r.output.contains("exalloc: the JVM denies native access to the class path"), r::toString);
        assertTrue(r.output.contains("Add --enable-native-access=ALL-UNNAMED to the java command line"), r::toString);
    }

    @Test
    void modulePathWithoutGrantNamesTheFlag() throws Exception {
        Result r = run(true);
        assertEquals(3, r.exit, r::toString);
        assertTrue(r.output.contains("exalloc: the JVM denies native access to module dev.exalloc"), r::toString);
        assertTrue(r.output.contains("Add --enable-native-access=dev.exalloc to the java command line"), r::toString);
    }

    @Test
    void grantingTheProgramsModuleOnlyIsNotEnoughOnTheModulePath() throws Exception {
        // the program is in the unnamed module: its grant does not reach exalloc's module
        Result r = run(true, "--enable-native-access=ALL-UNNAMED");
        assertEquals(3, r.exit, r::toString);
        assertFalse(r.output.startsWith("abi "), r::toString);
        assertTrue(r.output.contains("--enable-native-access=dev.exalloc"), r::toString);
    }

    private record Result(int exit, String output, String command) {
        @Override
        public String toString() {
            return command + "\n" + output;
        }
    }

    private static Result run(boolean modulePath, String... grants) throws IOException, InterruptedException,
            URISyntaxException {
        String api = location(Exalloc.class);
        String probe = location(NativeAccessProbe.class);
        List<String> cmd = new ArrayList<>(List.of(JAVA, "--illegal-native-access=deny"));
        cmd.addAll(List.of(grants));
        if (modulePath) {
            cmd.addAll(List.of("--module-path", api, "--add-modules", "dev.exalloc", "-cp", probe));
        } else {
            cmd.addAll(List.of("-cp", api + File.pathSeparator + probe));
        }
        cmd.add(NativeAccessProbe.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        return new Result(p.exitValue(), output, String.join(" ", cmd));
    }

    private static String location(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
