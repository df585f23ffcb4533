package example.consumer;

import dev.exalloc.Lookaside;
import dev.exalloc.LookasideStats;
import dev.exalloc.Pool;
import dev.exalloc.PoolKind;
import dev.exalloc.PoolTagStats;
import dev.exalloc.PoolType;
import dev.exalloc.Tag;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A first exalloc program that checks what it does: it allocates from a lookaside list and from
 * the pool, writes and reads back, and compares the statistics with the calls it made. Any
 * mismatch (or any failure to load the library) exits with status 1.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        try {
            run();
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
    }

    private static void run() {
        // A lookaside list of 64-byte blocks: a freed block is cached and handed out again (a checked list first
        // keeps it in quarantine, so that its old segment dies before anyone else gets the block).
        try (Lookaside list = Lookaside.builder(64).tag(Tag.of("Exmp")).build()) {
            MemorySegment block = list.allocate();
            check(block.byteSize() == 64, "block size " + block.byteSize());
            block.set(ValueLayout.JAVA_LONG, 8, 0x1234_5678_9ABC_DEF0L);
            check(block.get(ValueLayout.JAVA_LONG, 8) == 0x1234_5678_9ABC_DEF0L, "read back from the block");
            list.free(block);                           // checked: quarantined until its run of blocks ends
            list.endQuarantine();                       // ends it now: the block is cached, its segment dead
            check(!block.scope().isAlive(), "a freed block's segment dies with its quarantine");
            MemorySegment again = list.allocate();      // served from the cache
            list.free(again);
            LookasideStats stats = list.stats();
            check(stats.totalAllocates() == 2, "TotalAllocates " + stats.totalAllocates());
            check(stats.allocateMisses() == 1, "AllocateMisses " + stats.allocateMisses());
            check(stats.totalFrees() == 2, "TotalFrees " + stats.totalFrees());
            check(stats.currentDepth() == 1, "cached blocks " + stats.currentDepth());
            System.out.println(stats);
        }

        // The pool, with a tag: PoolMon's counters follow every allocation and free.
        Tag tag = Tag.of("Exm2");
        PoolTagStats before = Pool.tag(tag, PoolKind.PAGED);
        MemorySegment bytes = Pool.allocate(PoolType.PAGED, 100, tag);
        bytes.setString(0, "hello from the paged pool");
        check(bytes.getString(0).equals("hello from the paged pool"), "string read back");
        PoolTagStats during = Pool.tag(tag, PoolKind.PAGED);
        check(during.allocs() == before.allocs() + 1, "tag allocs " + during.allocs());
        check(during.diff() == before.diff() + 1, "tag outstanding " + during.diff());
        Pool.free(bytes, tag);
        PoolTagStats after = Pool.tag(tag, PoolKind.PAGED);
        check(after.frees() == before.frees() + 1, "tag frees " + after.frees());
        check(after.diff() == before.diff(), "tag outstanding after free " + after.diff());

        Module module = Lookaside.class.getModule();
        System.out.println("exalloc OK (" + (module.isNamed() ? "module path, module " + module.getName()
                : "class path") + ")");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("unexpected: " + what);
        }
    }
}
