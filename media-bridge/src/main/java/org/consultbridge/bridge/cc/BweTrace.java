package org.consultbridge.bridge.cc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPOutputStream;

/**
 * Records what a {@link SendSideBandwidthEstimator} is fed (packets sent, transport-cc feedback received, the
 * application-limited flag), so that a real call over an emulated link can be replayed against the estimator in a
 * unit test. A diagnostic: off unless the system property {@value #PROPERTY} names a directory; then each
 * estimator's trace is kept in memory (bounded by {@link #MAX_EVENTS}) and written by a background thread when
 * {@link #finish()} is called, never on the event loop.
 *
 * <p>One event per line: {@code s <nanos> <seq> <bytes> <probe 0|1>}, {@code f <nanos> <hex of the RTCP packet>},
 * {@code a <nanos> <0|1>}, {@code p <nanos>} (a probe cluster starts), and {@code m <nanos> <label>} for markers (e.g. a link profile change).
 */
public final class BweTrace {

    public static final String PROPERTY = "consultbridge.bwe.trace-dir";
    public static final int MAX_EVENTS = 2_000_000;

    private static final Set<BweTrace> ACTIVE = ConcurrentHashMap.newKeySet();

    private final Path file;
    private final List<String> events = new ArrayList<>();

    private BweTrace(Path file) {
        this.file = file;
    }

    /** A trace for {@code name}, or null when tracing is off. */
    public static BweTrace forName(String name) {
        String dir = System.getProperty(PROPERTY);
        if (dir == null || dir.isBlank()) {
            return null;
        }
        BweTrace t = new BweTrace(Path.of(dir, name.replaceAll("[^A-Za-z0-9_.-]", "_") + ".trace.gz"));
        ACTIVE.add(t);
        return t;
    }

    /** Adds a marker line to every trace being recorded. */
    public static void markAll(String label, long nanos) {
        for (BweTrace t : ACTIVE) {
            t.add("m " + nanos + " " + label.replace(' ', '_'));
        }
    }

    synchronized void sent(long nanos, int seq, int bytes, boolean probe) {
        add("s " + nanos + " " + seq + " " + bytes + " " + (probe ? 1 : 0));
    }

    synchronized void feedback(ByteBuf buf, int offset, long nanos) {
        int len = Math.min(buf.writerIndex() - offset, 4 * (buf.getUnsignedShort(offset + 2) + 1));
        add("f " + nanos + " " + ByteBufUtil.hexDump(buf, offset, Math.max(0, len)));
    }

    synchronized void probeCluster(long nanos) {
        add("p " + nanos);
    }

    synchronized void applicationLimited(long nanos, boolean limited) {
        add("a " + nanos + " " + (limited ? 1 : 0));
    }

    private synchronized void add(String line) {
        if (events.size() < MAX_EVENTS) {
            events.add(line);
        }
    }

    /** Writes the trace from a background thread and stops recording. */
    public void finish() {
        ACTIVE.remove(this);
        List<String> copy;
        synchronized (this) {
            copy = List.copyOf(events);
            events.clear();
        }
        Thread.ofVirtual().start(() -> write(file, copy));
    }

    private static void write(Path file, List<String> lines) {
        try {
            Files.createDirectories(file.getParent());
            try (Writer w = new java.io.OutputStreamWriter(new GZIPOutputStream(Files.newOutputStream(file)),
                    StandardCharsets.US_ASCII)) {
                for (String l : lines) {
                    w.write(l);
                    w.write('\n');
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
