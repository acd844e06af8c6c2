package org.consultbridge.bridge.rtp;

/**
 * Reception statistics of one incoming RTP stream, as RFC 3550 defines them for receiver reports: extended
 * highest sequence number (A.1), cumulative and interval loss (A.3), interarrival jitter (A.8). No allocation.
 *
 * <p>Beyond A.1: the last {@link #WINDOW} sequence numbers are remembered in a bit set, so a late copy of a packet
 * that already arrived is not counted twice, and packets restored from a retransmission (RTX, RFC 4588) are told
 * apart: {@link #onRepairedPacket} counts one as received (it reaches the receivers, so the loss reported upstream
 * is what is left after repair, as libwebrtc reports it) and as {@link #packetsRepaired() repaired}, so that
 * {@link #lostBeforeRepair()} still tells what the link lost. A retransmission is always old: it can never be taken
 * for a sender restart (a late RTX once reset the statistics and showed 65 % loss on a loss-free link).
 */
public final class RtpReceiveStatistics {

    /** RFC 3550 A.1: a jump larger than this is a restart, not loss. */
    private static final int MAX_DROPOUT = 3000;
    private static final int MAX_MISORDER = 100;
    private static final int SEQ_MOD = 1 << 16;
    /** How many recent sequence numbers are remembered (a power of two; longs of 64 bits). */
    static final int WINDOW = 512;
    /**
     * A gap this close to the highest sequence number is not yet counted by {@link #lostBeforeRepair()}: the packet
     * may only be late (reordered, or still in flight behind a burst), and a loss counted too early could not be
     * taken back by whoever sums these counters.
     */
    static final int SETTLE = 10;

    private final int clockRate;
    private boolean initialized;
    private int maxSeq;
    private long cycles;
    private long baseSeq;
    /** A.1's probation after a very large jump: the sequence number that would confirm a restart, -1 none. */
    private int badSeq = -1;
    private long received;
    private long repaired;
    private long expectedPrior;
    private long receivedPrior;
    private long lastTransit;
    private boolean haveTransit;
    /** Jitter in RTP units, scaled by 16 as in A.8. */
    private long jitterQ4;
    /** Bit (extended seq mod WINDOW) set when that packet arrived; valid for the WINDOW sequence numbers up to max. */
    private final long[] seen = new long[WINDOW / 64];

    public RtpReceiveStatistics(int clockRate) {
        this.clockRate = clockRate;
    }

    /** A packet as it arrived from the sender (not restored from RTX). */
    public void onPacket(int seq, long rtpTimestamp, long arrivalNanos) {
        if (!initialized) {
            restart(seq);
            initialized = true;
            updateJitter(rtpTimestamp, arrivalNanos);
            return;
        }
        int delta = (seq - maxSeq) & 0xFFFF;
        if (delta == 0) {
            return; // duplicate of the highest
        }
        if (delta < MAX_DROPOUT) {
            advance(seq, delta); // in order, perhaps after a gap
        } else if (delta <= SEQ_MOD - MAX_MISORDER) {
            // A.1: a very large jump. Two sequential packets there mean the sender restarted without telling;
            // a single one is a stray (or a very late packet) and is not counted.
            if (seq != badSeq) {
                badSeq = (seq + 1) & 0xFFFF;
                return;
            }
            restart(seq);
            updateJitter(rtpTimestamp, arrivalNanos);
            return;
        } else if (!late(SEQ_MOD - delta)) {
            return; // a copy of one already counted
        }
        received++;
        updateJitter(rtpTimestamp, arrivalNanos);
    }

    /**
     * A packet restored from a retransmission (RFC 4588): counted once if its original never came, never used for
     * jitter (its timing is the repair's, not the link's), and never a restart, however old it is. One older than
     * the remembered window cannot be told from a copy and is not counted.
     */
    public void onRepairedPacket(int seq) {
        if (!initialized) {
            return;
        }
        int delta = (seq - maxSeq) & 0xFFFF;
        if (delta == 0) {
            return;
        }
        if (delta < MAX_DROPOUT) {
            advance(seq, delta); // its original and everything after it were lost
        } else if (SEQ_MOD - delta >= WINDOW || !late(SEQ_MOD - delta)) {
            return;
        }
        received++;
        repaired++;
    }

    /** A.1 init_seq: this packet is the first of the stream. */
    private void restart(int seq) {
        maxSeq = seq;
        cycles = 0;
        baseSeq = seq;
        badSeq = -1;
        received = 1;
        repaired = 0;
        expectedPrior = 0;
        receivedPrior = 0;
        java.util.Arrays.fill(seen, 0);
        mark(seq);
    }

    private void advance(int seq, int delta) {
        long from = cycles + maxSeq;
        if (seq < maxSeq) {
            cycles += SEQ_MOD; // wrapped
        }
        maxSeq = seq;
        badSeq = -1;
        if (delta >= WINDOW) {
            java.util.Arrays.fill(seen, 0);
        } else {
            for (long e = from + 1; e < from + delta; e++) {
                clear(e); // the gap: not (yet) arrived
            }
        }
        mark(cycles + seq);
    }

    /**
     * A packet {@code age} sequence numbers behind the highest: false when it was already counted. One that
     * precedes the first packet seen moves the start back (the first to arrive was not the first sent).
     */
    private boolean late(int age) {
        long ext = cycles + maxSeq - age;
        if (ext < 0) {
            return false;
        }
        if (age < WINDOW) {
            int bit = (int) (ext & (WINDOW - 1));
            if ((seen[bit >>> 6] & (1L << bit)) != 0) {
                return false;
            }
            seen[bit >>> 6] |= 1L << bit;
        }
        if (ext < baseSeq) {
            baseSeq = ext;
        }
        return true;
    }

    private void mark(long ext) {
        int bit = (int) (ext & (WINDOW - 1));
        seen[bit >>> 6] |= 1L << bit;
    }

    private void clear(long ext) {
        int bit = (int) (ext & (WINDOW - 1));
        seen[bit >>> 6] &= ~(1L << bit);
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

    /** Packets counted as received, repaired ones included. */
    public long packetsReceived() {
        return received;
    }

    /** Packets that arrived only through a retransmission. */
    public long packetsRepaired() {
        return repaired;
    }

    /** Packets expected since the stream (re)started: the extended highest sequence number's range (A.3). */
    public long packetsExpected() {
        return initialized ? extendedHighestSeq() - baseSeq + 1 : 0;
    }

    /** A.3: may be negative with duplicates; clamped to the 24-bit signed range of a report block. */
    public long cumulativeLost() {
        long lost = packetsExpected() - received;
        return Math.max(-0x800000, Math.min(0x7FFFFF, lost));
    }

    /**
     * What the link lost: packets expected whose original never arrived (repaired or not), leaving out gaps among
     * the newest {@link #SETTLE} sequence numbers (they may still come); never negative.
     */
    public long lostBeforeRepair() {
        long max = extendedHighestSeq();
        long unsettled = 0;
        for (long e = max - 1; e > max - SETTLE && e >= baseSeq; e--) {
            int bit = (int) (e & (WINDOW - 1));
            if ((seen[bit >>> 6] & (1L << bit)) == 0) {
                unsettled++;
            }
        }
        return Math.max(0, packetsExpected() - (received - repaired) - unsettled);
    }

    public long jitterRtpUnits() {
        return jitterQ4 >> 4;
    }

    public double jitterSeconds() {
        return (double) jitterRtpUnits() / clockRate;
    }

    /** A.3: fraction lost since the previous call, as an 8-bit fixed-point number; call once per report. */
    public int fractionLostSinceLastReport() {
        long expected = packetsExpected();
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
