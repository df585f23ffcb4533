package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import jdk.jfr.Recording;
import org.junit.jupiter.api.Test;

/** Unclosed lists and accounts that become unreachable are reclaimed by the cleaner, with a warning and an event. */
class ReclaimTest {

    /** Makes a list, uses it on this thread (so the thread holds its per-thread part), and drops it. */
    private static long abandonedList(Tag tag) {
        Lookaside list = Lookaside.builder(96).tag(tag).build();
        MemorySegment b = list.allocate();
        list.free(b);
        list.free(list.allocate()); // a cached block for the delete to give back
        return list.stats().id();
    }

    private static boolean listed(long id) {
        return Lookaside.all().stream().anyMatch(s -> s.id() == id);
    }

    @Test
    void anUnclosedListIsDeletedOnceUnreachable() throws Exception {
        Tag tag = Tag.of("RcLs");
        try (Recording r = new Recording()) {
            r.enable("dev.exalloc.Reclaimed");
            r.start();
            long reclaimed = Reclaimer.LISTS.get();
            long id = abandonedList(tag);
            assertTrue(listed(id));
            for (int i = 0; i < 200 && listed(id); i++) {
                System.gc();
                Thread.sleep(25);
            }
            assertFalse(listed(id), "the native list was deleted");
            assertTrue(Reclaimer.LISTS.get() > reclaimed);
            r.stop();
            java.nio.file.Path f = java.nio.file.Files.createTempFile("reclaim", ".jfr");
            try {
                r.dump(f);
                List<RecordedEvent> events = RecordingFile.readAllEvents(f);
                assertTrue(events.stream().anyMatch(e -> e.getEventType().getName().equals("dev.exalloc.Reclaimed")
                        && e.getString("name").contains(tag.toString())), events.toString());
            } finally {
                java.nio.file.Files.deleteIfExists(f);
            }
        }
    }

    /** A list closed explicitly leaves nothing to the cleaner (no event names it, however often the GC runs). */
    @Test
    void aClosedListIsNotReportedAgain() throws Exception {
        Tag tag = Tag.of("RcCl");
        try (Recording r = new Recording()) {
            r.enable("dev.exalloc.Reclaimed");
            r.start();
            Lookaside list = Lookaside.builder(64).tag(tag).build();
            long id = list.stats().id();
            list.close();
            list = null;
            for (int i = 0; i < 10; i++) {
                System.gc();
                Thread.sleep(10);
            }
            assertFalse(listed(id));
            r.stop();
            java.nio.file.Path f = java.nio.file.Files.createTempFile("reclaim", ".jfr");
            try {
                r.dump(f);
                assertTrue(RecordingFile.readAllEvents(f).stream().noneMatch(e -> e.getEventType().getName()
                        .equals("dev.exalloc.Reclaimed") && e.getString("name").contains(tag.toString())));
            } finally {
                java.nio.file.Files.deleteIfExists(f);
            }
        }
    }

    private static long abandonedAccount() {
        QuotaAccount a = QuotaAccount.create(0, 0);
        MemorySegment b = a.callCharged(() -> Pool.allocateWithQuota(PoolType.PAGED, 64, Tag.of("RcAc")));
        Pool.free(b);
        return a.id();
    }

    @Test
    void anUnclosedAccountIsClosedOnceUnreachable() throws Exception {
        long reclaimed = Reclaimer.ACCOUNTS.get();
        abandonedAccount();
        for (int i = 0; i < 200 && Reclaimer.ACCOUNTS.get() == reclaimed; i++) {
            System.gc();
            Thread.sleep(25);
        }
        assertTrue(Reclaimer.ACCOUNTS.get() > reclaimed, "the cleaner closed the account");
    }
}
