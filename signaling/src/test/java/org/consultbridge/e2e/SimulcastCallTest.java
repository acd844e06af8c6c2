package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.api.ReceiveQuality;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue #3, simulcast with real Chromium: the room endpoint publishes three VP8 layers; the bridge forwards one of
 * them to the doctor and switches layers while the doctor's decoder keeps decoding (no new stream, no freeze).
 */
class SimulcastCallTest {

    private static final String SECRET = "e2e-secret-e2e-secret-e2e-secret-e2e-secret";
    private static final String SUB = "window.consultbridge.subscribePc";
    private static final String PUB = "window.consultbridge.publishPc";
    /** The doctor's one inbound video: height, frames decoded, freezes. */
    private static final String INBOUND_VIDEO = "window.consultbridge.subscribePc.getStats().then(s => {"
            + " let v = null; s.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'video') v = r; });"
            + " return v ? { h: v.frameHeight || 0, frames: v.framesDecoded || 0, ssrc: v.ssrc } : null; })";

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
        server = SignalingServer.start(ServerConfig.load().withHttp(ns.hostAddress(), 0), tokens, bridge);
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
        Browser b = Browser.start(ns, origin);
        b.open(origin + "/" + page + ".html#token=" + tokens.mint("c-sim", participant, role, name, Duration.ofHours(1)));
        return b;
    }

    private static long number(Browser b, String field) {
        Object r = b.execute("return " + INBOUND_VIDEO + ".then(v => v ? v." + field + " : 0)");
        return ((Number) r).longValue();
    }

    @Test
    void theDoctorReceivesOneLayerAndTheBridgeSwitchesLayersWithoutBreakingTheVideo() throws Exception {
        try (Browser doctor = join("doctor", "dr-sim", Role.DOCTOR, "Dr. Sim");
             Browser room = join("room", "room-sim", Role.ROOM, "Raum Sim")) {
            Admission.autoAdmit(doctor);
            doctor.waitFor("!!(window.consultbridge && window.consultbridge.subscribePc)", Duration.ofSeconds(45));
            // the room sends simulcast: at least two encodings with a rid are flowing
            room.waitFor(PUB + " && " + PUB + ".getStats().then(s => { let n = 0; s.forEach(r => {"
                    + " if (r.type === 'outbound-rtp' && r.kind === 'video' && r.rid && r.framesEncoded > 30) n++; });"
                    + " return n >= 2; })", Duration.ofSeconds(45));
            doctor.waitFor(INBOUND_VIDEO + ".then(v => v && v.frames > 60)", Duration.ofSeconds(45));

            BridgeEndpoint doctorOnBridge = bridge.endpoint("c-sim", "dr-sim").orElseThrow();
            // the estimate starts at 300 kbit/s (the lowest layer) and probes up on this clean link within seconds
            await().atMost(Duration.ofSeconds(25)).pollInterval(Duration.ofMillis(250))
                    .until(() -> doctorOnBridge.receiveQuality().videos().get(0).layer() > 0);
            ReceiveQuality q = doctorOnBridge.receiveQuality();
            assertThat(q.videos()).singleElement().satisfies(v -> {
                assertThat(v.sourceEndpointId()).isEqualTo("room-sim");
                assertThat(v.layers()).isEqualTo(3);
                assertThat(v.layer()).as("nothing limits the doctor: above the lowest layer").isPositive();
            });
            long high = number(doctor, "h");
            long ssrc = number(doctor, "ssrc");

            // the bridge is told the doctor's view is small: layer 0 (a quarter of the resolution)
            doctorOnBridge.setMaxLayer(0);
            doctor.waitFor(INBOUND_VIDEO + ".then(v => v && v.h > 0 && v.h <= " + (high / 2) + ")",
                    Duration.ofSeconds(20));
            long frames = number(doctor, "frames");
            doctor.waitFor(INBOUND_VIDEO + ".then(v => v.frames > " + (frames + 30) + ")", Duration.ofSeconds(15));
            assertThat(doctorOnBridge.receiveQuality().videos().get(0).layer()).isZero();
            System.out.printf("simulcast: doctor saw %d lines high, then %d on layer 0%n", high, number(doctor, "h"));

            // and back up
            doctorOnBridge.setMaxLayer(2);
            doctor.waitFor(INBOUND_VIDEO + ".then(v => v.h >= " + high + ")", Duration.ofSeconds(20));
            frames = number(doctor, "frames");
            doctor.waitFor(INBOUND_VIDEO + ".then(v => v.frames > " + (frames + 30) + ")", Duration.ofSeconds(15));
            assertThat(number(doctor, "ssrc")).as("one continuous stream: no new SSRC at the receiver").isEqualTo(ssrc);
            assertThat(doctorOnBridge.receiveQuality().videos().get(0).layer()).isPositive();
        }
    }
}
