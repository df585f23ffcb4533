package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * An overrun of a special-pool block by native code inside a JVM stops the process as it does a C program: the
 * verifier's line, NT's STOP line (0xCD) and the bug-check dump, although the Java API's bug-check handler only
 * records (a fault cannot be resumed, so the report is made whatever the handler).
 */
class SpecialPoolOverrunInAJvmTest {

    /** The child's main: a special-pool block, then memset one byte past its end (into the guard page). */
    public static final class Child {
        @SuppressWarnings("restricted")
        public static void main(String[] args) throws Throwable {
            Verifier.setCheckLevel(CheckLevel.VERIFIER);
            Verifier.configure(Verifier.Config.none().withSpecialTag(Tag.of("Ovr1")));
            MemorySegment block = Pool.allocate(PoolType.NON_PAGED_NX, 100, Tag.of("Ovr1"));
            System.out.println("special=" + Verifier.isSpecialPoolAddress(block.address()));
            System.out.flush();
            long guard = (block.address() | 4095) + 1; // the page after the block's: no access
            MethodHandle memset = Linker.nativeLinker().downcallHandle(
                    Linker.nativeLinker().defaultLookup().find("memset").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_LONG));
            MemorySegment unused = (MemorySegment) memset.invokeExact(MemorySegment.ofAddress(block.address()), 0x41,
                    guard - block.address() + 1);
            System.out.println("still running " + unused);
        }
    }

    @Test
    void overrunPrintsTheStopLineAndTheDump() throws IOException, InterruptedException {
        Assumptions.assumeFalse(getClass().getModule().isNamed(), "class-path run only");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xshare:auto",
                "-XX:-CreateCoredumpOnCrash", "-cp", System.getProperty("java.class.path"), Child.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(120, TimeUnit.SECONDS));
        assertNotEquals(0, child.exitValue(), out);
        assertTrue(out.contains("special=true"), out);
        assertTrue(out.contains("exalloc verifier: write access at "), out);
        assertTrue(out.contains("beyond the end of special pool block"), out);
        assertTrue(out.contains("*** STOP: 0x000000CD ("), "the STOP line: " + out);
        assertTrue(out.contains("exalloc bug-check dump"), "the dump: " + out);
        assertTrue(out.contains("tag Ovr1"), "the dump names the culprit: " + out);
        assertTrue(!out.contains("still running"), out);
    }
}
