package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.consultbridge.e2e.ShapedCall.concealment;
import static org.consultbridge.e2e.ShapedCall.num;
import static org.consultbridge.e2e.ShapedCall.received;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.consultbridge.bridge.api.ReceiveQuality;
import org.consultbridge.bridge.cc.BweTrace;
import org.consultbridge.bridge.netem.LinkProfile;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;

/**
 * Issue #3 on emulated links: the room endpoint's media crosses a {@link LinkRelay} shaped by a {@link LinkProfile}
 * (rate, delay, jitter, loss; this kernel has no netem), the doctor is on a clean link ({@link ShapedCall}). One
 * minute on {@code rural-weak}, then {@code edge} (video to the room suspended, audio goes on), then {@code good}
 * (the room gets the doctor's top layer again), then {@code rural-bursty}. Figures from the browsers' getStats().
 * Measured on this 2-core machine (2026-11-23, quiet): rural-weak room 20.0 fps at 180p in every sample, freezes
 * 0.5 s, audio concealment room 1.4 % / doctor 2.4 %, estimate 225-347 kbit/s; edge video suspended, concealment
 * 5.9 % (4.6-11.6 % across runs); good: the top layer after 5.4 s; rural-bursty 18 fps, freezes 1.5 s, concealment 4.1 %.
 */
class LinkProfilesCallTest {

    @Test
    void ruralWeakStaysUsableEdgeSuspendsVideoAndAGoodLinkBringsTheTopLayerBack() throws Exception {
        try (ShapedCall call = ShapedCall.start(LinkProfile.RURAL_WEAK)) {
            Map<?, ?> d0 = received(call.doctor);
            Map<?, ?> r0 = received(call.room);
            BweTrace.markAll("rural-weak", System.nanoTime());
            // ---- rural-weak: one minute, sampled every 5 s
            List<Double> heights = new ArrayList<>();
            List<Long> estimates = new ArrayList<>();
            Map<?, ?> prev = r0;
            long downDrops = call.relay.droppedDown();
            long downQueueDrops = call.relay.queueDroppedDown();
            for (int i = 0; i < 12; i++) {
                Thread.sleep(5000);
                Map<?, ?> r = received(call.room);
                heights.add(num(r, "height"));
                ReceiveQuality q = call.roomOnBridge.receiveQuality();
                estimates.add(q.estimatedDownlinkBps());
                System.out.printf("  rural-weak %2d s: room %.1f fps %.0fp layer %s, freeze +%.2f s, nacks +%.0f,"
                                + " plis +%.0f, keyframes +%.0f, lost +%.0f, jitter buffer %.0f ms (target %.0f),"
                                + " estimate %d, relay down drops +%d (queue +%d)%n",
                        5 * (i + 1), (num(r, "frames") - num(prev, "frames")) / 5, num(r, "height"),
                        q.videos().isEmpty() ? "-" : q.videos().get(0).layer(), num(r, "freeze") - num(prev, "freeze"),
                        num(r, "nacks") - num(prev, "nacks"), num(r, "plis") - num(prev, "plis"),
                        num(r, "keyframes") - num(prev, "keyframes"), num(r, "lost") - num(prev, "lost"),
                        1000 * (num(r, "jbDelay") - num(prev, "jbDelay"))
                                / Math.max(1, num(r, "jbCount") - num(prev, "jbCount")),
                        num(r, "target"), q.estimatedDownlinkBps(), call.relay.droppedDown() - downDrops,
                        call.relay.queueDroppedDown() - downQueueDrops);
                downDrops = call.relay.droppedDown();
                downQueueDrops = call.relay.queueDroppedDown();
                prev = r;
            }
            Map<?, ?> d1 = received(call.doctor);
            Map<?, ?> r1 = received(call.room);
            double roomFps = (num(r1, "frames") - num(r0, "frames")) / 60.0;
            double roomConcealed = concealment(r0, r1);
            double doctorConcealed = concealment(d0, d1);
            double roomFreeze = num(r1, "freeze") - num(r0, "freeze");
            long at180 = heights.stream().filter(h -> h >= 180).count();
            System.out.printf("rural-weak: room fps %.1f, heights %s, freeze %.1f s, concealment room %.3f doctor %.3f,"
                            + " estimates %s, relay drops up %d down %d%n", roomFps, heights, roomFreeze,
                    roomConcealed, doctorConcealed, estimates, call.relay.droppedUp(), call.relay.droppedDown());
            // soft: the later phases run (and are reported) even when a rural-weak figure misses
            SoftAssertions softly = new SoftAssertions();
            softly.assertThat(roomConcealed).as("room's audio concealment on rural-weak").isLessThan(0.03);
            softly.assertThat(doctorConcealed).as("doctor's audio concealment on rural-weak").isLessThan(0.03);
            softly.assertThat(roomFps).as("room's received video fps on rural-weak").isGreaterThanOrEqualTo(12);
            softly.assertThat(at180).as("samples with at least 180p of 12").isGreaterThanOrEqualTo(8);
            softly.assertThat(roomFreeze).as("room's total freeze time on rural-weak, s").isLessThan(2.0);
            softly.assertThat(estimates.get(estimates.size() - 1)).as("the bridge's estimate of the 384 kbit/s downlink")
                    .isBetween(100_000L, 700_000L);

            // ---- edge: video to the room is suspended (not frozen), audio goes on
            call.relay.setProfile(LinkProfile.EDGE);
            BweTrace.markAll("edge", System.nanoTime());
            call.room.waitFor("window.consultbridge.suspended.size > 0", Duration.ofSeconds(40));
            assertThat(call.roomOnBridge.receiveQuality().videos()).allMatch(ReceiveQuality.ReceivedVideo::suspended);
            Map<?, ?> e0 = received(call.room);
            Thread.sleep(15_000);
            Map<?, ?> e1 = received(call.room);
            System.out.printf("edge: room concealment %.3f, frames decoded +%.0f, estimate %d%n", concealment(e0, e1),
                    num(e1, "frames") - num(e0, "frames"), call.roomOnBridge.receiveQuality().estimatedDownlinkBps());
            // measured 4.6-11.6 % over 15 s in separate runs (the edge link's own loss varies that much over 15 s);
            // without the bridge's adaptation the same link conceals 62 % (docs/link-benchmark.md)
            softly.assertThat(concealment(e0, e1)).as("room's audio concealment on edge").isLessThan(0.15);

            // ---- good: the room gets the doctor's top layer within 15 s
            call.relay.setProfile(LinkProfile.GOOD);
            BweTrace.markAll("good", System.nanoTime());
            long switched = System.nanoTime();
            long deadline = switched + Duration.ofSeconds(15).toNanos();
            ReceiveQuality.ReceivedVideo v = null;
            while (System.nanoTime() < deadline) {
                v = call.roomOnBridge.receiveQuality().videos().get(0);
                if (v.layer() >= 0 && v.layer() == call.topLayerSentByDoctor()) {
                    break;
                }
                Thread.sleep(250);
            }
            System.out.printf("good: after %.1f s the room receives layer %d of the doctor's top %d, estimate %d%n",
                    (System.nanoTime() - switched) / 1e9, v.layer(), call.topLayerSentByDoctor(),
                    call.roomOnBridge.receiveQuality().estimatedDownlinkBps());
            softly.assertThat(v.layer()).as("the doctor's top layer reaches the room within 15 s")
                    .isEqualTo(call.topLayerSentByDoctor());
            softly.assertThat((Boolean) call.room.execute("return window.consultbridge.suspended.size === 0")).isTrue();

            // ---- rural-bursty: 3 % loss in bursts; audio (RED covers one packet in two, not a burst) goes on
            call.relay.setProfile(LinkProfile.RURAL_BURSTY);
            BweTrace.markAll("rural-bursty", System.nanoTime());
            Map<?, ?> b0 = received(call.room);
            Thread.sleep(20_000);
            Map<?, ?> b1 = received(call.room);
            BweTrace.markAll("end", System.nanoTime());
            System.out.printf("rural-bursty: room fps %.1f, freeze %.1f s, concealment %.3f, estimate %d%n",
                    (num(b1, "frames") - num(b0, "frames")) / 20, num(b1, "freeze") - num(b0, "freeze"),
                    concealment(b0, b1), call.roomOnBridge.receiveQuality().estimatedDownlinkBps());
            softly.assertThat(concealment(b0, b1)).as("room's audio concealment on rural-bursty").isLessThan(0.08);
            softly.assertThat(num(b1, "frames") - num(b0, "frames")).as("room's video goes on").isPositive();
            softly.assertAll();
        }
    }
}
