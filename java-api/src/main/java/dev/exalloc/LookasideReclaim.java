package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;
import dev.exalloc.internal.Native;
import dev.exalloc.internal.StartupExtension;
import dev.exalloc.internal.InFlight;
import dev.exalloc.internal.CriticalGate;
import dev.exalloc.internal.bindings.exa_allocate_fn;
import dev.exalloc.internal.bindings.exa_free_fn;
import dev.exalloc.internal.bindings.exa_lookaside_config_s;
import dev.exalloc.internal.bindings.exa_lookaside_stats_s;
import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Objects;

/*
 * The cleaner's action for a list that became unreachable unclosed: nothing can call it any more, so it deletes
 * the native list (cached blocks go to the pool). Holds no reference to the list. (A list with Java callbacks
 * stays reachable through its upcall stubs until closed.)
 */
record LookasideReclaim(MemorySegment handle, InFlight inFlight, Arena arena, String name) implements Runnable {
    @Override
    public void run() {
        if (!inFlight.close()) {
            return; // closed explicitly
        }
        CriticalGate.unregister(inFlight);
        try {
            exa_lookaside_delete(handle);
        } finally {
            arena.close();
        }
        Reclaimer.LISTS.incrementAndGet();
        Reclaimer.report("lookaside list", name);
    }
}
