package org.consultbridge.loadtest;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAdder;

/** Everything the simulated participants measure, summed over all of them; drained once per window. */
final class Metrics {

    /** Added latency of streams between participants on clean links (the objectives apply to these). */
    final LatencyHistogram latency = new LatencyHistogram();
    final LongAdder packetsSent = new LongAdder();
    final LongAdder bytesSent = new LongAdder();
    final LongAdder packetsReceived = new LongAdder();
    /** Packets expected from sequence numbers of received streams (received + lost). */
    final LongAdder packetsExpected = new LongAdder();
    /** The same for streams with an impaired participant at either end: reported apart. */
    final LatencyHistogram impairedLatency = new LatencyHistogram();
    final LongAdder impairedPacketsReceived = new LongAdder();
    final LongAdder impairedPacketsExpected = new LongAdder();
    /** Datagrams the emulated links dropped (loss, full queue), both directions. */
    final LongAdder linkDropped = new LongAdder();
    /** Video frames received, and those of the sender's top simulcast layer. */
    final LongAdder videoFrames = new LongAdder();
    final LongAdder videoFramesTopLayer = new LongAdder();
    // the feedback the receivers sent, and what came back
    final LongAdder nacksSent = new LongAdder();
    final LongAdder plisSent = new LongAdder();
    final LongAdder transportCcSent = new LongAdder();
    final LongAdder reportsSent = new LongAdder();
    final LongAdder rtxReceived = new LongAdder();
    final LongAdder recovered = new LongAdder();
    final LongAdder paddingReceived = new LongAdder();
    /** PLIs the server sent to our publishers. */
    final LongAdder plisReceived = new LongAdder();
    final LongAdder malformed = new LongAdder();
    final LongAdder failures = new LongAdder();
    /** The first reasons of failures, for the report (bounded). */
    final ConcurrentLinkedQueue<String> failureReasons = new ConcurrentLinkedQueue<>();
    /** Milliseconds from starting to join until the first media packet arrived from another participant. */
    final ConcurrentLinkedQueue<Long> joinMillis = new ConcurrentLinkedQueue<>();
    /** Milliseconds from starting to join until the first video frame (keyframe) arrived. */
    final ConcurrentLinkedQueue<Long> firstFrameMillis = new ConcurrentLinkedQueue<>();
    /** Participants the server refused while joining, by error or close code (cumulative over the run). */
    private final Map<String, LongAdder> refusals = new ConcurrentHashMap<>();
    /** Participants whose signalling the server closed after they joined, by close code. */
    private final Map<String, LongAdder> drops = new ConcurrentHashMap<>();
    /** Error replies to joined participants' requests, by code. */
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private static final int MAX_CODES = 50;

    void countRefusal(String code) {
        add(refusals, code);
    }

    void countDrop(String code) {
        add(drops, code);
    }

    void countError(String code) {
        add(errors, code);
    }

    /** Bounded: a server that sends ever new codes cannot grow the map without end. */
    private static void add(Map<String, LongAdder> m, String code) {
        String key = m.size() >= MAX_CODES && !m.containsKey(code) ? "other" : abbreviate(code);
        m.computeIfAbsent(key, k -> new LongAdder()).increment();
    }

    private static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }

    Map<String, Long> refusals() {
        return snapshot(refusals);
    }

    Map<String, Long> drops() {
        return snapshot(drops);
    }

    Map<String, Long> errors() {
        return snapshot(errors);
    }

    private static Map<String, Long> snapshot(Map<String, LongAdder> m) {
        Map<String, Long> s = new TreeMap<>();
        m.forEach((k, v) -> s.put(k, v.sum()));
        return s;
    }

    void clearCodes() {
        refusals.clear();
        drops.clear();
        errors.clear();
    }
}
