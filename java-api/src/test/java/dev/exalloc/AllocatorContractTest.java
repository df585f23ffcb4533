package dev.exalloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.parallel.Isolated;

/** {@link AllocatorContract} against every flavour of lookaside list, zone and pool scope. */
class AllocatorContractTest {

    private static final long LIST_BLOCK = 256;

    /** Any {@link BlockAllocator}, driven only through that interface. */
    abstract static class BlockFlavour implements AllocatorContract.Flavour {
        final BlockAllocator blocks;

        BlockFlavour(BlockAllocator blocks) {
            this.blocks = blocks;
        }

        @Override
        public MemorySegment allocate() {
            return blocks.allocate();
        }

        @Override
        public void free(MemorySegment block) {
            blocks.free(block);
        }

        @Override
        public long blockSize() {
            return blocks.blockSize();
        }
    }

    /** A lookaside list as the contract sees it; subclasses say what their mode can and cannot see. */
    abstract static class ListFlavour extends BlockFlavour {
        final Lookaside list;

        ListFlavour(Lookaside list) {
            super(list);
            this.list = list;
        }

        @Override
        public long outstanding() {
            return list.outstandingBlocks();
        }

        @Override
        public AllocatorContract.Flavour forThisThread() {
            return this;
        }

        @Override
        public void releaseThread() {
        }

        @Override
        public void endQuarantine() {
            list.endQuarantine();
        }

        @Override
        public void close() {
            list.close();
        }

        @Override
        public Class<? extends Throwable> doubleFree() {
            return InvalidBlockException.class;
        }

        @Override
        public Class<? extends Throwable> foreignNative() {
            return InvalidBlockException.class;
        }

        @Override
        public Class<? extends Throwable> allocateAfterClose() {
            return LookasideClosedException.class;
        }

        /** Checked lists: a block out at the close stays valid, and the list still takes it back (to the pool). */
        @Override
        public void afterClose(MemorySegment block, long pattern) {
            assertEquals(pattern, block.get(ValueLayout.JAVA_LONG, 0));
            list.free(block);
            assertThrows(LookasideClosedException.class, () -> list.free(block));
        }
    }

    @Nested
    class CheckedLookaside extends AllocatorContract {
        @Override
        protected Flavour open() {
            return new ListFlavour(Lookaside.builder(LIST_BLOCK).tag(Tag.of("CtLc")).build()) {
                @Override
                public String cannotDetect(String misuse) {
                    return null;
                }
            };
        }
    }

    @Nested
    class SharedSegmentsLookaside extends AllocatorContract {
        @Override
        protected Flavour open() {
            return new ListFlavour(Lookaside.builder(LIST_BLOCK).tag(Tag.of("CtLs")).sharedSegments().build()) {
                @Override
                public String cannotDetect(String misuse) {
                    return misuse.equals("USE_AFTER_FREE")
                            ? "shared segments have no scope of their own to end at the free (Builder.sharedSegments)"
                            : null;
                }
            };
        }
    }

    @Nested
    class UncheckedLookaside extends AllocatorContract {
        @Override
        protected Flavour open() {
            return new ListFlavour(Lookaside.builder(LIST_BLOCK).tag(Tag.of("CtLu")).unchecked().build()) {
                @Override
                public String cannotDetect(String misuse) {
                    return switch (misuse) {
                        case "DOUBLE_FREE", "FOREIGN", "WRONG_SIZE", "USE_AFTER_FREE" ->
                            "an unchecked list keeps no record of its blocks: misuse corrupts it as in C (Builder.unchecked)";
                        default -> null;
                    };
                }

                /** Unchecked: the list no longer knows the block; the caller gives it to the pool itself. */
                @Override
                public void afterClose(MemorySegment block, long pattern) {
                    assertEquals(pattern, block.get(ValueLayout.JAVA_LONG, 0));
                    assertThrows(LookasideClosedException.class, () -> list.free(block));
                    Pool.freeAddress(block.address());
                }
            };
        }
    }

    @Nested
    class LocalOfACheckedLookaside extends AllocatorContract {
        @Override
        protected Flavour open() {
            return new LocalFlavour(Lookaside.builder(LIST_BLOCK).tag(Tag.of("CtLl")).build());
        }
    }

    /** A LookasideLocal of a checked list: each thread uses its own Local of the one list. */
    static final class LocalFlavour extends BlockFlavour {
        final Lookaside list;
        final LookasideLocal local;
        final boolean owner;

        LocalFlavour(Lookaside list) {
            this(list, list.local(), true);
        }

        private LocalFlavour(Lookaside list, LookasideLocal local, boolean owner) {
            super(local);
            this.list = list;
            this.local = local;
            this.owner = owner;
        }

        @Override
        public long outstanding() {
            return list.outstandingBlocks();
        }

        @Override
        public AllocatorContract.Flavour forThisThread() {
            return new LocalFlavour(list, list.local(), false);
        }

        @Override
        public void releaseThread() {
            local.close();
        }

        @Override
        public void close() {
            local.close();
            if (owner) {
                list.close();
            }
        }

        @Override
        public String cannotDetect(String misuse) {
            return null;
        }

        @Override
        public Class<? extends Throwable> doubleFree() {
            return InvalidBlockException.class;
        }

        @Override
        public Class<? extends Throwable> foreignNative() {
            return InvalidBlockException.class;
        }

        /** A closed Local refuses every call. */
        @Override
        public Class<? extends Throwable> allocateAfterClose() {
            return IllegalStateException.class;
        }

        /** A block the Local handed out is the list's: valid after the close, and the closed list takes it back. */
        @Override
        public void afterClose(MemorySegment block, long pattern) {
            assertEquals(pattern, block.get(ValueLayout.JAVA_LONG, 0));
            assertThrows(IllegalStateException.class, () -> local.free(block));
            list.free(block);
        }
    }

    /** A zone as the contract sees it. */
    static class ZoneFlavour extends BlockFlavour {
        final Zone zone;

        ZoneFlavour(Zone zone) {
            super(zone);
            this.zone = zone;
        }

        @Override
        public long outstanding() {
            return zone.outstandingBlocks();
        }

        @Override
        public AllocatorContract.Flavour forThisThread() {
            return this;
        }

        @Override
        public void releaseThread() {
        }

        @Override
        public void close() {
            zone.close();
        }

        @Override
        public String cannotDetect(String misuse) {
            return null;
        }

        @Override
        public Class<? extends Throwable> doubleFree() {
            return InvalidBlockException.class;
        }

        @Override
        public Class<? extends Throwable> foreignNative() {
            return InvalidBlockException.class;
        }

        @Override
        public Class<? extends Throwable> allocateAfterClose() {
            return IllegalStateException.class;
        }

        /** The close returns the zone's segments with every block in them: blocks out become inaccessible. */
        @Override
        public void afterClose(MemorySegment block, long pattern) {
            assertThrows(IllegalStateException.class, () -> block.get(ValueLayout.JAVA_LONG, 0));
            assertThrows(IllegalStateException.class, () -> zone.free(block));
        }
    }

    @Nested
    class PlainZone extends AllocatorContract {
        @Override
        protected Flavour open() {
            return new ZoneFlavour(Zone.builder(64).pool(PoolType.PAGED, Tag.of("CtZp")).build()) {
                @Override
                public String cannotDetect(String misuse) {
                    return misuse.equals("THREADS")
                            ? "a plain zone is confined to the thread that built it (NT's is not synchronised); "
                                    + "the interlocked flavour runs this case"
                            : null;
                }
            };
        }
    }

    @Nested
    class InterlockedZone extends AllocatorContract {
        @Override
        protected Flavour open() {
            return new ZoneFlavour(Zone.builder(64).segmentSize(16384).pool(PoolType.PAGED, Tag.of("CtZi"))
                    .interlocked().build()) {
                @Override
                public String cannotDetect(String misuse) {
                    return misuse.equals("USE_AFTER_FREE")
                            ? "an interlocked zone's blocks are shared between threads and live until the zone closes"
                            : null;
                }
            };
        }
    }

    /** The pool with one {@link PoolScope} (process-wide: set at open, the default restored at close). */
    static final class PoolFlavour implements AllocatorContract.Flavour {
        static final long SIZE = 96;
        final PoolScope scope;
        final Tag tag;
        final long before;
        /** An instance with its own policy, or null for the static routines under the process-wide scope. */
        final PoolAllocator instance;

        PoolFlavour(PoolScope scope, Tag tag) {
            this(scope, tag, false);
        }

        PoolFlavour(PoolScope scope, Tag tag, boolean instance) {
            this.scope = scope;
            this.tag = tag;
            if (instance) {
                this.instance = Pool.builder().scope(scope).tag(tag).poolType(PoolType.PAGED).criticalCalls(true)
                        .build();
            } else {
                this.instance = null;
                Pool.setScope(scope);
            }
            this.before = Pool.tag(tag, PoolType.PAGED).diff();
        }

        @Override
        public MemorySegment allocate() {
            return instance != null ? instance.allocate(SIZE) : Pool.allocate(PoolType.PAGED, SIZE, tag);
        }

        @Override
        public void free(MemorySegment block) {
            if (instance != null) {
                instance.free(block, tag);
            } else {
                Pool.free(block, tag);
            }
        }

        @Override
        public long blockSize() {
            return SIZE;
        }

        /** PoolMon's count for the tag: allocations not yet freed. */
        @Override
        public long outstanding() {
            // shared blocks freed but quarantined until their epoch ends stay allocated in the pool
            return Pool.tag(tag, PoolKind.PAGED).diff() - before - dev.exalloc.internal.PoolScopes.quarantined(tag.value());
        }

        @Override
        public AllocatorContract.Flavour forThisThread() {
            return this;
        }

        @Override
        public void releaseThread() {
            Pool.endQuarantine(); // this thread's frees reach the pool's counts
        }

        @Override
        public void endQuarantine() {
            Pool.endQuarantine();
        }

        @Override
        public void close() {
            if (instance == null) {
                Pool.setScope(PoolScope.CONFINED);
            }
        }

        @Override
        public String cannotDetect(String misuse) {
            return switch (misuse) {
                case "WRONG_SIZE" -> "pool blocks have no fixed size: a free goes by address, and the pool knows each "
                        + "block's size";
                case "CLOSE" -> "the pool lives as long as the process: there is nothing to close";
                case "USE_AFTER_FREE" -> scope == PoolScope.GLOBAL
                        ? "GLOBAL segments have the global scope: after the free, as with C's pointers, a use is the "
                                + "caller's bug"
                        : scope == PoolScope.SHARED
                                ? "SHARED segments live in epochs: a freed block is quarantined (refused as freed, "
                                        + "never reused) and its segment dies when its epoch ends, not at its free"
                                : null;
                default -> null;
            };
        }

        /** Checked scopes refuse in Java (the segment's scope is closed); GLOBAL's reaches the native check. */
        @Override
        public Class<? extends Throwable> doubleFree() {
            return scope == PoolScope.GLOBAL ? BugCheckError.class : InvalidBlockException.class;
        }

        /** An address in none of the pool's segments: the native pool's check, bug check 0xC2. */
        @Override
        public Class<? extends Throwable> foreignNative() {
            return BugCheckError.class;
        }

        @Override
        public Class<? extends Throwable> allocateAfterClose() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void afterClose(MemorySegment block, long pattern) {
            throw new UnsupportedOperationException();
        }
    }

    @Nested
    @Isolated // sets the process-wide pool scope
    class PoolGlobalScope extends AllocatorContract {
        @Override
        protected Flavour open() {
            return new PoolFlavour(PoolScope.GLOBAL, Tag.of("CtPg"));
        }
    }

    @Nested
    @Isolated // sets the process-wide pool scope
    class PoolSharedScope extends AllocatorContract {
        @Override
        protected Flavour open() {
            return new PoolFlavour(PoolScope.SHARED, Tag.of("CtPs"));
        }
    }

    @Nested
    @Isolated // sets the process-wide pool scope
    class PoolConfinedScope extends AllocatorContract {
        @Override
        protected Flavour open() {
            return new PoolFlavour(PoolScope.CONFINED, Tag.of("CtPc"));
        }
    }

    @Nested
    class PoolInstanceConfined extends AllocatorContract {
        @Override
        protected Flavour open() {
            return new PoolFlavour(PoolScope.CONFINED, Tag.of("CtIc"), true);
        }
    }

    @Nested
    class PoolInstanceShared extends AllocatorContract {
        @Override
        protected Flavour open() {
            return new PoolFlavour(PoolScope.SHARED, Tag.of("CtIs"), true);
        }
    }
}
