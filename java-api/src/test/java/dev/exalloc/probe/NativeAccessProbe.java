package dev.exalloc.probe;

import dev.exalloc.Exalloc;

/**
 * A user's program in a JVM of its own, started by NativeAccessTest: it lives outside package
 * dev.exalloc so that it can run from the class path while dev.exalloc is on the module path.
 * Prints "abi N" and exits 0 when exalloc loads; prints each message of the failure's cause
 * chain and exits 3 when it does not.
 */
public final class NativeAccessProbe {

    private NativeAccessProbe() {
    }

    public static void main(String[] args) {
        try {
            System.out.println("abi " + Exalloc.abiVersion());
        } catch (Throwable t) {
            for (Throwable c = t; c != null; c = c.getCause()) {
                System.out.println(c.getClass().getName() + ": " + c.getMessage());
            }
            System.exit(3);
        }
    }
}
