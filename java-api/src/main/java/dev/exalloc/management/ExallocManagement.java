package dev.exalloc.management;

import dev.exalloc.Lookaside;
import dev.exalloc.LookasideStats;
import dev.exalloc.Pool;
import dev.exalloc.PoolCondition;
import dev.exalloc.PoolKind;
import dev.exalloc.PoolLimits;
import dev.exalloc.PoolStats;
import dev.exalloc.PoolTagStats;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

/**
 * exalloc's MXBeans on the platform MBean server, registered by {@link #register()}, or, when the system property
 * {@value #PROPERTY} is true, when the pool or a lookaside list is first used:
 * <ul>
 * <li>{@code dev.exalloc:type=Pool,name=NonPaged} and {@code name=Paged}: {@link PoolMXBean}</li>
 * <li>{@code dev.exalloc:type=Tags}: {@link TagsMXBean}, PoolMon's rows</li>
 * <li>{@code dev.exalloc:type=Lookaside,name=<tag>#<id>}: {@link LookasideMXBean}, one per live list; lists
 * created or deleted later are picked up by {@link #refresh()} (which {@link #register()} also calls)</li>
 * </ul>
 * Attributes are read from the native snapshots on every access.
 *
 * <p>This package needs the module java.management, which {@code dev.exalloc} requires only statically (code that
 * never touches this package runs without it): on the module path, a module that uses this package reads it
 * ({@code requires java.management}, as any code that handles {@link ObjectName}s does) or the launcher adds it
 * ({@code --add-modules java.management}). On the class path every JDK module is there.
 *
 * <pre>{@code
 * ExallocManagement.register();        // the MXBeans, under dev.exalloc:*
 * ObjectName paged = ExallocManagement.poolName(PoolKind.PAGED);
 * }</pre>
 */
public final class ExallocManagement {

    private ExallocManagement() {
    }

    /** The domain of every exalloc ObjectName. */
    public static final String DOMAIN = "dev.exalloc";

    /** System property: true registers the MXBeans when the pool or a lookaside list is first used. */
    public static final String PROPERTY = "exalloc.management";

    private static final Set<ObjectName> LOOKASIDES = new HashSet<>(); // guarded by the class

    /**
     * The ObjectName of a pool's bean.
     *
     * @param pool the pool
     * @return {@code dev.exalloc:type=Pool,name=NonPaged} or {@code name=Paged}
     */
    @SuppressWarnings("exports") // java.management: see the class comment
    public static ObjectName poolName(PoolKind pool) {
        return name("type=Pool,name=" + (pool == PoolKind.NON_PAGED ? "NonPaged" : "Paged"));
    }

    /**
     * The ObjectName of the PoolMon table's bean.
     *
     * @return {@code dev.exalloc:type=Tags}
     */
    @SuppressWarnings("exports") // java.management: see the class comment
    public static ObjectName tagsName() {
        return name("type=Tags");
    }

    /**
     * The ObjectName of a lookaside list's bean: its tag (quoted) and id.
     *
     * @param list the list's statistics (their tag and id)
     * @return {@code dev.exalloc:type=Lookaside,name=<tag>#<id>}
     */
    @SuppressWarnings("exports") // java.management: see the class comment
    public static ObjectName lookasideName(LookasideStats list) {
        return name("type=Lookaside,name=" + ObjectName.quote(list.tag() + "#" + list.id()));
    }

    private static ObjectName name(String properties) {
        try {
            return new ObjectName(DOMAIN + ":" + properties);
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** Registers the pool and tag beans (once) and a bean per live lookaside list; idempotent. */
    public static synchronized void register() {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        for (PoolKind kind : PoolKind.values()) {
            registerIfAbsent(server, new PoolBean(kind), poolName(kind));
        }
        registerIfAbsent(server, new TagsBean(), tagsName());
        refresh();
    }

    /** Registers beans for lookaside lists created since, unregisters those of deleted lists. */
    public static synchronized void refresh() {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        Set<ObjectName> live = new HashSet<>();
        for (LookasideStats s : Lookaside.all()) {
            ObjectName n = lookasideName(s);
            live.add(n);
            if (LOOKASIDES.add(n)) {
                registerIfAbsent(server, new LookasideBean(s.id(), s.tag().toString()), n);
            }
        }
        for (ObjectName n : new ArrayList<>(LOOKASIDES)) {
            if (!live.contains(n)) {
                LOOKASIDES.remove(n);
                unregister(server, n);
            }
        }
    }

    /** Unregisters every exalloc bean. */
    public static synchronized void unregister() {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        for (PoolKind kind : PoolKind.values()) {
            unregister(server, poolName(kind));
        }
        unregister(server, tagsName());
        for (ObjectName n : LOOKASIDES) {
            unregister(server, n);
        }
        LOOKASIDES.clear();
    }

    private static void registerIfAbsent(MBeanServer server, Object bean, ObjectName name) {
        try {
            server.registerMBean(bean, name);
        } catch (InstanceAlreadyExistsException e) {
            // registered already
        } catch (JMException e) {
            throw new IllegalStateException("cannot register " + name, e);
        }
    }

    private static void unregister(MBeanServer server, ObjectName name) {
        try {
            server.unregisterMBean(name);
        } catch (InstanceNotFoundException e) {
            // gone already
        } catch (JMException e) {
            throw new IllegalStateException("cannot unregister " + name, e);
        }
    }

    private static final class PoolBean implements PoolMXBean {
        private final PoolKind kind;

        PoolBean(PoolKind kind) {
            this.kind = kind;
        }

        private PoolStats stats() {
            return Pool.stats(kind);
        }

        private PoolLimits limits() {
            return Pool.limits(kind);
        }

        @Override
        public String getPool() {
            return kind.name();
        }

        @Override
        public String[] getCondition() {
            return Pool.condition(kind).stream().map(PoolCondition::name).sorted().toArray(String[]::new);
        }

        @Override
        public long getCapacity() {
            return stats().capacity();
        }

        @Override
        public long getInUse() {
            return stats().inUse();
        }

        @Override
        public long getPeak() {
            return stats().peak();
        }

        @Override
        public long getAvailable() {
            return stats().available();
        }

        @Override
        public long getSmallPages() {
            return stats().smallPages();
        }

        @Override
        public long getBigPages() {
            return stats().bigPages();
        }

        @Override
        public long getBigAllocations() {
            return stats().bigAllocations();
        }

        @Override
        public long getMapped() {
            return stats().mapped();
        }

        @Override
        public long getCached() {
            return stats().cached();
        }

        @Override
        public long getLocked() {
            return stats().locked();
        }

        @Override
        public long getLockFailures() {
            return stats().lockFailures();
        }

        @Override
        public int getConditionChanges() {
            return stats().conditionChanges();
        }

        @Override
        public long getLowWatermark() {
            return limits().lowWatermark();
        }

        @Override
        public long getLowClear() {
            return limits().lowClear();
        }

        @Override
        public long getHighClear() {
            return limits().highClear();
        }

        @Override
        public long getHighWatermark() {
            return limits().highWatermark();
        }

        @Override
        public long getCriticalWatermark() {
            return limits().criticalWatermark();
        }

        @Override
        public long getMustSucceedReserve() {
            return limits().mustSucceedReserve();
        }

        @Override
        public String getLockPolicy() {
            return limits().lockPolicy().name();
        }
    }

    private static final class TagsBean implements TagsMXBean {
        @Override
        public List<TagRow> getRows() {
            List<TagRow> rows = new ArrayList<>();
            for (PoolTagStats s : Pool.tags()) {
                rows.add(new TagRow(s.tag().toString(), s.pool().poolMonName(), s.allocs(), s.frees(), s.diff(),
                        s.bytes(), s.bytesPerAlloc()));
            }
            rows.sort(Comparator.comparingLong(TagRow::bytes).reversed());
            return rows;
        }

        @Override
        public int getTagCount() {
            return Pool.tags().size();
        }

        @Override
        public long getTotalBytes() {
            long total = 0;
            for (PoolTagStats s : Pool.tags()) {
                total += s.bytes();
            }
            return total;
        }
    }

    private static final class LookasideBean implements LookasideMXBean {
        private final long id;
        private final String tag;

        LookasideBean(long id, String tag) {
            this.id = id;
            this.tag = tag;
        }

        private LookasideStats row() {
            for (LookasideStats s : Lookaside.all()) {
                if (s.id() == id) {
                    return s;
                }
            }
            return null;
        }

        @Override
        public long getId() {
            return id;
        }

        @Override
        public String getTag() {
            return tag;
        }

        @Override
        public boolean isLive() {
            return row() != null;
        }

        @Override
        public long getSize() {
            LookasideStats s = row();
            return s == null ? 0 : s.size();
        }

        @Override
        public String getPoolType() {
            LookasideStats s = row();
            return s == null || s.poolType() == null ? "" : s.poolType().name();
        }

        @Override
        public long getTotalAllocates() {
            LookasideStats s = row();
            return s == null ? 0 : s.totalAllocates();
        }

        @Override
        public long getAllocateMisses() {
            LookasideStats s = row();
            return s == null ? 0 : s.allocateMisses();
        }

        @Override
        public long getTotalFrees() {
            LookasideStats s = row();
            return s == null ? 0 : s.totalFrees();
        }

        @Override
        public long getFreeMisses() {
            LookasideStats s = row();
            return s == null ? 0 : s.freeMisses();
        }

        @Override
        public int getCurrentDepth() {
            LookasideStats s = row();
            return s == null ? 0 : s.currentDepth();
        }

        @Override
        public int getDepth() {
            LookasideStats s = row();
            return s == null ? 0 : s.depth();
        }

        @Override
        public int getMaximumDepth() {
            LookasideStats s = row();
            return s == null ? 0 : s.maximumDepth();
        }

        @Override
        public int getThreadCaches() {
            LookasideStats s = row();
            return s == null ? 0 : s.threadCaches();
        }

        @Override
        public double getAllocateHitRate() {
            LookasideStats s = row();
            return s == null ? 1.0 : s.allocateHitRate();
        }

        @Override
        public double getFreeHitRate() {
            LookasideStats s = row();
            return s == null ? 1.0 : s.freeHitRate();
        }
    }
}
