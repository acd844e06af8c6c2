package org.consultbridge.bridge.cc;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.lang.management.ManagementFactory;
import java.util.ArrayDeque;
import java.util.Random;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.junit.jupiter.api.Test;

/**
 * The estimator against a simulated network (simulated time, no sleeps): a sender of 1200-byte packets paced at the
 * estimate (or at a fixed demand), a FIFO bottleneck of a given capacity, a base one-way delay, optional random loss
 * and jitter (seeded), and a {@link TransportCcReceiver} whose feedback every 50 ms comes back after the base delay.
 */
class SendSideBandwidthEstimatorTest {

    static final int PACKET = 1200;

    /** One sender → bottleneck → receiver → feedback loop. Times in µs. */
    static final class Sim {
        final SendSideBandwidthEstimator est;
        final TransportCcReceiver rx = new TransportCcReceiver();
        final Random random;
        long capacityBps = 100_000_000;
        long baseDelayUs = 40_000;
        /** Extra per-packet delay after the bottleneck, uniform in [0, jitterUs); order is kept (FIFO). */
        long jitterUs;
        double lossRate;
        long demandBps = 50_000_000;
        boolean pacedAtEstimate = true;
        int queueLimitPackets = 100_000;
        /** Every this many µs a probe cluster of {@link #probePackets} goes out back to back (0: never). */
        long probeEveryUs;
        int probePackets = 12;
        long nextProbeUs;

        long nowUs;
        int seq;
        double nextSendUs;
        long linkFreeAtUs;
        long lastArrivalUs;
        final ArrayDeque<long[]> queue = new ArrayDeque<>();    // {seq, enqueueUs}
        final ArrayDeque<long[]> inFlight = new ArrayDeque<>(); // {seq, arrivalUs}
        final ArrayDeque<Object[]> feedback = new ArrayDeque<>(); // {arrivalUs, ByteBuf}
        long nextFeedbackUs = 50_000;
        long maxQueueDelayUs;
        long sentBytes;
        long deliveredBytes;
        long feedbackRejected;

        Sim(SendSideBandwidthEstimator est, long seed) {
            this.est = est;
            this.random = new Random(seed);
        }

        void run(long durationUs) {
            long end = nowUs + durationUs;
            while (nowUs < end) {
                long stepEnd = nowUs + 1000;
                if (nowUs >= nextFeedbackUs) {
                    ByteBuf b = Unpooled.buffer();
                    if (rx.writeFeedback(b, 0x1111, 0x2222, nowUs * 1000) > 0) {
                        feedback.add(new Object[]{nowUs + baseDelayUs, b});
                    }
                    nextFeedbackUs += TransportCcReceiver.RECOMMENDED_INTERVAL_MS * 1000L;
                }
                if (probeEveryUs > 0 && nowUs >= nextProbeUs) {
                    nextProbeUs = nowUs + probeEveryUs;
                    est.startProbeCluster();
                    for (int i = 0; i < probePackets; i++) {
                        int s = seq++ & 0xFFFF;
                        est.onPacketSent(s, PACKET, nowUs * 1000, true);
                        if (random.nextDouble() >= lossRate && queue.size() < queueLimitPackets) {
                            queue.add(new long[]{s, nowUs});
                        }
                    }
                }
                double rate = pacedAtEstimate ? Math.min(est.estimateBps(), demandBps) : demandBps;
                nextSendUs = Math.max(nextSendUs, nowUs);
                while (nextSendUs < stepEnd) {
                    long t = (long) nextSendUs;
                    int s = seq++ & 0xFFFF;
                    est.onPacketSent(s, PACKET, t * 1000, false);
                    sentBytes += PACKET;
                    if (random.nextDouble() >= lossRate && queue.size() < queueLimitPackets) {
                        queue.add(new long[]{s, t});
                    }
                    nextSendUs += PACKET * 8 * 1e6 / rate;
                }
                while (!queue.isEmpty()) {
                    long[] p = queue.peek();
                    long start = Math.max(p[1], linkFreeAtUs);
                    long done = start + PACKET * 8 * 1_000_000L / capacityBps;
                    if (done >= stepEnd) {
                        break;
                    }
                    queue.poll();
                    linkFreeAtUs = done;
                    maxQueueDelayUs = Math.max(maxQueueDelayUs, done - p[1]);
                    long arrival = done + baseDelayUs + (jitterUs > 0 ? random.nextLong(jitterUs) : 0);
                    lastArrivalUs = Math.max(lastArrivalUs, arrival);
                    inFlight.add(new long[]{p[0], lastArrivalUs});
                }
                while (!inFlight.isEmpty() && inFlight.peek()[1] < stepEnd) {
                    long[] p = inFlight.poll();
                    rx.onPacket((int) p[0], p[1] * 1000);
                    deliveredBytes += PACKET;
                }
                while (!feedback.isEmpty() && (long) feedback.peek()[0] < stepEnd) {
                    Object[] f = feedback.poll();
                    ByteBuf b = (ByteBuf) f[1];
                    assertThat(RtcpPacket.isValidCompound(b)).isTrue();
                    for (int off = 0; off < b.writerIndex(); off += RtcpPacket.lengthBytes(b, off)) {
                        if (!est.onFeedback(b, off, (long) f[0] * 1000)) {
                            feedbackRejected++;
                        }
                    }
                }
                nowUs = stepEnd;
            }
        }

        /** Runs and returns the smallest and largest estimate seen, sampled every 100 ms. */
        long[] runTracking(long durationUs) {
            long min = Long.MAX_VALUE;
            long max = 0;
            for (long t = 0; t < durationUs; t += 100_000) {
                run(100_000);
                min = Math.min(min, est.estimateBps());
                max = Math.max(max, est.estimateBps());
            }
            return new long[]{min, max};
        }
    }

    /** These scenarios start where the estimator started before probing existed: 1 Mbit/s, no probes. */
    static SendSideBandwidthEstimator startingAt1M() {
        return new SendSideBandwidthEstimator(1_000_000, SendSideBandwidthEstimator.DEFAULT_MIN_BPS,
                SendSideBandwidthEstimator.DEFAULT_MAX_BPS);
    }

    @Test
    void settlesNearA500kBottleneck() {
        Sim sim = new Sim(new SendSideBandwidthEstimator(), 1);
        sim.capacityBps = 500_000;
        sim.jitterUs = 5_000;
        sim.run(10_000_000);
        sim.maxQueueDelayUs = 0;
        long[] range = sim.runTracking(20_000_000);
        long est = sim.est.estimateBps();
        assertThat(est).as("estimate after 30 s").isBetween(350_000L, 650_000L);
        assertThat(range[0]).as("lowest estimate in the last 20 s").isGreaterThan(300_000L);
        assertThat(range[1]).as("highest estimate in the last 20 s").isLessThan(700_000L);
        assertThat(sim.maxQueueDelayUs).as("queue delay in the last 20 s, µs").isLessThan(400_000L);
        assertThat(sim.est.acknowledgedBps()).isBetween(300_000L, 550_000L);
        assertThat(sim.feedbackRejected).isZero();
    }

    @Test
    void followsACapacityDrop() {
        Sim sim = new Sim(new SendSideBandwidthEstimator(), 2);
        sim.capacityBps = 2_000_000;
        sim.jitterUs = 5_000;
        sim.run(25_000_000);
        long before = sim.est.estimateBps();
        assertThat(before).as("estimate on a 2 Mbit/s link").isBetween(1_400_000L, 2_600_000L);
        sim.capacityBps = 400_000;
        sim.run(3_000_000);
        assertThat(sim.est.estimateBps()).as("3 s after the drop to 400 kbit/s").isLessThan(500_000L);
    }

    @Test
    void randomLossLowersTheEstimate() {
        Sim sim = new Sim(new SendSideBandwidthEstimator(), 3);
        sim.lossRate = 0.15;
        sim.run(10_000_000);
        assertThat(sim.est.lossFraction()).isBetween(0.07, 0.25);
        assertThat(sim.est.estimateBps()).as("with 15 % loss").isLessThan(500_000L);
        assertThat(sim.est.delayBasedBps()).as("the delay-based part does not see the loss")
                .isGreaterThan(sim.est.estimateBps());
    }

    @Test
    void lowLossDoesNotLowerTheEstimate() {
        Sim sim = new Sim(startingAt1M(), 4);
        sim.lossRate = 0.01;
        sim.demandBps = 2_000_000;
        sim.run(15_000_000);
        assertThat(sim.est.estimateBps()).isGreaterThan(1_500_000L);
    }

    @Test
    void growsOnAnUnconstrainedLink() {
        Sim sim = new Sim(startingAt1M(), 5);
        sim.demandBps = 3_000_000;
        sim.jitterUs = 5_000;
        sim.run(15_000_000);
        assertThat(sim.est.estimateBps()).as("after 15 s with 3 Mbit/s to send").isGreaterThanOrEqualTo(2_500_000L);
        assertThat(sim.est.estimateBps()).as("throughput limit").isLessThanOrEqualTo(4_510_000L);
        assertThat(sim.est.state()).isEqualTo(SendSideBandwidthEstimator.BandwidthUsage.NORMAL);
    }

    @Test
    void doesNotRunAwayWhenApplicationLimited() {
        Sim sim = new Sim(startingAt1M(), 6);
        sim.demandBps = 300_000; // the bridge has only 300 kbit/s to send
        sim.run(30_000_000);
        assertThat(sim.est.estimateBps()).isLessThanOrEqualTo(1_000_000L);
        assertThat(sim.est.acknowledgedBps()).isBetween(270_000L, 330_000L);

        SendSideBandwidthEstimator low = new SendSideBandwidthEstimator(100_000, 30_000, 20_000_000);
        low.setApplicationLimited(true);
        Sim sim2 = new Sim(low, 7);
        sim2.demandBps = 300_000;
        sim2.run(30_000_000);
        assertThat(low.estimateBps()).as("grows to what is sent, not beyond 2×").isBetween(300_000L, 600_000L);
    }

    @Test
    void probeClustersFindABetterLinkWithinSecondsAndNoMoreThanItCarries() {
        // 150 kbit/s of audio and a suspended video held back (so not application limited: Endpoint probes only
        // then), estimate 100 kbit/s; the link carries 2 Mbit/s
        SendSideBandwidthEstimator est = new SendSideBandwidthEstimator(100_000, 30_000, 20_000_000);
        Sim sim = new Sim(est, 9);
        sim.pacedAtEstimate = false;
        sim.demandBps = 150_000;
        sim.capacityBps = 2_000_000;
        sim.probeEveryUs = 2_000_000;
        sim.run(6_500_000);
        assertThat(est.probeResults()).as("clusters evaluated").isGreaterThanOrEqualTo(3);
        assertThat(est.lastProbeResultBps()).as("a cluster's receive rate is the bottleneck's")
                .isBetween(1_600_000L, 2_400_000L);
        assertThat(est.estimateBps()).as("after three probes").isGreaterThan(1_000_000L)
                .isLessThanOrEqualTo(2_000_000L);

        // the same on a 384 kbit/s link: probes do not lift the estimate above what the link carries
        SendSideBandwidthEstimator rural = new SendSideBandwidthEstimator(100_000, 30_000, 20_000_000);
        Sim sim2 = new Sim(rural, 10);
        sim2.pacedAtEstimate = false;
        sim2.demandBps = 150_000;
        sim2.capacityBps = 384_000;
        sim2.probeEveryUs = 2_000_000;
        sim2.run(10_500_000);
        assertThat(rural.lastProbeResultBps()).isBetween(300_000L, 470_000L);
        assertThat(rural.estimateBps()).isBetween(250_000L, 384_000L);
    }

    @Test
    void acknowledgedBitrateMatchesWhatArrives() {
        Sim sim = new Sim(new SendSideBandwidthEstimator(), 8);
        sim.pacedAtEstimate = false;
        sim.demandBps = 1_000_000;
        sim.capacityBps = 800_000; // more than the link carries: acknowledged is the link rate
        sim.queueLimitPackets = 50;
        sim.run(5_000_000);
        assertThat(sim.est.acknowledgedBps()).isBetween(720_000L, 880_000L);
        assertThat(sim.est.sendRateBps()).isBetween(950_000L, 1_050_000L);
        assertThat(sim.est.lossFraction()).isBetween(0.1, 0.3); // tail drop of the 200 kbit/s excess
    }

    @Test
    void rejectsMalformedFeedbackWithoutChangingState() {
        SendSideBandwidthEstimator est = new SendSideBandwidthEstimator();
        ByteBuf fb = Unpooled.buffer();
        TransportCcReceiver rx = new TransportCcReceiver();
        rx.onPacket(0, 1_000_000);
        rx.onPacket(1, 2_000_000);
        rx.writeFeedback(fb, 1, 2, 0);
        assertThat(est.onFeedback(fb, 0, 3_000_000)).as("nothing sent yet").isFalse();
        est.onPacketSent(0, 1200, 0, false);
        est.onPacketSent(1, 1200, 1_000_000, false);
        ByteBuf truncated = fb.copy(0, fb.readableBytes() - 4);
        assertThat(est.onFeedback(truncated, 0, 3_000_000)).isFalse();
        assertThat(est.onFeedback(fb, 5, 3_000_000)).isFalse();
        assertThat(est.onFeedback(fb, 1_000, 3_000_000)).isFalse();
        assertThat(est.estimateBps()).isEqualTo(SendSideBandwidthEstimator.DEFAULT_START_BPS);
        assertThat(est.onFeedback(fb, 0, 3_000_000)).isTrue();
        assertThat(est.onFeedback(fb, 0, 3_000_000)).as("the same feedback twice reports nothing new").isFalse();
        assertThat(est.feedbacksRejected()).isEqualTo(4);
        assertThat(est.feedbacksAccepted()).isEqualTo(1);
    }

    @Test
    void clampsToMinAndMax() {
        SendSideBandwidthEstimator est = new SendSideBandwidthEstimator(5_000_000, 200_000, 1_500_000);
        assertThat(est.estimateBps()).isEqualTo(1_500_000);
        Sim sim = new Sim(est, 9);
        sim.lossRate = 0.5;
        sim.run(10_000_000);
        assertThat(est.estimateBps()).isEqualTo(200_000);
    }

    @Test
    void packetPathDoesNotAllocate() {
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        SendSideBandwidthEstimator est = new SendSideBandwidthEstimator();
        TransportCcReceiver rx = new TransportCcReceiver();
        ByteBuf fb = Unpooled.directBuffer(64 * 1024);
        long sink = 0;
        for (int i = 0; i < 50_000; i++) {
            sink += step(est, rx, fb, i);
        }
        long before = mx.getCurrentThreadAllocatedBytes();
        for (int i = 50_000; i < 250_000; i++) {
            sink += step(est, rx, fb, i);
        }
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        assertThat(sink).isPositive();
        assertThat(allocated).as("bytes allocated over 200k packets").isLessThan(4096);
    }

    private static long step(SendSideBandwidthEstimator est, TransportCcReceiver rx, ByteBuf fb, int i) {
        long send = 4_000_000L * i;
        est.onPacketSent(i & 0xFFFF, 1200, send, false);
        if (i % 13 != 0) {
            rx.onPacket(i & 0xFFFF, send + 30_000_000L + (i % 7) * 200_000L);
        }
        if (i % 12 == 0) {
            fb.clear();
            rx.writeFeedback(fb, 1, 2, 0);
            if (fb.isReadable() && est.onFeedback(fb, 0, send + 60_000_000L)) {
                return est.estimateBps();
            }
        }
        return 0;
    }
}
