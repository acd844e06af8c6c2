package org.consultbridge.loadtest;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAdder;

/** Everything the simulated participants measure, summed over all of them; drained once per window. */
final class Metrics {

    final LatencyHistogram latency = new LatencyHistogram();
    final LongAdder packetsSent = new LongAdder();
    final LongAdder bytesSent = new LongAdder();
    final LongAdder packetsReceived = new LongAdder();
    /** Packets expected from sequence numbers of received streams (received + lost). */
    final LongAdder packetsExpected = new LongAdder();
    final LongAdder nacksSent = new LongAdder();
    final LongAdder plisReceived = new LongAdder();
    final LongAdder malformed = new LongAdder();
    final LongAdder failures = new LongAdder();
    /** The first reasons of failures, for the report (bounded). */
    final ConcurrentLinkedQueue<String> failureReasons = new ConcurrentLinkedQueue<>();
    /** Milliseconds from starting to join until the first media packet arrived from another participant. */
    final ConcurrentLinkedQueue<Long> joinMillis = new ConcurrentLinkedQueue<>();
    /** Milliseconds from starting to join until the first video frame (keyframe) arrived. */
    final ConcurrentLinkedQueue<Long> firstFrameMillis = new ConcurrentLinkedQueue<>();
}
