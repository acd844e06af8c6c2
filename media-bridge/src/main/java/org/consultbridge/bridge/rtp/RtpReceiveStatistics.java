package org.consultbridge.bridge.rtp;

/**
 * Reception statistics of one incoming RTP stream, as RFC 3550 defines them for receiver reports: extended
 * highest sequence number (A.1), cumulative and interval loss (A.3), interarrival jitter (A.8). No allocation.
 */
public final class RtpReceiveStatistics {

    /** RFC 3550 A.1: a jump larger than this is a restart, not loss. */
    private static final int MAX_DROPOUT = 3000;
    private static final int MAX_MISORDER = 100;
    private static final int SEQ_MOD = 1 << 16;

    private final int clockRate;
    private boolean initialized;
    private int maxSeq;
    private long cycles;
    private long baseSeq;
    private long received;
    private long expectedPrior;
    private long receivedPrior;
    private long lastTransit;
    private boolean haveTransit;
    /** Jitter in RTP units, scaled by 16 as in A.8. */
    private long jitterQ4;

    public RtpReceiveStatistics(int clockRate) {
        this.clockRate = clockRate;
    }

    public void onPacket(int seq, long rtpTimestamp, long arrivalNanos) {
        if (!initialized) {
            initialized = true;
            maxSeq = seq;
            baseSeq = seq;
            received = 1;
            updateJitter(rtpTimestamp, arrivalNanos);
            return;
        }
        int delta = (seq - maxSeq) & 0xFFFF;
        if (delta == 0) {
            return; // duplicate
        }
        if (delta < MAX_DROPOUT) {
            if (seq < maxSeq) {
                cycles += SEQ_MOD; // wrapped
            }
            maxSeq = seq;
        } else if (delta <= SEQ_MOD - MAX_MISORDER) {
            // a very large jump: the sender restarted; resynchronise (A.1's probation simplified to one packet)
            maxSeq = seq;
            baseSeq = cycles + seq;
            received = 0;
            expectedPrior = 0;
            receivedPrior = 0;
        }
        // else: reordered or duplicate late packet, counted as received
        received++;
        updateJitter(rtpTimestamp, arrivalNanos);
    }

    /** A.8: J += (|D| - J) / 16, with D the difference of relative transit times. */
    private void updateJitter(long rtpTimestamp, long arrivalNanos) {
        long arrivalRtp = arrivalNanos / 1000 * clockRate / 1_000_000;
        long transit = arrivalRtp - rtpTimestamp;
        if (haveTransit) {
            long d = Math.abs((int) (transit - lastTransit));
            jitterQ4 += d - ((jitterQ4 + 8) >> 4);
        }
        lastTransit = transit;
        haveTransit = true;
    }

    public long extendedHighestSeq() {
        return cycles + maxSeq;
    }

    public long packetsReceived() {
        return received;
    }

    private long expected() {
        return extendedHighestSeq() - baseSeq + 1;
    }

    /** A.3: may be negative with duplicates; clamped to the 24-bit signed range of a report block. */
    public long cumulativeLost() {
        long lost = expected() - received;
        return Math.max(-0x800000, Math.min(0x7FFFFF, lost));
    }

    public long jitterRtpUnits() {
        return jitterQ4 >> 4;
    }

    public double jitterSeconds() {
        return (double) jitterRtpUnits() / clockRate;
    }

    /** A.3: fraction lost since the previous call, as an 8-bit fixed-point number; call once per report. */
    public int fractionLostSinceLastReport() {
        long expected = expected();
        long expectedInterval = expected - expectedPrior;
        expectedPrior = expected;
        long receivedInterval = received - receivedPrior;
        receivedPrior = received;
        long lostInterval = expectedInterval - receivedInterval;
        if (expectedInterval == 0 || lostInterval <= 0) {
            return 0;
        }
        return (int) Math.min(255, (lostInterval << 8) / expectedInterval);
    }
}
