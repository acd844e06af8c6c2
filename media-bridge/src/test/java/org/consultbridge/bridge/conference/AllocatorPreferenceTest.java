package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.api.VideoPreference;
import org.consultbridge.bridge.sdp.PublishedTrack;
import org.consultbridge.bridge.sdp.RtpCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The allocator's choice for one receiver's main video among three simulcast layers with measured bit rates and
 * frame rates (issue #8's clinical profiles: frame rate first for {@code motion}, resolution for {@code detail}).
 * The layers are fed the way packets would feed them ({@link InboundStream#onPacket}), on a simulated clock.
 */
class AllocatorPreferenceTest {

    private static final long SECOND = 1_000_000_000L;
    private SfuBridge bridge;
    private Endpoint room;
    private Endpoint doctor;
    private final List<String> suspensions = new ArrayList<>();

    @BeforeEach
    void start() {
        bridge = SfuBridge.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        room = (Endpoint) bridge.createEndpoint("c-alloc", "room", new Quiet());
        doctor = (Endpoint) bridge.createEndpoint("c-alloc", "doctor", new Quiet());
    }

    @AfterEach
    void stop() {
        bridge.close();
    }

    private static final class Quiet implements EndpointListener {
        @Override
        public void subscribeRenegotiationNeeded() {
        }

        @Override
        public void transportStateChanged(TransportDirection direction, TransportState state) {
        }

        @Override
        public void videoSuspended(String sourceEndpointId, boolean suspended) {
        }
    }

    /** A consumer of the room's three-layer VP8 video, negotiated, layers bound to SSRCs. */
    private Consumer roomVideoToDoctor() {
        PublishedTrack track = new PublishedTrack("1", "video", "room", "room-video",
                List.of(new RtpCodec(96, "VP8", 90000, 1, Map.of(), List.of())), Map.of(), List.of(), Map.of(),
                List.of("q", "h", "f"));
        Producer p = new Producer(room, track, PooledByteBufAllocator.DEFAULT);
        for (int i = 0; i < p.streams.length; i++) {
            p.streams[i].bindSsrc(0x100 + i);
        }
        Consumer c = new Consumer(p, doctor, "0", 0x200, 0x201);
        c.negotiated = true;
        return c;
    }

    /**
     * Feeds each layer two seconds of packets up to {@code until}: {@code kbps[i]} kbit/s in frames of
     * {@code fps[i]} per second, one packet per frame (its marker bit set).
     */
    private static void feed(Consumer c, int[] kbps, int[] fps, long until) {
        for (int l = 0; l < kbps.length; l++) {
            InboundStream s = c.producer.streams[l];
            long interval = SECOND / fps[l];
            int bytes = (int) ((long) kbps[l] * 1000 / 8 / fps[l]);
            for (long t = until - 2 * SECOND; t <= until; t += interval) {
                s.onPacket(bytes, true, t);
            }
        }
    }

    private int allocate(Consumer c, long budgetBps, long now, VideoPreference preference) {
        Allocator.allocate(List.of(c), "room", budgetBps, now,
                (consumer, suspended) -> suspensions.add(suspended ? "off" : "on"), preference);
        return c.targetLayer;
    }

    @Test
    void theFrameRateIsMeasuredFromTheMarkerBits() {
        Consumer c = roomVideoToDoctor();
        long now = 10 * SECOND;
        feed(c, new int[] {150, 500, 1500}, new int[] {30, 30, 15}, now);
        assertThat(c.producer.streams[0].frameRate(now)).isBetween(2800L, 3200L);
        assertThat(c.producer.streams[2].frameRate(now)).isBetween(1350L, 1650L);
        assertThat(c.producer.streams[1].bitrate(now)).isBetween(450_000L, 550_000L);
        assertThat(c.producer.streams[2].frameRate(now + 2 * SECOND)).as("stopped layer").isZero();
    }

    @Test
    void withEqualFrameRatesEveryPreferenceTakesTheHighestLayerThatFits() {
        for (VideoPreference pref : VideoPreference.values()) {
            Consumer c = roomVideoToDoctor();
            long now = 10 * SECOND;
            feed(c, new int[] {150, 500, 1500}, new int[] {30, 30, 30}, now);
            assertThat(allocate(c, 5_000_000, now, pref)).as(pref + " unlimited").isEqualTo(2);
            assertThat(allocate(c, 700_000, now, pref)).as(pref + " 700 kbit/s").isEqualTo(1);
            assertThat(allocate(c, 300_000, now, pref)).as(pref + " 300 kbit/s").isZero();
        }
    }

    @Test
    void framerateFirstPassesOverALayerThatDroppedFramesAndResolutionFirstKeepsIt() {
        // the sender keeps the top layer's resolution but can only encode 10 fps of it (CPU or uplink adaptation)
        int[] kbps = {150, 500, 900};
        int[] fps = {30, 30, 10};
        long now = 10 * SECOND;

        Consumer motion = roomVideoToDoctor();
        feed(motion, kbps, fps, now);
        assertThat(allocate(motion, 5_000_000, now, VideoPreference.FRAMERATE))
                .as("motion: the smooth middle layer, not the jerky top one").isEqualTo(1);
        assertThat(allocate(motion, 300_000, now, VideoPreference.FRAMERATE)).isZero();

        Consumer detail = roomVideoToDoctor();
        feed(detail, kbps, fps, now);
        assertThat(allocate(detail, 5_000_000, now, VideoPreference.RESOLUTION))
                .as("detail: the full resolution at 10 fps").isEqualTo(2);

        Consumer balanced = roomVideoToDoctor();
        feed(balanced, kbps, fps, now);
        assertThat(allocate(balanced, 5_000_000, now, VideoPreference.BALANCED)).isEqualTo(2);
    }

    @Test
    void framerateFirstStillShowsSomethingWhenOnlyAJerkyLayerFits() {
        // the low layer is the jerky one; the smooth ones do not fit: better a jerky picture than none
        Consumer c = roomVideoToDoctor();
        long now = 10 * SECOND;
        feed(c, new int[] {100, 500, 1500}, new int[] {10, 30, 30}, now);
        assertThat(allocate(c, 200_000, now, VideoPreference.FRAMERATE)).isZero();
        assertThat(suspensions).doesNotContain("off");
        assertThat(allocate(c, 50_000, now, VideoPreference.FRAMERATE)).as("nothing fits: the lowest for a while")
                .isZero();
        long later = now + Allocator.SUSPEND_AFTER_NANOS;
        feed(c, new int[] {100, 500, 1500}, new int[] {10, 30, 30}, later);
        assertThat(allocate(c, 50_000, later, VideoPreference.FRAMERATE)).as("... then suspended").isEqualTo(-1);
        assertThat(suspensions).containsExactly("off");
    }
}
