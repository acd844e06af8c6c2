package org.consultbridge.bridge.cc;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/**
 * The estimator replaying inputs recorded from real calls: a headless Chromium receiving from the bridge through
 * the user-space emulated link ({@code LinkRelay} with the {@code netem} link profiles), its transport-cc feedback
 * recorded with {@link BweTrace} (how: {@code src/test/resources/bwe-traces/README.md}). The recorded sends and
 * feedback are fed to a fresh estimator in order; the estimate must follow the link's capacity as each phase of
 * the recording changed it: steady on rural-weak (384 kbit/s), a step down to edge (128 kbit/s), a step up to good
 * (20 Mbit/s) and bursty loss.
 */
class BweTraceReplayTest {

    /** The estimate over time of one replay, and the times of the recording's markers. */
    record Replay(List<long[]> estimates, Map<String, Long> markers, long end, long rejected) {

        /** Estimates (bps) between {@code fromNanos} and {@code toNanos}. */
        List<Long> between(long fromNanos, long toNanos) {
            return estimates.stream().filter(e -> e[0] >= fromNanos && e[0] < toNanos).map(e -> e[1]).toList();
        }

        long marker(String label) {
            Long t = markers.get(label);
            assertThat(t).as("marker " + label + " in the trace").isNotNull();
            return t;
        }

        /** First time at or after {@code fromNanos} the estimate satisfies {@code test}, or -1. */
        long firstTime(long fromNanos, java.util.function.LongPredicate test) {
            for (long[] e : estimates) {
                if (e[0] >= fromNanos && test.test(e[1])) {
                    return e[0];
                }
            }
            return -1;
        }
    }

    static Replay replay(String resource) throws IOException {
        SendSideBandwidthEstimator est = new SendSideBandwidthEstimator();
        List<long[]> estimates = new ArrayList<>();
        Map<String, Long> markers = new LinkedHashMap<>();
        long last = 0;
        try (InputStream in = BweTraceReplayTest.class.getResourceAsStream("/bwe-traces/" + resource)) {
            assertThat(in).as(resource).isNotNull();
            BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(in), StandardCharsets.US_ASCII));
            String line;
            while ((line = r.readLine()) != null) {
                String[] f = line.split(" ");
                long t = Long.parseLong(f[1]);
                last = t;
                switch (f[0]) {
                    case "s" -> est.onPacketSent(Integer.parseInt(f[2]), Integer.parseInt(f[3]), t, f[4].equals("1"));
                    case "a" -> est.setApplicationLimited(f[2].equals("1"));
                    case "p" -> est.startProbeCluster();
                    case "m" -> markers.put(f[2], t);
                    case "f" -> {
                        ByteBuf b = Unpooled.wrappedBuffer(HexFormat.of().parseHex(f[2]));
                        if (est.onFeedback(b, 0, t)) {
                            estimates.add(new long[] {t, est.estimateBps()});
                        }
                    }
                    default -> throw new IllegalStateException("bad trace line " + line);
                }
            }
        }
        return new Replay(estimates, markers, last, est.feedbacksRejected());
    }

    /**
     * One call (the {@code LinkProfilesCallTest} scenario): rural-weak for a minute, edge, good, rural-bursty. The
     * room endpoint's downlink estimate, replayed.
     */
    private static final String CALL = "room-rural-edge-good-bursty.trace.gz";

    @Test
    void steadyOnRuralWeakTheEstimateStaysNearTheLink() throws IOException {
        Replay r = replay(CALL);
        assertThat(r.rejected()).as("feedback the estimator rejected").isZero();
        List<Long> steady = r.between(r.marker("rural-weak") + seconds(15), r.marker("edge"));
        assertThat(steady).hasSizeGreaterThan(100);
        assertThat(median(steady)).as("median estimate of the 384 kbit/s link").isBetween(200_000L, 420_000L);
        long inRange = steady.stream().filter(e -> e >= 100_000 && e <= 500_000).count();
        assertThat(inRange).as("estimates between 100 and 500 kbit/s").isGreaterThanOrEqualTo(steady.size() * 8L / 10);
    }

    @Test
    void aStepDownToEdgeIsFollowedWithinSeconds() throws IOException {
        Replay r = replay(CALL);
        long edge = r.marker("edge");
        long below = r.firstTime(edge, e -> e < 200_000);
        assertThat(below).as("estimate under 200 kbit/s after the step to 128 kbit/s").isPositive();
        assertThat((below - edge) / 1e9).as("seconds to follow the step down").isLessThan(6.0);
        assertThat(median(r.between(edge + seconds(8), r.marker("good")))).as("median on edge")
                .isLessThan(170_000L);
    }

    @Test
    void aStepUpToGoodIsFoundByProbingWithinSeconds() throws IOException {
        Replay r = replay(CALL);
        long good = r.marker("good");
        long above = r.firstTime(good, e -> e > 1_000_000);
        assertThat(above).as("estimate over 1 Mbit/s after the step to 20 Mbit/s").isPositive();
        assertThat((above - good) / 1e9).as("seconds to find the better link").isLessThan(12.0);
    }

    @Test
    void burstyLossDoesNotCollapseTheEstimate() throws IOException {
        Replay r = replay(CALL);
        List<Long> bursty = r.between(r.marker("rural-bursty") + seconds(8), r.marker("end"));
        assertThat(bursty).hasSizeGreaterThan(50);
        assertThat(median(bursty)).as("median estimate with bursty loss on a 384 kbit/s link")
                .isBetween(120_000L, 450_000L);
    }

    static long median(List<Long> values) {
        assertThat(values).isNotEmpty();
        List<Long> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    static long seconds(double s) {
        return (long) (s * 1e9);
    }
}
