package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

@Isolated // reads process-wide leak reports and starts the publisher thread
class DiagnosticsTest {

    @Test
    void allocationsListEveryLiveBlockWithItsTagAndSize() {
        Tag tag = Tag.of("DgA1");
        MemorySegment a = Pool.allocate(PoolType.NON_PAGED_NX, 100, tag);
        MemorySegment b = Pool.allocate(PoolType.PAGED, 5000, tag);
        try {
            List<PoolAllocation> mine = Diagnostics.allocations().stream().filter(x -> x.tag().equals(tag)).toList();
            assertEquals(2, mine.size(), mine.toString());
            PoolAllocation small = mine.stream().filter(x -> x.address() == a.address()).findFirst().orElseThrow();
            assertTrue(small.size() >= 100 && small.size() < 100 + 16, "usable size " + small.size());
            assertEquals(PoolType.NON_PAGED_NX, small.poolType());
            PoolAllocation big = mine.stream().filter(x -> x.address() == b.address()).findFirst().orElseThrow();
            assertEquals(8192, big.size()); // two whole pages
            assertEquals(PoolType.PAGED, big.poolType());
            assertTrue(Diagnostics.allocationDump().contains("DgA1"));
        } finally {
            Pool.free(a);
            Pool.free(b);
        }
        assertTrue(Diagnostics.allocations().stream().noneMatch(x -> x.tag().equals(tag)));
    }

    @Test
    void leakReportNamesUndeletedListsAndOutstandingTags() {
        Tag tag = Tag.of("DgL1");
        Lookaside list = Lookaside.builder(96).tag(Tag.of("DgL2")).build();
        MemorySegment leaked = Pool.allocate(PoolType.NON_PAGED_NX, 64, tag);
        try {
            String report = Diagnostics.leakReport();
            assertTrue(report.contains("DgL1"), report);
            assertTrue(report.contains("DgL2"), report);
            assertTrue(report.contains("Lookaside lists not deleted"), report);
        } finally {
            Pool.free(leaked);
            list.close();
        }
        String after = Diagnostics.leakReport();
        assertFalse(after.contains("DgL1"), after);
        assertFalse(after.contains("DgL2"), after);
    }

    @Test
    void recordedSitesAppearInTheReport() {
        boolean before = Diagnostics.recordAllocationSites(true);
        try {
            MemorySegment b = Pool.allocate(PoolType.NON_PAGED_NX, 48, Tag.of("DgS1"));
            try {
                String dump = Diagnostics.allocationDump();
                List<String> lines = dump.lines().toList();
                int at = lines.indexOf(lines.stream().filter(l -> l.contains("DgS1")).findFirst().orElseThrow());
                // the block's line is followed by the stack that allocated it: frame #0 is in the library
                assertTrue(lines.get(at + 1).matches("\\s+#0 0x[0-9a-f]+ .*libexalloc.*"), dump);
                assertTrue(Diagnostics.leakReport().contains("allocation sites"), dump);
            } finally {
                Pool.free(b);
            }
        } finally {
            Diagnostics.recordAllocationSites(before);
        }
    }

    @Test
    void poolmonAndLookasideViewsAreSortedText() {
        MemorySegment big = Pool.allocate(PoolType.NON_PAGED_NX, 64 * 1024, Tag.of("DgP1"));
        MemorySegment small = Pool.allocate(PoolType.NON_PAGED_NX, 32, Tag.of("DgP2"));
        try (Lookaside _ = Lookaside.builder(200).tag(Tag.of("DgV1")).build()) {
            String pm = Diagnostics.poolmon(Diagnostics.Sort.BYTES);
            assertTrue(pm.indexOf("DgP1") >= 0 && pm.indexOf("DgP1") < pm.indexOf("DgP2"), pm);
            String byTag = Diagnostics.poolmon(Diagnostics.Sort.TAG);
            assertTrue(byTag.indexOf("DgP1") < byTag.indexOf("DgP2"), byTag);
            assertTrue(Diagnostics.lookasideView().contains("DgV1"));
        } finally {
            Pool.free(big);
            Pool.free(small);
        }
    }

    @Test
    void liveViewFileAppearsAndGoes() throws Exception {
        Path file = Path.of("/dev/shm/exalloc." + ProcessHandle.current().pid());
        Diagnostics.publishNow();
        assertTrue(Files.exists(file), file + " after publishNow");
        Diagnostics.startPublishing(Duration.ofMillis(50));
        Diagnostics.stopPublishing();
        assertFalse(Files.exists(file), file + " after stopPublishing");
    }
}
