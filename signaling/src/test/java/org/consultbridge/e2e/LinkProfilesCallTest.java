package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.api.ReceiveQuality;
import org.consultbridge.bridge.netem.LinkProfile;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * Issue #3 on emulated links: the room endpoint's media crosses a {@link LinkRelay} shaped by a {@link LinkProfile}
 * (rate, delay, jitter, loss; this kernel has no netem), the doctor is on a clean link. One minute on
 * {@code rural-weak}, then {@code edge} (video to the room suspended, audio goes on), then {@code good} (the room
 * gets the doctor's top layer again). Figures from the browsers' getStats().
 */
@EnabledIfEnvironmentVariable(named = "CB_LINK_PROFILES", matches = "1",
        disabledReason = "the acceptance test of issue #3's link profiles; not yet in CI because two targets are not"
                + " met yet (rural-weak: audio concealment measured 2.9-4.2 % for < 3 %, freezes 3-5 s for < 2 s)"
                + " and a flaky CI is worse than none. Run: CB_LINK_PROFILES=1 ./mvnw -pl signaling -am test"
                + " -Dtest=LinkProfilesCallTest -Dsurefire.failIfNoSpecifiedTests=false")
class LinkProfilesCallTest {

    private static final String SECRET = "links-secret-links-secret-links-secret-123";
    private static final String SUB = "window.consultbridge.subscribePc";
    /** What a page receives: video frames, height, freezes; audio samples and concealment. */
    private static final String RECEIVED = """
            return window.consultbridge.subscribePc.getStats().then(s => { const o = {frames: 0, height: 0,
              freeze: 0, samples: 0, concealed: 0};
              s.forEach(r => { if (r.type !== 'inbound-rtp') return;
                if (r.kind === 'video') { o.frames += r.framesDecoded || 0; o.height = Math.max(o.height, r.frameHeight || 0);
                  o.freeze += r.totalFreezesDuration || 0; }
                else { o.samples += r.totalSamplesReceived || 0; o.concealed += r.concealedSamples || 0; } });
              return o; });""";

    private NetNamespace clinic;
    private NetNamespace village;
    private MediaBridge bridge;
    private SignalingServer server;
    private LinkRelay relay;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {server, relay, bridge::close, village, clinic}) {
            if (c != null) {
                c.close();
            }
        }
    }

    @Test
    void ruralWeakStaysUsableEdgeSuspendsVideoAndAGoodLinkBringsTheTopLayerBack() throws Exception {
        NetNamespace.requireAvailable();
        clinic = NetNamespace.create();
        village = NetNamespace.create();
        // The bridge listens on the clinic's side; the candidate it advertises for the village is the relay.
        int port = clinic.allocatePort();
        bridge = MediaBridges.start(new BridgeConfig(clinic.hostAddress(), port,
                List.of(clinic.hostAddress(), village.hostAddress())));
        relay = new LinkRelay(new InetSocketAddress(village.hostAddress(), port),
                new InetSocketAddress(clinic.hostAddress(), port), LinkProfile.RURAL_WEAK);
        // each browser reaches the bridge only through its own candidate
        blockUdpTo(village, clinic.hostAddress());
        blockUdpTo(clinic, village.hostAddress());
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        server = SignalingServer.start(ServerConfig.load().withHttp("0.0.0.0", 0), tokens, bridge);
        String clinicOrigin = "http://" + clinic.hostAddress() + ":" + server.port();
        String villageOrigin = "http://" + village.hostAddress() + ":" + server.port();

        try (Browser doctor = Browser.start(clinic, clinicOrigin);
             Browser room = Browser.start(village, villageOrigin)) {
            doctor.open(clinicOrigin + "/doctor.html#token="
                    + tokens.mint("c-links", "dr-l", Role.DOCTOR, "Dr. L", Duration.ofHours(1)));
            room.open(villageOrigin + "/room.html#token="
                    + tokens.mint("c-links", "room-l", Role.ROOM, "Raum L", Duration.ofHours(1)));
            for (Browser b : List.of(doctor, room)) {
                b.waitFor("!!(window.consultbridge && window.consultbridge.subscribePc)", Duration.ofSeconds(45));
                b.waitFor("(" + WebRtcStats.INBOUND_RTP_FN + ")(" + SUB + ").then(rs => rs.filter(r => "
                        + "r.kind === 'video' && r.framesDecoded > 30).length >= 1)", Duration.ofSeconds(60));
            }
            BridgeEndpoint roomOnBridge = bridge.endpoint("c-links", "room-l").orElseThrow();

            // ---- rural-weak: one minute, sampled every 5 s
            Map<?, ?> d0 = (Map<?, ?>) doctor.execute(RECEIVED);
            Map<?, ?> r0 = (Map<?, ?>) room.execute(RECEIVED);
            List<Double> heights = new ArrayList<>();
            List<Long> estimates = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                Thread.sleep(5000);
                heights.add(num((Map<?, ?>) room.execute(RECEIVED), "height"));
                estimates.add(roomOnBridge.receiveQuality().estimatedDownlinkBps());
            }
            Map<?, ?> d1 = (Map<?, ?>) doctor.execute(RECEIVED);
            Map<?, ?> r1 = (Map<?, ?>) room.execute(RECEIVED);
            double roomFps = (num(r1, "frames") - num(r0, "frames")) / 60.0;
            double roomConcealed = ratio(r0, r1);
            double doctorConcealed = ratio(d0, d1);
            double roomFreeze = num(r1, "freeze") - num(r0, "freeze");
            long at180 = heights.stream().filter(h -> h >= 180).count();
            System.out.printf("rural-weak: room fps %.1f, heights %s, freeze %.1f s, concealment room %.3f doctor %.3f,"
                            + " estimates %s, relay drops up %d down %d%n", roomFps, heights, roomFreeze,
                    roomConcealed, doctorConcealed, estimates, relay.droppedUp(), relay.droppedDown());
            assertThat(roomConcealed).as("room's audio concealment on rural-weak").isLessThan(0.03);
            assertThat(doctorConcealed).as("doctor's audio concealment on rural-weak").isLessThan(0.03);
            assertThat(roomFps).as("room's received video fps on rural-weak").isGreaterThanOrEqualTo(12);
            assertThat(at180).as("samples with at least 180p of 12").isGreaterThanOrEqualTo(8);
            // Measured 3-5 s: every loss repaired by NACK/RTX at 150 ms RTT delays a frame past Chromium's freeze
            // threshold (average interval + 150 ms). Needs FEC (or RED) towards lossy receivers.
            assertThat(roomFreeze).as("room's total freeze time on rural-weak, s").isLessThan(2.0);
            assertThat(estimates.get(estimates.size() - 1)).as("the bridge's estimate of the 384 kbit/s downlink")
                    .isBetween(100_000L, 700_000L);

            // ---- edge: video to the room is suspended (not frozen), audio goes on
            relay.setProfile(LinkProfile.EDGE);
            room.waitFor("window.consultbridge.suspended.size > 0", Duration.ofSeconds(40));
            assertThat(roomOnBridge.receiveQuality().videos()).allMatch(ReceiveQuality.ReceivedVideo::suspended);
            Map<?, ?> e0 = (Map<?, ?>) room.execute(RECEIVED);
            Thread.sleep(15_000);
            Map<?, ?> e1 = (Map<?, ?>) room.execute(RECEIVED);
            System.out.printf("edge: room concealment %.3f, estimate %d%n", ratio(e0, e1),
                    roomOnBridge.receiveQuality().estimatedDownlinkBps());
            assertThat(ratio(e0, e1)).as("room's audio concealment on edge").isLessThan(0.08);

            // ---- good: the room gets the doctor's top layer within 15 s
            relay.setProfile(LinkProfile.GOOD);
            room.waitFor("window.consultbridge.suspended.size === 0", Duration.ofSeconds(15));
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            ReceiveQuality.ReceivedVideo v = null;
            while (System.nanoTime() < deadline) {
                v = roomOnBridge.receiveQuality().videos().get(0);
                if (v.layer() >= 0 && v.layer() == topLayerSent(doctor)) {
                    break;
                }
                Thread.sleep(500);
            }
            System.out.printf("good: room receives layer %d of the doctor's top %d, estimate %d%n", v.layer(),
                    topLayerSent(doctor), roomOnBridge.receiveQuality().estimatedDownlinkBps());
            assertThat(v.layer()).as("the doctor's top layer reaches the room").isEqualTo(topLayerSent(doctor));
        }
    }

    /** The highest simulcast layer (0 = q, 1 = h, 2 = f) the doctor's browser is sending right now. */
    private static int topLayerSent(Browser doctor) {
        Object r = doctor.execute("return window.consultbridge.publishPc.getStats().then(s => { let top = -1;"
                + " s.forEach(x => { if (x.type === 'outbound-rtp' && x.kind === 'video' && x.active !== false"
                + " && (x.framesPerSecond || 0) > 0) top = Math.max(top, ['q','h','f'].indexOf(x.rid)); });"
                + " return top; })");
        return ((Number) r).intValue();
    }

    private static void blockUdpTo(NetNamespace ns, String address) {
        HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "table", "inet", "only");
        HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "chain", "inet", "only", "output",
                "{ type filter hook output priority 0 ; }");
        HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "rule", "inet", "only", "output",
                "ip", "daddr", address, "meta", "l4proto", "udp", "drop");
    }

    private static double ratio(Map<?, ?> before, Map<?, ?> after) {
        return (num(after, "concealed") - num(before, "concealed"))
                / Math.max(1, num(after, "samples") - num(before, "samples"));
    }

    private static double num(Map<?, ?> m, String key) {
        return ((Number) m.get(key)).doubleValue();
    }
}
