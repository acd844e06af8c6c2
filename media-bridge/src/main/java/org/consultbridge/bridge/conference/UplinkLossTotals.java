package org.consultbridge.bridge.conference;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Per-endpoint uplink counters (packets expected, packets lost) that only grow, built from its streams' own
 * cumulative counters. Summing those counters directly (as the snapshot once did) breaks when the set of streams
 * changes or one restarts: a simulcast layer that starts late, a stream re-bound to a new SSRC, a producer that goes
 * away. The caller's loss between two snapshots then mixed one stream's history into another's interval. Here each
 * stream contributes only what it grew by since the previous collection; a stream whose counters went back (it
 * restarted) contributes from zero. Event loop only (called from {@link QualitySnapshots}).
 */
final class UplinkLossTotals {

    private Map<Object, long[]> streams = new IdentityHashMap<>();
    private Map<Object, long[]> nextStreams = new IdentityHashMap<>();
    private Map<Object, long[]> endpoints = new IdentityHashMap<>();
    private Map<Object, long[]> nextEndpoints = new IdentityHashMap<>();

    /** The totals {expected, lost} of {@code endpoint}, kept for the next collection; add its streams to them. */
    long[] endpoint(Object endpoint) {
        long[] t = endpoints.get(endpoint);
        if (t == null) {
            t = new long[2];
        }
        nextEndpoints.put(endpoint, t);
        return t;
    }

    /** Adds what one stream's cumulative counters grew by since the previous collection to {@code totals}. */
    void stream(long[] totals, Object stream, long expected, long lost) {
        long[] before = streams.get(stream);
        long grownExpected;
        long lostBase;
        if (before == null || expected < before[0]) {
            grownExpected = expected;
            lostBase = 0;
        } else {
            grownExpected = expected - before[0];
            lostBase = before[1];
        }
        // a late packet lowers a stream's loss again: count loss only beyond the highest seen, never more than the
        // packets expected in the same interval
        long grownLost = Math.max(0, Math.min(grownExpected, lost - lostBase));
        totals[0] += grownExpected;
        totals[1] += grownLost;
        nextStreams.put(stream, new long[] {expected, Math.max(lostBase, lost)});
    }

    /** Ends a collection: streams and endpoints not seen in it are forgotten. */
    void finish() {
        Map<Object, long[]> s = streams;
        streams = nextStreams;
        nextStreams = s;
        nextStreams.clear();
        Map<Object, long[]> e = endpoints;
        endpoints = nextEndpoints;
        nextEndpoints = e;
        nextEndpoints.clear();
    }
}
