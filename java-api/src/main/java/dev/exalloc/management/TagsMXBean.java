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

    List<TagRow> getRows();

    /** Rows in the table. */
    int getTagCount();

    /** Sum of the rows' bytes. */
    long getTotalBytes();
}
