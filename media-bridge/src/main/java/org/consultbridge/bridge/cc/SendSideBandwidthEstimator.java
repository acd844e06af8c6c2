package org.consultbridge.bridge.cc;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;

/**
 * The bridge's estimate of one receiver's downlink, from transport-wide feedback: Google congestion control
 * (draft-ietf-rmcat-gcc-02), structured like libwebrtc's send-side estimator. One per subscribe transport; event loop
 * only; no allocation after construction.
 *
 * <ul>
 *   <li>Sent packets are kept in a ring of {@value #HISTORY} entries (transport-wide sequence number, size, send time).
 *   <li>Feedback is matched against it: an acknowledged bitrate over a sliding window of receive time, a loss fraction
 *       over at least 20 reported packets, and a delay-based detector: packet groups by send time (5 ms bursts,
 *       gcc-02 §5.2), inter-group delay variation, libwebrtc's trendline filter (window 20, smoothing 0.9, gain 4)
 *       instead of gcc-02's Kalman filter, an adaptive threshold with libwebrtc's gains (k_up 0.0087, k_down 0.039,
 *       which belong to the trendline's scale; gcc-02 §5.4's 0.01/0.00018 belong to its Kalman filter), and the
 *       overuse/normal/underuse state (gcc-02 §5.4).
 *   <li>AIMD rate control (gcc-02 §5.5): multiplicative increase of 8 %/s far from convergence, additive (about one
 *       packet per response time) near the link capacity seen at previous overuses; on overuse, 0.85 × the
 *       acknowledged bitrate. Never above 1.5 × acknowledged + 10 kbit/s (libwebrtc's throughput limit).
 *   <li>Loss-based control (gcc-02 §6): loss above 10 % → rate × (1 − 0.5 × loss), at most once per 300 ms + RTT;
 *       below 2 % → increase 8 %/s; in between hold.
 * </ul>
 * The estimate is min(delay-based, loss-based) clamped to [min, max]. When the caller declares itself application
 * limited, neither part grows beyond 2 × what was actually sent in the last 500 ms.
 */
public final class SendSideBandwidthEstimator {

    /** Detector hypothesis, gcc-02 §5.4. */
    public enum BandwidthUsage { NORMAL, OVERUSING, UNDERUSING }

    /**
     * Where an estimate starts before any feedback (libwebrtc also starts at 300 kbit/s): a rural link of a few
     * hundred kbit/s must not get layers it cannot carry at the start; probing finds a better link within seconds.
     */
    public static final long DEFAULT_START_BPS = 300_000;
    public static final long DEFAULT_MIN_BPS = 30_000;
    public static final long DEFAULT_MAX_BPS = 20_000_000;
    public static final int HISTORY = 4096;

    // Grouping (gcc-02 §5.2)
    static final long BURST_US = 5_000;
    static final long MAX_BURST_DURATION_US = 100_000;
    // Trendline (libwebrtc TrendlineEstimator)
    static final int TREND_WINDOW = 20;
    static final double SMOOTHING = 0.9;
    static final double THRESHOLD_GAIN = 4;
    static final int MAX_DELTAS = 60;
    // Adaptive threshold
    static final double K_UP = 0.0087;
    static final double K_DOWN = 0.039;
    static final double MAX_ADAPT_OFFSET_MS = 15;
    static final double INITIAL_THRESHOLD_MS = 12.5;
    static final double OVERUSE_TIME_MS = 10;
    // AIMD
    static final double BETA = 0.85;
    static final double MULTIPLICATIVE_PER_SECOND = 1.08;
    static final long DEFAULT_RTT_US = 200_000;
    // Acknowledged bitrate and send rate
    static final long RATE_WINDOW_US = 500_000;
    static final long MIN_RATE_SPAN_US = 100_000;
    // Loss
    static final int LOSS_MIN_PACKETS = 20;
    static final double LOSS_HIGH = 0.10;
    static final double LOSS_LOW = 0.02;
    /** A probe cluster is judged on at least this many packets that arrived. */
    static final int MIN_CLUSTER_PACKETS = 4;
    static final long LOSS_DECREASE_INTERVAL_US = 300_000;

    private static final int MASK = HISTORY - 1;
    private static final byte UNREPORTED = 0;
    private static final byte REPORTED_LOST = 1;
    private static final byte REPORTED_RECEIVED = 2;

    private final long minBps;
    private final long maxBps;

    // Send history
    private final long[] sentSeq = new long[HISTORY];
    private final long[] sentUs = new long[HISTORY];
    private final int[] sentSize = new int[HISTORY];
    private final boolean[] sentProbe = new boolean[HISTORY];
    /** Probe cluster of each packet sent (0: media, not a probe). */
    private final int[] sentCluster = new int[HISTORY];
    private final byte[] sentStatus = new byte[HISTORY];
    private boolean anySent;
    private long lastSentSeq;
    private long sendWindowTail;
    private long sendWindowBytes;
    private long lastSendUs;

    // One feedback's received packets, in sequence order
    private final long[] fbSeq = new long[HISTORY];
    private final long[] fbArrivalUs = new long[HISTORY];
    private int fbCount;
    private int fbLost;
    private int fbNewlyReported;
    private final FeedbackSink sink = new FeedbackSink();
    private boolean haveReference;
    private int lastReference24;
    private long referenceTicks;

    // Acknowledged bitrate: ring of (arrival, size) inside the window
    private final long[] ackArrivalUs = new long[HISTORY];
    private final int[] ackSize = new int[HISTORY];
    private int ackHead;
    private int ackCount;
    private long ackBytes;
    private boolean haveAck;
    private long firstAckArrivalUs;
    private long maxAckArrivalUs;
    private long acknowledgedBps;

    // Inter-arrival grouping
    private boolean haveGroup;
    private boolean havePrevGroup;
    private long groupFirstSendUs;
    private long groupLastSendUs;
    private long groupFirstArrivalUs;
    private long groupLastArrivalUs;
    private long prevGroupLastSendUs;
    private long prevGroupLastArrivalUs;
    private int reorderedGroups;

    // Trendline
    private final double[] trendX = new double[TREND_WINDOW];
    private final double[] trendY = new double[TREND_WINDOW];
    private int trendHead;
    private int trendSize;
    private int numDeltas;
    private boolean haveFirstArrival;
    private long firstArrivalUs;
    private double accumulatedDelayMs;
    private double smoothedDelayMs;
    private double prevTrend;
    private double threshold = INITIAL_THRESHOLD_MS;
    private long thresholdUpdateUs = Long.MIN_VALUE;
    private double timeOverUsingMs = -1;
    private int overuseCounter;
    private BandwidthUsage hypothesis = BandwidthUsage.NORMAL;
    private boolean overuseInThisFeedback;

    // AIMD
    private enum RateControl { HOLD, INCREASE, DECREASE }

    private RateControl rateControl = RateControl.HOLD;
    private long delayBasedBps;
    private long lastRateUpdateUs = Long.MIN_VALUE;
    private long lastDecreaseUs = Long.MIN_VALUE;
    private boolean haveCapacity;
    private double capacityKbps;
    private double capacityDeviation = 0.4;
    private long rttUs = DEFAULT_RTT_US;
    private boolean haveRtt;

    // Loss-based
    private long lossBasedBps;
    private int lossLostAcc;
    private int lossExpectedAcc;
    private double lossFraction;
    private long lastLossDecreaseUs = Long.MIN_VALUE;
    private long lastLossUpdateUs = Long.MIN_VALUE;

    private boolean applicationLimited;
    private long estimateBps;

    private long feedbacksAccepted;
    private long feedbacksRejected;
    // Probe clusters: bursts of padding sent back to back; the bottleneck spaces them out by its rate.
    private int cluster;
    private int clusterSent;
    private int clusterReceived;
    private int clusterLost;
    private long clusterBytes;
    private long clusterFirstArrivalUs;
    private int clusterFirstSize;
    private long clusterLastArrivalUs;
    private boolean clusterEvaluated = true;
    private long lastProbeResultBps;
    private long probeResults;

    /** Diagnostic recording of the inputs, null unless enabled (see {@link BweTrace}). */
    private BweTrace trace;

    public SendSideBandwidthEstimator() {
        this(DEFAULT_START_BPS, DEFAULT_MIN_BPS, DEFAULT_MAX_BPS);
    }

    public SendSideBandwidthEstimator(long startBps, long minBps, long maxBps) {
        if (minBps <= 0 || maxBps < minBps) {
            throw new IllegalArgumentException("min " + minBps + " max " + maxBps);
        }
        this.minBps = minBps;
        this.maxBps = maxBps;
        long start = Math.clamp(startBps, minBps, maxBps);
        this.delayBasedBps = start;
        this.lossBasedBps = start;
        this.estimateBps = start;
        Arrays.fill(sentSeq, Long.MIN_VALUE);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Inputs

    /** Records a packet just sent with transport-wide sequence number {@code transportSeq16}. */
    public void onPacketSent(int transportSeq16, int sizeBytes, long sendNanos, boolean probe) {
        if (trace != null) {
            trace.sent(sendNanos, transportSeq16, sizeBytes, probe);
        }
        long us = Math.floorDiv(sendNanos, 1000L);
        int seq16 = transportSeq16 & 0xFFFF;
        long seq;
        if (!anySent) {
            anySent = true;
            seq = seq16;
            sendWindowTail = seq;
        } else {
            seq = lastSentSeq + (short) (seq16 - (int) (lastSentSeq & 0xFFFF));
            if (seq <= lastSentSeq) {
                return; // a sequence number goes out once; a repeat is a caller bug, not worth state
            }
        }
        if (seq - lastSentSeq >= HISTORY || seq == sendWindowTail) {
            sendWindowTail = seq; // first packet, or a jump past the whole history
            sendWindowBytes = 0;
        } else {
            // Send-rate window: drop what is older than the window or about to be overwritten (bounded: the tail
            // stays within HISTORY of the last packet sent).
            while (sendWindowTail <= lastSentSeq
                    && (seq - sendWindowTail >= HISTORY || sentUs[slot(sendWindowTail)] <= us - RATE_WINDOW_US)) {
                int t = slot(sendWindowTail);
                if (sentSeq[t] == sendWindowTail) {
                    sendWindowBytes -= sentSize[t];
                }
                sendWindowTail++;
            }
        }
        // Sequence numbers skipped by the caller are simply absent from the history.
        int s = slot(seq);
        sentSeq[s] = seq;
        sentUs[s] = us;
        sentSize[s] = sizeBytes;
        sentProbe[s] = probe;
        sentCluster[s] = probe ? cluster : 0;
        if (probe) {
            clusterSent++;
        }
        sentStatus[s] = UNREPORTED;
        sendWindowBytes += sizeBytes;
        lastSentSeq = seq;
        lastSendUs = us;
    }

    /**
     * Declares whether the sender is application limited (sends less than the estimate because it has less to send).
     * While it is, the estimate does not grow beyond twice the rate actually sent over the last 500 ms.
     */
    public void setApplicationLimited(boolean limited) {
        if (trace != null && limited != applicationLimited) {
            trace.applicationLimited(System.nanoTime(), limited);
        }
        this.applicationLimited = limited;
    }

    /**
     * Consumes one transport-cc feedback packet (RTPFB FMT 15) at absolute index {@code offset}.
     *
     * @return false when it is not transport-cc feedback, is malformed, or reports nothing the bridge sent
     */
    public boolean onFeedback(ByteBuf buf, int offset, long nowNanos) {
        if (trace != null) {
            trace.feedback(buf, offset, nowNanos);
        }
        long nowUs = Math.floorDiv(nowNanos, 1000L);
        fbCount = 0;
        fbLost = 0;
        fbNewlyReported = 0;
        if (!anySent || !TransportCcFeedback.parse(buf, offset, sink)) {
            feedbacksRejected++;
            return false;
        }
        if (fbNewlyReported == 0 && fbCount == 0) {
            return false;
        }
        feedbacksAccepted++;
        overuseInThisFeedback = false;
        long newestSendUs = Long.MIN_VALUE;
        for (int i = 0; i < fbCount; i++) {
            int s = slot(fbSeq[i]);
            if (sentCluster[s] != 0 && sentCluster[s] == cluster) {
                onClusterPacketArrived(fbArrivalUs[i], sentSize[s]);
            }
            long sendUs = sentUs[s];
            long arrival = fbArrivalUs[i];
            addAcknowledged(arrival, sentSize[s]);
            onPacketDelay(sendUs, arrival);
            newestSendUs = Math.max(newestSendUs, sendUs);
        }
        if (newestSendUs != Long.MIN_VALUE && nowUs >= newestSendUs) {
            // Includes the receiver's wait for the next feedback (up to its interval): an upper bound.
            long sample = nowUs - newestSendUs;
            rttUs = haveRtt ? (7 * rttUs + sample) / 8 : sample;
            haveRtt = true;
        }
        updateSendWindow(nowUs);
        BandwidthUsage usage = overuseInThisFeedback ? BandwidthUsage.OVERUSING : hypothesis;
        updateDelayBased(usage, nowUs);
        updateLossBased(nowUs);
        evaluateProbeCluster(usage);
        long cap = applicationLimited ? 2 * sendRateBps() : Long.MAX_VALUE;
        long est = Math.min(delayBasedBps, lossBasedBps);
        if (est > estimateBps && est > cap) {
            est = Math.max(estimateBps, cap);
        }
        estimateBps = Math.clamp(est, minBps, maxBps);
        return true;
    }

    /**
     * Starts a probe cluster: the probe packets sent from now on (until the next call) are one burst, sent back to
     * back. When the receiver's feedback for them is in, their arrival spacing gives the bottleneck's rate (a packet
     * train: libwebrtc's ProbeBitrateEstimator uses the receive rate of a cluster the same way).
     */
    public void startProbeCluster() {
        if (trace != null) {
            trace.probeCluster(System.nanoTime());
        }
        cluster++;
        if (cluster == 0) {
            cluster = 1;
        }
        clusterSent = 0;
        clusterReceived = 0;
        clusterLost = 0;
        clusterBytes = 0;
        clusterFirstArrivalUs = Long.MAX_VALUE;
        clusterLastArrivalUs = Long.MIN_VALUE;
        clusterEvaluated = false;
    }

    private void onClusterPacketArrived(long arrivalUs, int size) {
        clusterReceived++;
        clusterBytes += size;
        if (arrivalUs < clusterFirstArrivalUs) {
            clusterFirstArrivalUs = arrivalUs;
            clusterFirstSize = size;
        }
        clusterLastArrivalUs = Math.max(clusterLastArrivalUs, arrivalUs);
    }

    /**
     * Once every packet of the newest cluster is reported: if most arrived, the rate they arrived at (bytes after
     * the first over the arrival span) is what the link carries. Without over-use and loss the estimate jumps up to
     * 90 % of it (at most 3 × per probe, as a train measures the bottleneck's capacity, not what cross traffic
     * leaves), instead of the slow multiplicative increase: a recovering rural link is used again in seconds.
     */
    private void evaluateProbeCluster(BandwidthUsage usage) {
        if (clusterEvaluated || clusterSent == 0 || clusterReceived + clusterLost < clusterSent) {
            return;
        }
        clusterEvaluated = true;
        if (clusterReceived < Math.max(MIN_CLUSTER_PACKETS, clusterSent * 4 / 5)) {
            return; // lost in the queue: the link is full
        }
        long spanUs = Math.max(clusterLastArrivalUs - clusterFirstArrivalUs, TransportCcFeedback.DELTA_TICK_US);
        long bps = (clusterBytes - clusterFirstSize) * 8 * 1_000_000 / spanUs;
        lastProbeResultBps = bps;
        probeResults++;
        if (usage == BandwidthUsage.OVERUSING || lossFraction >= LOSS_LOW) {
            return;
        }
        long carried = Math.min(bps * 9 / 10, 3 * estimateBps);
        delayBasedBps = Math.clamp(Math.max(delayBasedBps, carried), minBps, maxBps);
        lossBasedBps = Math.clamp(Math.max(lossBasedBps, carried), minBps, maxBps);
    }

    /** The rate the newest evaluated probe cluster arrived at, bits per second; 0 before any. */
    public long lastProbeResultBps() {
        return lastProbeResultBps;
    }

    public long probeResults() {
        return probeResults;
    }

    /** Records this estimator's inputs into {@code t} (null: stop). A diagnostic; see {@link BweTrace}. */
    public void trace(BweTrace t) {
        this.trace = t;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Outputs

    /** The current estimate of the receiver's available bandwidth, bits per second. */
    public long estimateBps() {
        return estimateBps;
    }

    /** The delay-based part of the estimate. */
    public long delayBasedBps() {
        return delayBasedBps;
    }

    /** The loss-based part of the estimate. */
    public long lossBasedBps() {
        return lossBasedBps;
    }

    /** Bitrate the receiver acknowledged over the last 500 ms of receive time; 0 until known. */
    public long acknowledgedBps() {
        return acknowledgedBps;
    }

    /** Loss fraction of the last evaluation (at least 20 reported packets). */
    public double lossFraction() {
        return lossFraction;
    }

    /** Current delay-based detector hypothesis. */
    public BandwidthUsage state() {
        return hypothesis;
    }

    /** What was sent over the last 500 ms, bits per second. */
    public long sendRateBps() {
        return sendWindowBytes * 8 * 1_000_000 / RATE_WINDOW_US;
    }

    /** Smoothed round-trip time seen through feedback (includes the receiver's feedback interval), µs. */
    public long rttMicros() {
        return rttUs;
    }

    public long feedbacksAccepted() {
        return feedbacksAccepted;
    }

    public long feedbacksRejected() {
        return feedbacksRejected;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Feedback matching

    private final class FeedbackSink implements TransportCcFeedback.Visitor {
        private long referenceUs;

        @Override
        public void onHeader(long senderSsrc, long mediaSsrc, int baseSeq, int statusCount, int referenceTime,
                             int feedbackCount) {
            if (!haveReference) {
                haveReference = true;
                referenceTicks = referenceTime;
            } else {
                int diff = ((referenceTime - lastReference24) << 8) >> 8; // 24-bit wrap-around
                referenceTicks += diff;
            }
            lastReference24 = referenceTime;
            referenceUs = referenceTicks * TransportCcFeedback.REFERENCE_TICK_US;
        }

        @Override
        public void onStatus(int seq16, boolean received, long arrivalUs) {
            long seq = lastSentSeq + (short) (seq16 - (int) (lastSentSeq & 0xFFFF));
            if (seq > lastSentSeq) {
                return; // never sent
            }
            int s = slot(seq);
            if (sentSeq[s] != seq) {
                return; // older than the history
            }
            byte status = sentStatus[s];
            if (received) {
                if (status == REPORTED_RECEIVED) {
                    return;
                }
                if (status == UNREPORTED) {
                    fbNewlyReported++;
                }
                sentStatus[s] = REPORTED_RECEIVED;
                if (fbCount < fbSeq.length) {
                    fbSeq[fbCount] = seq;
                    fbArrivalUs[fbCount] = referenceUs + arrivalUs;
                    fbCount++;
                }
            } else if (status == UNREPORTED) {
                sentStatus[s] = REPORTED_LOST;
                fbNewlyReported++;
                fbLost++;
                if (sentCluster[s] != 0 && sentCluster[s] == cluster) {
                    clusterLost++;
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Acknowledged bitrate and send rate

    private void addAcknowledged(long arrivalUs, int size) {
        if (!haveAck) {
            haveAck = true;
            firstAckArrivalUs = arrivalUs;
            maxAckArrivalUs = arrivalUs;
        }
        if (ackCount == HISTORY) {
            evictAck();
        }
        int i = (ackHead + ackCount) & MASK;
        ackArrivalUs[i] = arrivalUs;
        ackSize[i] = size;
        ackCount++;
        ackBytes += size;
        maxAckArrivalUs = Math.max(maxAckArrivalUs, arrivalUs);
        while (ackCount > 0 && ackArrivalUs[ackHead] <= maxAckArrivalUs - RATE_WINDOW_US) {
            evictAck();
        }
        long span = Math.min(RATE_WINDOW_US, maxAckArrivalUs - firstAckArrivalUs);
        if (span >= MIN_RATE_SPAN_US) {
            acknowledgedBps = ackBytes * 8 * 1_000_000 / span;
        }
    }

    private void evictAck() {
        ackBytes -= ackSize[ackHead];
        ackHead = (ackHead + 1) & MASK;
        ackCount--;
    }

    private void updateSendWindow(long nowUs) {
        while (sendWindowTail <= lastSentSeq && sentUs[slot(sendWindowTail)] <= nowUs - RATE_WINDOW_US) {
            int s = slot(sendWindowTail);
            if (sentSeq[s] == sendWindowTail) {
                sendWindowBytes -= sentSize[s];
            }
            sendWindowTail++;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Delay-based detector

    /** gcc-02 §5.2: groups by send time; a group's deltas are computed when the next one starts. */
    private void onPacketDelay(long sendUs, long arrivalUs) {
        if (!haveGroup) {
            startGroup(sendUs, arrivalUs);
            return;
        }
        if (sendUs < groupFirstSendUs) {
            return; // sent before the current group: out of order, ignored like libwebrtc does
        }
        if (belongsToGroup(sendUs, arrivalUs)) {
            groupLastSendUs = Math.max(groupLastSendUs, sendUs);
            groupLastArrivalUs = Math.max(groupLastArrivalUs, arrivalUs);
            return;
        }
        if (havePrevGroup) {
            long sendDelta = groupLastSendUs - prevGroupLastSendUs;
            long arrivalDelta = groupLastArrivalUs - prevGroupLastArrivalUs;
            if (arrivalDelta < 0) {
                if (++reorderedGroups >= 3) {
                    resetDetector();
                }
            } else {
                reorderedGroups = 0;
                onGroupDelta(arrivalDelta / 1000.0, sendDelta / 1000.0, groupLastArrivalUs);
            }
        }
        havePrevGroup = true;
        prevGroupLastSendUs = groupLastSendUs;
        prevGroupLastArrivalUs = groupLastArrivalUs;
        startGroup(sendUs, arrivalUs);
    }

    private boolean belongsToGroup(long sendUs, long arrivalUs) {
        if (sendUs - groupFirstSendUs <= BURST_US) {
            return true;
        }
        // gcc-02 §5.2: a burst that arrives faster than it was sent belongs to the current group.
        long arrivalDelta = arrivalUs - groupLastArrivalUs;
        long propagationDelta = arrivalDelta - (sendUs - groupLastSendUs);
        return propagationDelta < 0 && arrivalDelta <= BURST_US
                && arrivalUs - groupFirstArrivalUs < MAX_BURST_DURATION_US;
    }

    private void startGroup(long sendUs, long arrivalUs) {
        haveGroup = true;
        groupFirstSendUs = sendUs;
        groupLastSendUs = sendUs;
        groupFirstArrivalUs = arrivalUs;
        groupLastArrivalUs = arrivalUs;
    }

    private void resetDetector() {
        havePrevGroup = false;
        reorderedGroups = 0;
        trendSize = 0;
        numDeltas = 0;
        haveFirstArrival = false;
        accumulatedDelayMs = 0;
        smoothedDelayMs = 0;
        prevTrend = 0;
    }

    /** Trendline filter (libwebrtc): least-squares slope of smoothed accumulated delay over arrival time. */
    private void onGroupDelta(double arrivalDeltaMs, double sendDeltaMs, long arrivalUs) {
        double delta = arrivalDeltaMs - sendDeltaMs; // gcc-02 §5.3: inter-group delay variation d(i)
        numDeltas = Math.min(numDeltas + 1, 1000);
        if (!haveFirstArrival) {
            haveFirstArrival = true;
            firstArrivalUs = arrivalUs;
        }
        accumulatedDelayMs += delta;
        smoothedDelayMs = SMOOTHING * smoothedDelayMs + (1 - SMOOTHING) * accumulatedDelayMs;
        int i = (trendHead + trendSize) % TREND_WINDOW;
        if (trendSize == TREND_WINDOW) {
            i = trendHead;
            trendHead = (trendHead + 1) % TREND_WINDOW;
        } else {
            trendSize++;
        }
        trendX[i] = (arrivalUs - firstArrivalUs) / 1000.0;
        trendY[i] = smoothedDelayMs;
        double trend = prevTrend;
        if (trendSize == TREND_WINDOW) {
            double slope = slope();
            if (!Double.isNaN(slope)) {
                trend = slope;
            }
        }
        detect(trend, sendDeltaMs, arrivalUs);
    }

    private double slope() {
        double sx = 0;
        double sy = 0;
        for (int k = 0; k < trendSize; k++) {
            sx += trendX[k];
            sy += trendY[k];
        }
        double mx = sx / trendSize;
        double my = sy / trendSize;
        double num = 0;
        double den = 0;
        for (int k = 0; k < trendSize; k++) {
            double dx = trendX[k] - mx;
            num += dx * (trendY[k] - my);
            den += dx * dx;
        }
        return den == 0 ? Double.NaN : num / den;
    }

    /** gcc-02 §5.4 over-use detector on the trend, with libwebrtc's scaling and hysteresis. */
    private void detect(double trend, double sendDeltaMs, long nowUs) {
        if (numDeltas < 2) {
            hypothesis = BandwidthUsage.NORMAL;
            return;
        }
        double modified = Math.min(numDeltas, MAX_DELTAS) * trend * THRESHOLD_GAIN;
        if (modified > threshold) {
            timeOverUsingMs = timeOverUsingMs < 0 ? sendDeltaMs / 2 : timeOverUsingMs + sendDeltaMs;
            overuseCounter++;
            if (timeOverUsingMs > OVERUSE_TIME_MS && overuseCounter > 1 && trend >= prevTrend) {
                timeOverUsingMs = 0;
                overuseCounter = 0;
                hypothesis = BandwidthUsage.OVERUSING;
                overuseInThisFeedback = true;
            }
        } else if (modified < -threshold) {
            timeOverUsingMs = -1;
            overuseCounter = 0;
            hypothesis = BandwidthUsage.UNDERUSING;
        } else {
            timeOverUsingMs = -1;
            overuseCounter = 0;
            hypothesis = BandwidthUsage.NORMAL;
        }
        prevTrend = trend;
        updateThreshold(modified, nowUs);
    }

    /** gcc-02 §5.4 adaptive threshold: γ += Δt · k · (|m| − γ), k_up above, k_down below. */
    private void updateThreshold(double modified, long nowUs) {
        if (thresholdUpdateUs == Long.MIN_VALUE) {
            thresholdUpdateUs = nowUs;
        }
        double abs = Math.abs(modified);
        if (abs > threshold + MAX_ADAPT_OFFSET_MS) { // a spike: do not let it drag the threshold along
            thresholdUpdateUs = nowUs;
            return;
        }
        double k = abs < threshold ? K_DOWN : K_UP;
        double dtMs = Math.min((nowUs - thresholdUpdateUs) / 1000.0, 100);
        threshold = Math.clamp(threshold + k * (abs - threshold) * dtMs, 6, 600);
        thresholdUpdateUs = nowUs;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // AIMD rate control (gcc-02 §5.5)

    private void updateDelayBased(BandwidthUsage usage, long nowUs) {
        long dtUs = lastRateUpdateUs == Long.MIN_VALUE ? 0 : Math.min(nowUs - lastRateUpdateUs, 1_000_000);
        lastRateUpdateUs = nowUs;
        switch (usage) {
            case OVERUSING -> rateControl = RateControl.DECREASE;
            case UNDERUSING -> rateControl = RateControl.HOLD;
            case NORMAL -> {
                if (rateControl == RateControl.HOLD) {
                    rateControl = RateControl.INCREASE;
                }
            }
        }
        long acked = acknowledgedBps;
        double ackedKbps = acked / 1000.0;
        switch (rateControl) {
            case HOLD -> { }
            case INCREASE -> {
                if (haveCapacity && acked > 0 && ackedKbps > capacityUpperKbps()) {
                    haveCapacity = false; // the link got better: far from convergence again
                }
                // No increase without evidence: the receiver must have acknowledged some traffic, and the estimate
                // stays under 1.5 × what it acknowledged + 10 kbit/s (libwebrtc's throughput limit).
                long limit = (long) (1.5 * acked) + 10_000;
                if (acked > 0 && delayBasedBps < limit && dtUs > 0) {
                    double increase;
                    if (haveCapacity) {
                        increase = nearMaxIncreaseBpsPerSecond() * dtUs / 1e6;
                    } else {
                        double alpha = Math.pow(MULTIPLICATIVE_PER_SECOND, dtUs / 1e6);
                        increase = Math.max(delayBasedBps * (alpha - 1), 1000 * dtUs / 1e6);
                    }
                    delayBasedBps = Math.min((long) (delayBasedBps + increase), Math.max(limit, delayBasedBps));
                }
            }
            case DECREASE -> {
                if (timeToReduceFurther(nowUs, acked)) {
                    // At most halved per decrease: when the bridge sends little (video suspended, audio only) the
                    // acknowledged rate says nothing about the link, and one over-use signal from jitter must not
                    // take the estimate to its minimum (seen on the rural-weak link); halving per RTT still follows
                    // a real collapse within a second.
                    long decreased = Math.max((long) (BETA * (acked > 0 ? acked : delayBasedBps)), delayBasedBps / 2);
                    if (decreased > delayBasedBps && haveCapacity) {
                        decreased = (long) (BETA * capacityKbps * 1000);
                    }
                    if (decreased < delayBasedBps) {
                        delayBasedBps = decreased;
                    }
                    if (acked > 0) {
                        if (haveCapacity && ackedKbps < capacityLowerKbps()) {
                            haveCapacity = false;
                        }
                        updateCapacity(ackedKbps);
                    }
                    lastDecreaseUs = nowUs;
                }
                rateControl = RateControl.HOLD;
            }
        }
        delayBasedBps = Math.clamp(delayBasedBps, minBps, maxBps);
    }

    /** libwebrtc: reduce again after one RTT (10-200 ms), or at once when the throughput halved. */
    private boolean timeToReduceFurther(long nowUs, long acked) {
        long interval = Math.clamp(rttUs, 10_000, 200_000);
        if (lastDecreaseUs == Long.MIN_VALUE || nowUs - lastDecreaseUs >= interval) {
            return true;
        }
        return acked > 0 && acked < delayBasedBps / 2;
    }

    /** About one average packet per response time (RTT + 100 ms), at 30 frames/s; at least 4 kbit/s per second. */
    private double nearMaxIncreaseBpsPerSecond() {
        double bitsPerFrame = delayBasedBps / 30.0;
        double packetsPerFrame = Math.ceil(bitsPerFrame / (1200 * 8));
        double avgPacketBits = bitsPerFrame / packetsPerFrame;
        double responseTimeS = (rttUs + 100_000) / 1e6;
        return Math.max(4000, avgPacketBits / responseTimeS);
    }

    /** Exponential average of the acknowledged bitrate at overuse, with its normalised variance (libwebrtc). */
    private void updateCapacity(double sampleKbps) {
        double alpha = 0.05;
        if (!haveCapacity) {
            capacityKbps = sampleKbps;
            haveCapacity = true;
        } else {
            capacityKbps = (1 - alpha) * capacityKbps + alpha * sampleKbps;
        }
        double norm = Math.max(capacityKbps, 1.0);
        double error = capacityKbps - sampleKbps;
        capacityDeviation = Math.clamp((1 - alpha) * capacityDeviation + alpha * error * error / norm, 0.4, 2.5);
    }

    private double capacityUpperKbps() {
        return capacityKbps + 3 * Math.sqrt(capacityKbps * capacityDeviation);
    }

    private double capacityLowerKbps() {
        return Math.max(0, capacityKbps - 3 * Math.sqrt(capacityKbps * capacityDeviation));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Loss-based control (gcc-02 §6)

    private void updateLossBased(long nowUs) {
        lossLostAcc += fbLost;
        lossExpectedAcc += fbNewlyReported;
        if (lossExpectedAcc < LOSS_MIN_PACKETS) {
            return;
        }
        lossFraction = (double) lossLostAcc / lossExpectedAcc;
        lossLostAcc = 0;
        lossExpectedAcc = 0;
        long dtUs = lastLossUpdateUs == Long.MIN_VALUE ? 0 : Math.min(nowUs - lastLossUpdateUs, 1_000_000);
        lastLossUpdateUs = nowUs;
        if (lossFraction > LOSS_HIGH) {
            if (lastLossDecreaseUs == Long.MIN_VALUE || nowUs - lastLossDecreaseUs >= LOSS_DECREASE_INTERVAL_US + rttUs) {
                lossBasedBps = (long) (estimateBps * (1 - 0.5 * lossFraction));
                lastLossDecreaseUs = nowUs;
            }
        } else if (lossFraction < LOSS_LOW) {
            // Grows from the current estimate, so that after a loss episode the ramp up is gradual.
            double grown = Math.max(lossBasedBps, estimateBps) * Math.pow(MULTIPLICATIVE_PER_SECOND, dtUs / 1e6)
                    + 1000 * dtUs / 1e6;
            lossBasedBps = (long) Math.min(grown, maxBps);
        } else {
            lossBasedBps = Math.min(lossBasedBps, estimateBps); // hold
        }
        lossBasedBps = Math.clamp(lossBasedBps, minBps, maxBps);
    }

    private static int slot(long seq) {
        return (int) (seq & MASK);
    }
}
