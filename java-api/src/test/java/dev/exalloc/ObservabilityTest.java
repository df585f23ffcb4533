package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.exalloc.management.ExallocManagement;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/** JMX beans against the native snapshots, and the JFR events read back from a recording. */
@Isolated // registers MXBeans and a condition listener, changes the paged pool's limits
class ObservabilityTest {

    private static final long PAGE = Pool.PAGE_SIZE;
    private static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();

    private static Object attribute(ObjectName name, String attribute) throws Exception {
        return SERVER.getAttribute(name, attribute);
    }

    @Test
    void poolBeansMatchTheSnapshot() throws Exception {
        ExallocManagement.register();
        ExallocManagement.register(); // idempotent
        Tag tag = Tag.of("JmxP");
        List<Long> held = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            held.add(Pool.allocateAddress(PoolType.PAGED, 3 * PAGE, tag)); // big: whole pages, counted at once
        }
        try {
            for (PoolKind kind : PoolKind.values()) {
                ObjectName name = ExallocManagement.poolName(kind);
                PoolStats s = Pool.stats(kind);
                PoolLimits l = Pool.limits(kind);
                assertEquals(kind.name(), attribute(name, "Pool"));
                assertEquals(s.capacity(), attribute(name, "Capacity"));
                assertEquals(s.inUse(), attribute(name, "InUse"));
                assertEquals(s.bigAllocations(), attribute(name, "BigAllocations"));
                assertEquals(s.bigPages(), attribute(name, "BigPages"));
                assertEquals(s.peak(), attribute(name, "Peak"));
                assertEquals(l.lowWatermark(), attribute(name, "LowWatermark"));
                assertEquals(l.highWatermark(), attribute(name, "HighWatermark"));
                assertEquals(l.lockPolicy().name(), attribute(name, "LockPolicy"));
                assertEquals(Pool.condition(kind).stream().map(Enum::name).sorted().toList(),
                        Arrays.asList((String[]) attribute(name, "Condition")));
            }
            ObjectName paged = ExallocManagement.poolName(PoolKind.PAGED);
            long bigBefore = (Long) attribute(paged, "BigAllocations");
            long pagesBefore = (Long) attribute(paged, "BigPages");
            long a = Pool.allocateAddress(PoolType.PAGED, 3 * PAGE, tag);
            assertEquals(bigBefore + 1, attribute(paged, "BigAllocations"));
            assertEquals(pagesBefore + 3, attribute(paged, "BigPages"));
            Pool.freeAddress(a, tag);
            assertEquals(bigBefore, attribute(paged, "BigAllocations"));

            // PoolMon: the tag's row, and the rows sorted by bytes
            ObjectName tags = ExallocManagement.tagsName();
            CompositeData[] rows = (CompositeData[]) attribute(tags, "Rows");
            assertEquals(Pool.tags().size(), rows.length);
            assertEquals(rows.length, attribute(tags, "TagCount"));
            for (int i = 1; i < rows.length; i++) {
                assertTrue((Long) rows[i - 1].get("bytes") >= (Long) rows[i].get("bytes"), "sorted by bytes");
            }
            PoolTagStats mine = Pool.tag(tag, PoolKind.PAGED);
            CompositeData row = Arrays.stream(rows).filter(r -> "JmxP".equals(r.get("tag"))).findFirst().orElseThrow();
            assertEquals("Paged", row.get("pool"));
            assertEquals(mine.allocs(), row.get("allocs"));
            assertEquals(mine.frees(), row.get("frees"));
            assertEquals(5L, row.get("diff"));
            assertEquals(mine.bytes(), row.get("bytes"));
            assertEquals(5 * 3 * PAGE, (Long) row.get("bytes"));
            long total = Pool.tags().stream().mapToLong(PoolTagStats::bytes).sum();
            assertEquals(total, attribute(tags, "TotalBytes"));
        } finally {
            for (long a : held) {
                Pool.freeAddress(a, tag);
            }
        }
    }

    @Test
    void aBeanPerLiveLookasideList() throws Exception {
        Tag tag = Tag.of("JmxL");
        Lookaside list = Lookaside.builder(96).tag(tag).build();
        ObjectName name;
        try {
            ExallocManagement.register();
            LookasideStats stats = Lookaside.all().stream().filter(s -> s.tag().equals(tag)).findFirst().orElseThrow();
            name = ExallocManagement.lookasideName(stats);
            assertTrue(SERVER.isRegistered(name), name.toString());
            assertEquals(stats.id(), attribute(name, "Id"));
            assertEquals("JmxL", attribute(name, "Tag"));
            assertEquals(true, attribute(name, "Live"));
            List<MemorySegment> blocks = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                blocks.add(list.allocate());
            }
            for (MemorySegment b : blocks) {
                list.free(b);
            }
            LookasideStats now = list.stats();
            assertEquals(now.totalAllocates(), attribute(name, "TotalAllocates"));
            assertTrue(now.totalAllocates() >= 7);
            assertEquals(now.totalFrees(), attribute(name, "TotalFrees"));
            assertEquals(now.allocateMisses(), attribute(name, "AllocateMisses"));
            assertEquals(now.size(), attribute(name, "Size"));
            assertEquals(now.depth(), attribute(name, "Depth"));
        } finally {
            list.close();
        }
        assertEquals(false, attribute(name, "Live"));
        ExallocManagement.refresh();
        assertFalse(SERVER.isRegistered(name), "gone with its list");
    }

    @Test
    void fatalReportEventCarriesTheBugCheck() throws Exception {
        Path file = Files.createTempFile("exalloc-fatal", ".jfr");
        try (Recording r = new Recording()) {
            r.enable("dev.exalloc.FatalReport");
            r.start();
            long a = Pool.allocateAddress(PoolType.NON_PAGED_NX, 48, Tag.of("JfrF"));
            Pool.freeAddress(a);
            Pool.trim();
            BugCheckError e = assertThrows(BugCheckError.class, () -> Pool.freeAddress(a)); // double free
            r.stop();
            r.dump(file);
            List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                    .filter(x -> x.getEventType().getName().equals("dev.exalloc.FatalReport")).toList();
            assertEquals(1, events.size());
            RecordedEvent f = events.get(0);
            assertEquals(0xC2, f.getInt("code"));
            assertEquals(e.parameter1(), f.getLong("parameter1"));
            assertTrue(f.getLong("parameter1") == 0x07 || f.getLong("parameter1") == 0x42); // free, or its segment gone
            assertEquals(e.parameter2(), f.getLong("parameter2"));
            assertEquals(e.parameter3(), f.getLong("parameter3"));
            assertEquals(e.parameter4(), f.getLong("parameter4"));
            assertTrue(a == f.getLong("parameter2") || a == f.getLong("parameter4")); // the block named
            assertEquals(e.getMessage(), f.getString("message"));
            assertTrue(f.getString("message").startsWith("*** STOP: 0x000000C2"));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void poolConditionChangeEvents() throws Exception {
        Path file = Files.createTempFile("exalloc-cond", ".jfr");
        Tag tag = Tag.of("JfrC");
        // free pages: capacity 32; critical 2, low 8, low-clear 12, high-clear 20, high 24 (as PoolTest.Conditions)
        PoolLimits saved = PoolTest.limit(PoolKind.PAGED, 32, 2, 8, 12, 20, 24, 0);
        List<Long> held = new ArrayList<>();
        // Listeners (and the JFR event) are delivered after the call that changed the condition, by the next
        // ordinary pool call or the delivery thread: wait for each delivery before going on.
        java.util.concurrent.BlockingQueue<java.util.Set<PoolCondition>> seen = new java.util.concurrent.LinkedBlockingQueue<>();
        try (AutoCloseable _ = Pool.onCondition((pool, c) -> {
                    if (pool == PoolKind.PAGED) {
                        seen.add(c);
                    }
                }); Recording r = new Recording()) {
            r.enable("dev.exalloc.PoolConditionChange");
            r.start();
            assertEquals(java.util.Set.of(PoolCondition.HIGH), Pool.condition(PoolKind.PAGED));
            while (PoolTest.freePages(PoolKind.PAGED) > 19) { // HIGH -> none below high-clear (20)
                held.add(Pool.allocateAddress(PoolType.PAGED, PAGE, tag));
            }
            assertEquals(java.util.Set.of(), seen.poll(10, java.util.concurrent.TimeUnit.SECONDS));
            PoolStats lowest = Pool.stats(PoolKind.PAGED);
            while (PoolTest.freePages(PoolKind.PAGED) < 24) { // none -> HIGH at 24 free (the rest: finally)
                Pool.freeAddress(held.removeLast(), tag);
            }
            assertEquals(java.util.Set.of(PoolCondition.HIGH), seen.poll(10, java.util.concurrent.TimeUnit.SECONDS));
            r.stop();
            r.dump(file);
            List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                    .filter(x -> x.getEventType().getName().equals("dev.exalloc.PoolConditionChange")).toList();
            assertEquals(2, events.size(), events.toString());
            RecordedEvent down = events.get(0);
            assertEquals("PAGED", down.getString("pool"));
            assertEquals("[HIGH]", down.getString("oldCondition"));
            assertEquals("[]", down.getString("newCondition"));
            assertEquals(lowest.inUse(), down.getLong("inUse"));
            assertEquals(lowest.capacity(), down.getLong("capacity"));
            RecordedEvent up = events.get(1);
            assertEquals("[]", up.getString("oldCondition"));
            assertEquals("[HIGH]", up.getString("newCondition"));
            assertEquals(lowest.capacity() - 24 * PAGE, up.getLong("inUse"));
            assertNotNull(up.getStartTime());
        } finally {
            for (long a : held) {
                Pool.freeAddress(a, tag);
            }
            Pool.setLimits(PoolKind.PAGED, saved);
            Files.deleteIfExists(file);
        }
    }
}
