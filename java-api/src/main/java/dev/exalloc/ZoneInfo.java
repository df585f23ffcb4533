package dev.exalloc;

/**
 * A zone's shape.
 *
 * <pre>{@code
 * ZoneInfo info = zone.info();
 * int blocks = info.blockCount();
 * }</pre>
 *
 * @param blockSize        ZONE_HEADER.BlockSize: bytes per block (a multiple of 8)
 * @param totalSegmentSize ZONE_HEADER.TotalSegmentSize: bytes of all segments that blocks were carved from,
 *                         segment headers included
 * @param segmentCount     the initial segment and every extension
 * @param blockCount       blocks carved from all segments, free or handed out
 */
public record ZoneInfo(int blockSize, int totalSegmentSize, int segmentCount, int blockCount) {
}
