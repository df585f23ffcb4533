package dev.exalloc;

import static dev.exalloc.internal.bindings.exalloc_h.*;

import dev.exalloc.internal.bindings.exa_lookaside_stats_s;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/** The native registry of lookaside lists as {@link LookasideStats} ({@link Lookaside#all()}, {@link Lookaside#stats()}). */
final class LookasideRegistry {

    private LookasideRegistry() {
    }

    /** Every live list in the process (NT-named ones from C included), oldest first. */
    static List<LookasideStats> all() {
        try (Arena a = Arena.ofConfined()) {
            for (;;) {
                int n = exa_lookaside_enumerate(MemorySegment.NULL, 0);
                int capacity = n + 8;
                MemorySegment buf = a.allocate(exa_lookaside_stats_s.layout(), capacity);
                int total = exa_lookaside_enumerate(buf, capacity);
                if (total <= capacity) {
                    List<LookasideStats> result = new ArrayList<>(total);
                    for (int i = 0; i < total; i++) {
                        result.add(toStats(exa_lookaside_stats_s.asSlice(buf, i)));
                    }
                    return List.copyOf(result);
                }
            }
        }
    }

    static LookasideStats toStats(MemorySegment s) {
        int type = exa_lookaside_stats_s.pool_type(s);
        return new LookasideStats(exa_lookaside_stats_s.id(s), exa_lookaside_stats_s.total_allocates(s),
                exa_lookaside_stats_s.allocate_misses(s), exa_lookaside_stats_s.total_frees(s),
                exa_lookaside_stats_s.free_misses(s), exa_lookaside_stats_s.size(s),
                exa_lookaside_stats_s.current_depth(s), exa_lookaside_stats_s.depth(s),
                exa_lookaside_stats_s.maximum_depth(s), new Tag(exa_lookaside_stats_s.tag(s)), PoolType.fromCode(type),
                type, exa_lookaside_stats_s.thread_caches(s));
    }
}
