package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.consultbridge.e2e.ShapedCall.concealment;
import static org.consultbridge.e2e.ShapedCall.num;
import static org.consultbridge.e2e.ShapedCall.received;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.consultbridge.bridge.netem.LinkProfile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * Issue #3's benchmark (not a timed test): every link profile with the bridge's adaptation on (transport-cc
 * feedback, per-receiver estimate, allocator, probing) and off (no transport-cc: the bridge forwards the top layer
 * and gives the senders no delay feedback, like a plain SFU), one doctor and one room endpoint in headless Chromium
 * ({@link ShapedCall}), figures from getStats() over a measurement window. Prints a table and writes it to
 * {@code target/link-benchmark.md}. Run: {@code ./consultbridge linkbench} (root; about 2 minutes per row with the
 * default 60 s window, {@code CB_LINK_BENCH_SECONDS} changes it).
 */
@EnabledIfEnvironmentVariable(named = "CB_LINK_BENCH", matches = "1",
        disabledReason = "a benchmark, not a test: ./consultbridge linkbench")
class LinkBenchmark {

    private static final String NO_ADAPTATION = "consultbridge.bridge.no-transport-cc";

    record Row(String profile, String adaptation, double roomFps, double roomHeight, double roomFreeze,
               double roomConcealment, double doctorFps, double doctorHeight, double doctorFreeze,
               double doctorConcealment, long roomEstimate) {
    }

    @Test
    void eachProfileWithAdaptationOnAndOff() throws Exception {
        int seconds = Integer.parseInt(System.getenv().getOrDefault("CB_LINK_BENCH_SECONDS", "60"));
        List<Row> rows = new ArrayList<>();
        for (LinkProfile profile : List.of(LinkProfile.RURAL_WEAK, LinkProfile.EDGE, LinkProfile.GOOD)) {
            for (boolean adaptation : List.of(true, false)) {
                if (adaptation) {
                    System.clearProperty(NO_ADAPTATION);
                } else {
                    System.setProperty(NO_ADAPTATION, "true");
                }
                try {
                    rows.add(measure(profile, adaptation, seconds));
                } finally {
                    System.clearProperty(NO_ADAPTATION);
                }
                System.out.println(table(rows));
            }
        }
        String md = table(rows);
        Files.writeString(Path.of("target", "link-benchmark.md"), md);
        System.out.println(md);
        assertThat(rows).hasSize(6);
    }

    private static Row measure(LinkProfile profile, boolean adaptation, int seconds) throws Exception {
        try (ShapedCall call = ShapedCall.start(profile)) {
            Thread.sleep(10_000); // settle: estimates, layers, playout delay
            Map<?, ?> r0 = received(call.room);
            Map<?, ?> d0 = received(call.doctor);
            List<Double> roomHeights = new ArrayList<>();
            List<Double> doctorHeights = new ArrayList<>();
            List<Long> estimates = new ArrayList<>();
            for (int t = 0; t < seconds; t += 5) {
                Thread.sleep(5000);
                roomHeights.add(num(received(call.room), "height"));
                doctorHeights.add(num(received(call.doctor), "height"));
                estimates.add(call.roomOnBridge.receiveQuality().estimatedDownlinkBps());
            }
            Map<?, ?> r1 = received(call.room);
            Map<?, ?> d1 = received(call.doctor);
            return new Row(profile.name(), adaptation ? "on" : "off",
                    (num(r1, "frames") - num(r0, "frames")) / seconds, median(roomHeights),
                    num(r1, "freeze") - num(r0, "freeze"), concealment(r0, r1),
                    (num(d1, "frames") - num(d0, "frames")) / seconds, median(doctorHeights),
                    num(d1, "freeze") - num(d0, "freeze"), concealment(d0, d1),
                    estimates.stream().sorted().toList().get(estimates.size() / 2));
        }
    }

    private static double median(List<Double> values) {
        return values.stream().sorted().toList().get(values.size() / 2);
    }

    static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| link | adaptation | room receives: fps | height (median) | freeze s | audio concealed |")
                .append(" doctor receives: fps | height (median) | freeze s | audio concealed | bridge's estimate of room downlink |\n");
        sb.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %.1f | %.0fp | %.1f | %.1f %% | %.1f | %.0fp | %.1f | %.1f %% | %s |%n",
                    r.profile(), r.adaptation(), r.roomFps(), r.roomHeight(), r.roomFreeze(), 100 * r.roomConcealment(),
                    r.doctorFps(), r.doctorHeight(), r.doctorFreeze(), 100 * r.doctorConcealment(),
                    r.roomEstimate() < 0 ? "none (off)" : (r.roomEstimate() / 1000) + " kbit/s"));
        }
        return sb.toString();
    }
}
