package dev.exalloc.management;

/**
 * One PoolMon row as an MXBean composite (a {@link dev.exalloc.PoolTagStats} with the tag and pool as text).
 *
 * <pre>{@code
 * for (TagRow row : JMX.newMXBeanProxy(server, ExallocManagement.tagsName(), TagsMXBean.class).getRows()) {
 *     System.out.println(row.tag() + " " + row.bytes());
 * }
 * }</pre>
 *
 * @param tag           the tag's four characters
 * @param pool          PoolMon's pool column ("Nonp" / "Paged")
 * @param allocs        allocations so far
 * @param frees         frees so far
 * @param diff          allocs - frees
 * @param bytes         bytes outstanding
 * @param bytesPerAlloc bytes / diff
 */
public record TagRow(String tag, String pool, long allocs, long frees, long diff, long bytes, long bytesPerAlloc) {
}
