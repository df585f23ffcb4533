package dev.exalloc.bench;

/**
 * The fixed-seed operation sequence of the mixed-size pattern, identical to bench/native/bench_native.c's
 * {@code mix_init} (the same xorshift64* generator, seed and arithmetic, so C and Java make the same requests):
 * {@link #LENGTH} operations, each "free the block in slot {@link #SLOT}[i] of a {@link #WINDOW}-block window,
 * then allocate {@link #SIZE}[i] bytes into it". Sizes: a power-of-two class with upper bound 16..1024 chosen
 * uniformly, then a size uniform within the class (16; 17..32; 33..64; ...; 513..1024).
 */
final class MixedSizes {

    private MixedSizes() {
    }

    static final int WINDOW = 64;
    static final int LENGTH = 1 << 16;
    static final int[] SIZE = new int[LENGTH];
    static final int[] SLOT = new int[LENGTH];

    static {
        long x = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < LENGTH; i++) {
            long[] r = new long[3];
            for (int k = 0; k < 3; k++) {
                x ^= x >>> 12;
                x ^= x << 25;
                x ^= x >>> 27;
                r[k] = (x * 0x2545F4914F6CDD1DL) >>> 32; // uint32 in a long
            }
            long hi = 16L << (r[0] % 7);
            long lo = hi == 16 ? 16 : hi / 2 + 1;
            SIZE[i] = (int) (lo + r[1] % (hi - lo + 1));
            SLOT[i] = (int) (r[2] % WINDOW);
        }
    }

    /** The size a window slot is filled with before the first operation (bench_native.c's mix_fill). */
    static int initialSize(int slot) {
        return SIZE[LENGTH - WINDOW + slot];
    }
}
