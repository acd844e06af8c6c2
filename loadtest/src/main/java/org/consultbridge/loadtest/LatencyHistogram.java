package org.consultbridge.loadtest;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Latencies in 0.1 ms buckets up to 2 s (beyond: one overflow bucket). Lock-free recording from any thread;
 * percentiles read from a snapshot. Written here because a fixed-bucket counter is all a load report needs.
 */
final class LatencyHistogram {

    static final int BUCKETS = 20_000;
    private static final long BUCKET_NANOS = 100_000;
    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS + 1);

    void record(long nanos) {
        int b = (int) Math.min(BUCKETS, Math.max(0, nanos / BUCKET_NANOS));
        counts.incrementAndGet(b);
    }

    /** Copies the counts and resets them (one measurement window). */
    long[] drain() {
        long[] c = new long[BUCKETS + 1];
        for (int i = 0; i <= BUCKETS; i++) {
            c[i] = counts.getAndSet(i, 0);
        }
        return c;
    }

    static long count(long[] c) {
        long n = 0;
        for (long v : c) {
            n += v;
        }
        return n;
    }

    /** Value in milliseconds below which fraction {@code p} of the samples lie (upper edge of the bucket). */
    static double percentileMillis(long[] c, double p) {
        long n = count(c);
        if (n == 0) {
            return Double.NaN;
        }
        long rank = (long) Math.ceil(p * n);
        long seen = 0;
        for (int i = 0; i < c.length; i++) {
            seen += c[i];
            if (seen >= rank) {
                return (i + 1) * BUCKET_NANOS / 1e6;
            }
        }
        return BUCKETS * BUCKET_NANOS / 1e6;
    }
}
