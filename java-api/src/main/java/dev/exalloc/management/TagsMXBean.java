package dev.exalloc.management;

import java.util.List;

/**
 * PoolMon's table ({@code dev.exalloc:type=Tags}): {@link dev.exalloc.Pool#tags}, sorted by bytes, largest first.
 *
 * <pre>{@code
 * TagsMXBean tags = JMX.newMXBeanProxy(server, ExallocManagement.tagsName(), TagsMXBean.class);
 * List<TagRow> rows = tags.getRows();
 * }</pre>
 */
public interface TagsMXBean {

    /**
     * PoolMon's rows, largest first.
     *
     * @return one row per tag and pool
     */
    List<TagRow> getRows();

    /**
     * Rows in the table.
     *
     * @return the number of rows
     */
    int getTagCount();

    /**
     * Sum of the rows' bytes.
     *
     * @return the total bytes
     */
    long getTotalBytes();
}
