package org.consultbridge.bridge.cc;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;

/**
 * Receive side of transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01): records
 * the arrival time of every packet of one transport by its transport-wide sequence number and writes feedback
 * (RTPFB FMT 15) covering everything since the previous feedback. One per publish transport; event loop only.
 *
 * <p>Call {@link #writeFeedback} every {@value #RECOMMENDED_INTERVAL_MS} ms. libwebrtc's receiver sends every 50 to
 * 250 ms, aiming at about 5 % of the bitrate; 50 ms costs roughly 30-60 bytes every 50 ms at video rates (under
 * 10 kbit/s) and keeps the sender's delay-based detector responsive. Late packets (older than what the previous
 * feedback covered) were already reported lost and are not reported again.
 */
public final class TransportCcReceiver {

    public static final int RECOMMENDED_INTERVAL_MS = 50;
    /** Largest unreported range: a packet further ahead (a gap of thousands) restarts the window from itself. */
    public static final int WINDOW = 2048;
    private static final int RING = 4096;

    private final long[] arrivalUs = new long[RING];
    private final int maxPacketBytes;
    private final TransportCcFeedback.Writer writer = new TransportCcFeedback.Writer();
    private final TransportCcFeedback.Arrivals ring = seq -> arrivalUs[(int) (seq & (RING - 1))];

    private boolean started;
    /** Highest unwrapped sequence number received. */
    private long highest;
    /** First unwrapped sequence number not yet covered by feedback. */
    private long nextToReport;
    private int feedbackCount;

    private long packets;
    private long duplicates;
    private long late;
    private long windowRestarts;
    private long feedbackPackets;

    public TransportCcReceiver() {
        this(TransportCcFeedback.DEFAULT_MAX_PACKET_BYTES);
    }

    /** @param maxPacketBytes upper bound on the size of each feedback packet (at least 64) */
    public TransportCcReceiver(int maxPacketBytes) {
        if (maxPacketBytes < 64) {
            throw new IllegalArgumentException("maxPacketBytes " + maxPacketBytes);
        }
        this.maxPacketBytes = maxPacketBytes;
        Arrays.fill(arrivalUs, TransportCcFeedback.NOT_RECEIVED);
    }

    /** Records one received packet carrying transport-wide sequence number {@code transportSeq16}. */
    public void onPacket(int transportSeq16, long arrivalNanos) {
        long us = Math.floorDiv(arrivalNanos, 1000L);
        int seq16 = transportSeq16 & 0xFFFF;
        if (!started) {
            started = true;
            highest = seq16;
            nextToReport = seq16;
            arrivalUs[slot(seq16)] = us;
            packets++;
            return;
        }
        long seq = highest + (short) (seq16 - (int) (highest & 0xFFFF)); // unwrap around the newest
        if (seq > highest) {
            if (seq - nextToReport >= WINDOW) {
                // A gap of thousands (or a restarted sender): reporting it would not help anyone.
                windowRestarts++;
                Arrays.fill(arrivalUs, TransportCcFeedback.NOT_RECEIVED);
                nextToReport = seq;
            } else {
                for (long s = highest + 1; s < seq; s++) {
                    arrivalUs[slot(s)] = TransportCcFeedback.NOT_RECEIVED;
                }
            }
            highest = seq;
            arrivalUs[slot(seq)] = us;
            packets++;
            return;
        }
        if (seq < nextToReport) {
            late++;
            return;
        }
        int i = slot(seq);
        if (arrivalUs[i] != TransportCcFeedback.NOT_RECEIVED) {
            duplicates++;
            return;
        }
        arrivalUs[i] = us; // reordered, still inside the unreported window
        packets++;
    }

    /**
     * Writes feedback for every sequence number since the previous feedback up to the newest received, as one or more
     * complete RTCP packets appended at {@code dst}'s writer index (each at most the configured size; a new packet
     * also starts when a receive delta would not fit in 16 bits).
     *
     * {@code nowNanos} is not used yet; it keeps the call site stable should the receiver pace its own feedback.
     *
     * @return bytes written; 0 when nothing arrived since the previous feedback
     */
    public int writeFeedback(ByteBuf dst, long senderSsrc, long mediaSsrc, long nowNanos) {
        if (!started || nextToReport > highest) {
            return 0;
        }
        int start = dst.writerIndex();
        long from = nextToReport;
        int count = (int) (highest - from + 1);
        while (count > 0) {
            int n = writer.write(dst, senderSsrc, mediaSsrc, feedbackCount, from, count, ring, maxPacketBytes);
            feedbackCount = (feedbackCount + 1) & 0xFF;
            feedbackPackets++;
            from += n;
            count -= n;
        }
        nextToReport = highest + 1;
        return dst.writerIndex() - start;
    }

    private static int slot(long seq) {
        return (int) (seq & (RING - 1));
    }

    /** Packets recorded (first arrivals only). */
    public long packets() {
        return packets;
    }

    public long duplicates() {
        return duplicates;
    }

    /** Packets that arrived after feedback had already reported them lost. */
    public long late() {
        return late;
    }

    public long windowRestarts() {
        return windowRestarts;
    }

    public long feedbackPacketsWritten() {
        return feedbackPackets;
    }

    /** The feedback packet count the next packet will carry (8 bits, wrapping). */
    public int nextFeedbackCount() {
        return feedbackCount;
    }
}
