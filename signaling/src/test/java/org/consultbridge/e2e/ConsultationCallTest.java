package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.EndpointStats;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue #2 end to end: a doctor and a room endpoint in real headless Chromium (fake camera and microphone) see and
 * hear each other through the bridge; a guest joins and sees both; a participant leaves and the others' tracks end.
 * The browsers run in a network namespace of the test's own: their only address is the veth end, and the server
 * (in this JVM) binds the other end, so all media crosses addresses the test created.
 */
class ConsultationCallTest {

    private static final String SECRET = "e2e-secret-e2e-secret-e2e-secret-e2e-secret";
    private static final Duration MEDIA_TIMEOUT = Duration.ofSeconds(45);
    private static final String SUB = "window.consultbridge.subscribePc";
    private static final String PUB = "window.consultbridge.publishPc";

    private NetNamespace ns;
    private MediaBridge bridge;
    private SignalingServer server;
    private TokenService tokens;
    private String origin;

    @BeforeEach
    void start() throws Exception {
        NetNamespace.requireAvailable();
        ns = NetNamespace.create();
        bridge = MediaBridges.start(new BridgeConfig(ns.hostAddress(), 0, List.of()));
        tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        // a page may turn end-to-end encryption off (&e2ee=0): H264 is forwarded only without it (issue #8)
        ServerConfig config = ServerConfig.load().withHttp(ns.hostAddress(), 0);
        server = SignalingServer.start(config.withClinical(config.clinical().withE2ee(true, true)), tokens, bridge);
        origin = "http://" + ns.hostAddress() + ":" + server.port();
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (bridge != null) {
            bridge.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    private Browser join(String page, String participant, Role role, String name) {
        return join(page, participant, role, name, "");
    }

    private Browser join(String page, String participant, Role role, String name, String options) {
        Browser b = Browser.start(ns, origin);
        b.open(origin + "/" + page + ".html#token=" + tokens.mint("c-e2e", participant, role, name, Duration.ofHours(1))
                + options);
        return b;
    }

    @Test
    void h264VideoIsForwardedToo() throws Exception {
        // end-to-end encryption keeps VP8's payload header in the clear for the bridge; H264 goes without it
        try (Browser doctor = join("doctor", "dr-h264", Role.DOCTOR, "Dr. H", "&video=h264&e2ee=0");
             Browser room = join("room", "room-h264", Role.ROOM, "Raum H", "&video=h264&e2ee=0")) {
            Admission.autoAdmit(doctor);
            awaitSubscribePc(doctor);
            awaitSubscribePc(room);
            awaitVideoFrom(doctor, 1, 60);
            awaitVideoFrom(room, 1, 60);
            for (Browser b : List.of(doctor, room)) {
                assertThat(b.execute("return window.consultbridgeE2ee.state")).isEqualTo("disabled");
                Object codecs = b.execute("return window.consultbridge.subscribePc.getStats().then(s => { const out = [];"
                        + " s.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'video')"
                        + " out.push(s.get(r.codecId).mimeType); }); return out; })");
                assertThat(codecs.toString()).contains("video/H264");
            }
        }
    }

    /** Waits until the page decodes more than {@code frames} video frames from each of {@code senders} participants. */
    private static void awaitVideoFrom(Browser b, int senders, long frames) {
        b.waitFor("(" + WebRtcStats.INBOUND_RTP_FN + ")(" + SUB + ").then(rs => "
                + "rs.filter(r => r.kind === 'video' && r.framesDecoded > " + frames + ").length >= " + senders + ")",
                MEDIA_TIMEOUT);
    }

    private static void awaitSubscribePc(Browser b) {
        b.waitFor("!!(window.consultbridge && window.consultbridge.subscribePc)", MEDIA_TIMEOUT);
    }

    @Test
    void doctorAndRoomSeeAndHearEachOtherThroughTheBridgeAndAGuestSeesBoth() throws Exception {
        try (Browser doctor = join("doctor", "dr-e2e", Role.DOCTOR, "Dr. E2E");
             Browser room = join("room", "room-e2e", Role.ROOM, "Raum E2E")) {
            Admission.autoAdmit(doctor);
            awaitSubscribePc(doctor);
            awaitSubscribePc(room);
            // encrypted end to end by default (issue #8)
            assertThat(doctor.execute("return window.consultbridgeE2ee.state")).isEqualTo("on");
            // each decodes the other's video (at least 60 frames) ...
            awaitVideoFrom(doctor, 1, 60);
            awaitVideoFrom(room, 1, 60);
            // ... and receives audio, still rising
            for (Browser b : List.of(doctor, room)) {
                long before = WebRtcStats.audioPacketsReceived(WebRtcStats.inboundRtp(b, SUB));
                assertThat(before).isPositive();
                b.waitFor("(" + WebRtcStats.INBOUND_RTP_FN + ")(" + SUB + ").then(rs => rs.filter(r => "
                        + "r.kind === 'audio').reduce((a, r) => a + r.packetsReceived, 0) > " + (before + 25) + ")",
                        Duration.ofSeconds(10));
                // media went to and came from the bridge: the selected pairs' remote candidate is the bridge's
                for (String pc : List.of(SUB, PUB)) {
                    WebRtcStats.CandidatePair pair = WebRtcStats.selectedPair(b, pc).orElseThrow();
                    assertThat(pair.remoteAddress()).isEqualTo(ns.hostAddress());
                    assertThat(pair.remotePort()).isEqualTo(bridge.udpPort());
                    assertThat(pair.localAddress()).isEqualTo(ns.nsAddress());
                }
            }
            // the bridge's own counters show packets forwarded both ways
            EndpointStats doctorStats = bridge.endpoint("c-e2e", "dr-e2e").orElseThrow().stats();
            EndpointStats roomStats = bridge.endpoint("c-e2e", "room-e2e").orElseThrow().stats();
            assertThat(doctorStats.rtpPacketsReceived()).isGreaterThan(100);
            assertThat(doctorStats.rtpPacketsSent()).isGreaterThan(100);
            assertThat(roomStats.rtpPacketsReceived()).isGreaterThan(100);
            assertThat(roomStats.rtpPacketsSent()).isGreaterThan(100);
            assertThat(bridge.stats().rtpPacketsForwarded()).isGreaterThan(400);

            // a guest (specialist, interpreter) joins and sees both
            try (Browser guest = join("guest", "guest-e2e", Role.GUEST, "Dolmetscherin")) {
                awaitSubscribePc(guest);
                awaitVideoFrom(guest, 2, 30);
                awaitVideoFrom(doctor, 2, 30);
                assertThat((Boolean) guest.execute("return window.consultbridge.remoteTracks.has('dr-e2e') "
                        + "&& window.consultbridge.remoteTracks.has('room-e2e')")).isTrue();

                // the guest leaves: the others' remote tracks of the guest end and its bridge endpoint is gone
                for (Browser b : List.of(doctor, room)) {
                    b.execute("window.guestTracks = window.consultbridge.remoteTracks.get('guest-e2e').getTracks();");
                    assertThat(((Number) b.execute("return window.guestTracks.length")).intValue()).isEqualTo(2);
                }
                guest.execute("document.getElementById('leave').click();");
                for (Browser b : List.of(doctor, room)) {
                    b.waitFor("window.guestTracks.every(t => t.readyState === 'ended') "
                            + "&& !window.consultbridge.remoteTracks.has('guest-e2e')", Duration.ofSeconds(15));
                }
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (bridge.endpoint("c-e2e", "guest-e2e").isPresent() && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertThat(bridge.endpoint("c-e2e", "guest-e2e")).isEmpty();
            }
            // and the call between doctor and room goes on
            long frames = WebRtcStats.videoFramesDecoded(WebRtcStats.inboundRtp(doctor, SUB));
            doctor.waitFor("(" + WebRtcStats.INBOUND_RTP_FN + ")(" + SUB + ").then(rs => rs.filter(r => "
                    + "r.kind === 'video').reduce((a, r) => a + r.framesDecoded, 0) > " + (frames + 30) + ")",
                    Duration.ofSeconds(15));
        }
    }
}
