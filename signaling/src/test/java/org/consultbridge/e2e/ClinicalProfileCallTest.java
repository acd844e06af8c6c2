package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.netem.LinkProfile;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue #8, clinical profiles with real Chromium (end-to-end encryption on, as by default): the doctor's downlink
 * crosses a {@link LinkRelay} limited to 400 kbit/s, the room's camera is on a clean link. The doctor switches the
 * profile on its page; the room's camera applies it (degradation preference, content hint, simulcast encodings) and
 * the bridge its allocation for the doctor. {@code motion} must give the doctor the higher frame rate,
 * {@code detail} the higher resolution (both from the doctor's getStats()).
 */
class ClinicalProfileCallTest {

    private static final String SECRET = "profile-secret-profile-secret-profile-1";
    private static final LinkProfile CONSTRAINED = new LinkProfile("constrained", 400, 10, 0, 0, 1, 300);
    private static final String SUB = "window.consultbridge.subscribePc";
    /** The doctor's received video: frames decoded and height. */
    private static final String VIDEO = "return window.consultbridge.subscribePc.getStats().then(s => { const o ="
            + " {frames: 0, height: 0}; s.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'video') {"
            + " o.frames += r.framesDecoded || 0; o.height = Math.max(o.height, r.frameHeight || 0); } }); return o; })";

    private NetNamespace clinic;
    private NetNamespace office;
    private MediaBridge bridge;
    private SignalingServer server;
    private LinkRelay relay;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {server, relay, bridge::close, office, clinic}) {
            if (c != null) {
                c.close();
            }
        }
    }

    /** Frame rate and mean height the doctor receives over {@code seconds}. */
    private record Measured(double fps, double height) {
    }

    private static Measured measure(Browser doctor, int seconds) {
        Map<?, ?> first = (Map<?, ?>) doctor.execute(VIDEO);
        double heights = 0;
        for (int i = 0; i < seconds; i++) {
            NetNamespace.sleep(1000);
            heights += ((Number) ((Map<?, ?>) doctor.execute(VIDEO)).get("height")).doubleValue();
        }
        Map<?, ?> last = (Map<?, ?>) doctor.execute(VIDEO);
        double frames = ((Number) last.get("frames")).doubleValue() - ((Number) first.get("frames")).doubleValue();
        return new Measured(frames / seconds, heights / seconds);
    }

    private static void choose(Browser doctor, Browser room, String profile) {
        doctor.execute("const s = document.getElementById('profile'); s.value = arguments[0];"
                + " s.dispatchEvent(new Event('change'));", profile);
        room.waitFor("window.consultbridgeProfiles.applied === " + Js.quote(profile), Duration.ofSeconds(20));
        doctor.waitFor("window.consultbridgeProfiles.profile === " + Js.quote(profile), Duration.ofSeconds(20));
    }

    @Test
    void motionKeepsTheFrameRateAndDetailTheResolutionOnAConstrainedLink() throws Exception {
        NetNamespace.requireAvailable();
        clinic = NetNamespace.create();
        office = NetNamespace.create();
        int port = clinic.allocatePort();
        bridge = MediaBridges.start(new BridgeConfig(clinic.hostAddress(), port,
                List.of(clinic.hostAddress(), office.hostAddress())));
        relay = LinkRelay.between(clinic, office, port, CONSTRAINED); // the doctor's office behind the relay
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        server = SignalingServer.start(ServerConfig.load().withHttp("0.0.0.0", 0), tokens, bridge);
        String clinicOrigin = "http://" + clinic.hostAddress() + ":" + server.port();
        String officeOrigin = "http://" + office.hostAddress() + ":" + server.port();

        try (Browser doctor = Browser.start(office, officeOrigin);
             Browser room = Browser.start(clinic, clinicOrigin)) {
            doctor.open(officeOrigin + "/doctor.html#token="
                    + tokens.mint("c-prof", "dr-p", Role.DOCTOR, "Dr. P", Duration.ofHours(1)));
            Admission.autoAdmit(doctor);
            room.open(clinicOrigin + "/room.html#token="
                    + tokens.mint("c-prof", "room-p", Role.ROOM, "Raum P", Duration.ofHours(1)));
            doctor.waitFor("!!(window.consultbridge && window.consultbridge.subscribePc)", Duration.ofSeconds(45));
            doctor.waitFor(WebRtcStats.videoFramesDecodedAbove(SUB, 30), Duration.ofSeconds(60));
            assertThat(doctor.execute("return window.consultbridgeE2ee.state")).isEqualTo("on");
            assertThat(room.execute("return window.consultbridgeProfiles.applied")).isEqualTo("balanced");
            BridgeEndpoint doctorOnBridge = bridge.endpoint("c-prof", "dr-p").orElseThrow();

            choose(doctor, room, "motion");
            assertThat(room.execute("return window.consultbridge.publishPc.getSenders().find(s => s.track"
                    + " && s.track.kind === 'video').track.contentHint")).isEqualTo("motion");
            NetNamespace.sleep(12_000); // the estimate settles, the allocator and the encoder follow
            Measured motion = measure(doctor, 8);
            String motionQuality = doctorOnBridge.receiveQuality().toString();

            choose(doctor, room, "detail");
            assertThat(room.execute("return window.consultbridge.publishPc.getSenders().find(s => s.track"
                    + " && s.track.kind === 'video').getParameters().degradationPreference")).isIn("maintain-resolution", null);
            NetNamespace.sleep(12_000);
            Measured detail = measure(doctor, 8);
            System.out.printf("profiles on a 400 kbit/s downlink: motion %.1f fps at %.0f lines (%s); detail %.1f fps"
                    + " at %.0f lines (%s)%n", motion.fps(), motion.height(), motionQuality, detail.fps(),
                    detail.height(), doctorOnBridge.receiveQuality());
            assertThat(motion.fps()).as("motion: frame rate above detail's").isGreaterThan(detail.fps() * 1.3);
            assertThat(detail.height()).as("detail: resolution above motion's").isGreaterThan(motion.height() * 1.3);
        }
    }
}
