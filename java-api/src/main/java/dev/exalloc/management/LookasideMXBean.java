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

    /**
     * The list's id, unique for the life of the process.
     *
     * @return the id
     */
    long getId();

    /**
     * NT Tag.
     *
     * @return the tag
     */
    String getTag();

    /**
     * Whether the list still exists.
     *
     * @return false once the list was deleted
     */
    boolean isLive();

    /**
     * NT Size: the block size in bytes.
     *
     * @return the block size
     */
    long getSize();

    /**
     * NT Type, by name.
     *
     * @return the pool type's name
     */
    String getPoolType();

    /**
     * NT TotalAllocates: every allocate call.
     *
     * @return the count
     */
    long getTotalAllocates();

    /**
     * NT AllocateMisses: allocates that called the allocator.
     *
     * @return the count
     */
    long getAllocateMisses();

    /**
     * NT TotalFrees: every free call.
     *
     * @return the count
     */
    long getTotalFrees();

    /**
     * NT FreeMisses: frees that went to the releaser.
     *
     * @return the count
     */
    long getFreeMisses();

    /**
     * Blocks cached now.
     *
     * @return the number of cached blocks
     */
    int getCurrentDepth();

    /**
     * NT Depth: the bound on the cached blocks.
     *
     * @return the depth
     */
    int getDepth();

    /**
     * NT MaximumDepth: the bound on Depth.
     *
     * @return the maximum depth
     */
    int getMaximumDepth();

    /**
     * Threads holding a private cache for the list.
     *
     * @return the number of threads
     */
    int getThreadCaches();

    /**
     * Allocates served from the cache, as a fraction.
     *
     * @return 0.0 to 1.0
     */
    double getAllocateHitRate();

    /**
     * Frees kept in the cache, as a fraction.
     *
     * @return 0.0 to 1.0
     */
    double getFreeHitRate();
}
