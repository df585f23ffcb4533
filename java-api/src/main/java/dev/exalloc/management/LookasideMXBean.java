package dev.exalloc.management;

/**
 * One live lookaside list ({@code dev.exalloc:type=Lookaside,name=<tag>#<id>}): its row of
 * {@link dev.exalloc.Lookaside#all()} (exa_lookaside_enumerate). After the list is deleted the attributes read
 * {@code live == false} and zeroes until {@link ExallocManagement#refresh()} unregisters the bean.
 *
 * <pre>{@code
 * LookasideMXBean m = JMX.newMXBeanProxy(server, ExallocManagement.lookasideName(stats), LookasideMXBean.class);
 * long allocates = m.getTotalAllocates();
 * }</pre>
 */
public interface LookasideMXBean {

    long getId();

    String getTag();

    boolean isLive();

    long getSize();

    String getPoolType();

    long getTotalAllocates();

    long getAllocateMisses();

    long getTotalFrees();

    long getFreeMisses();

    int getCurrentDepth();

    int getDepth();

    int getMaximumDepth();

    int getThreadCaches();

    double getAllocateHitRate();

    double getFreeHitRate();
}
