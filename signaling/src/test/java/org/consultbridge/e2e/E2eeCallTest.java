package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue #8, end-to-end media encryption with real Chromium through the real server and bridge. One doctor and one
 * room (both tracing their transforms, {@code e2eeTrace=1}) share one call across the tests, in order: they decode
 * each other's encrypted video and audio; what the room's transform receives from the bridge is byte for byte the
 * doctor's ciphertext, not its plaintext; the verification codes agree, and change when a guest joins, who gets a
 * wrong key (a test hook) and so receives frames but decodes none; simulcast layer switches (keyframe requests to
 * the publisher) keep working encrypted.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class E2eeCallTest {

    private static final String SECRET = "e2ee-secret-e2ee-secret-e2ee-secret-e2ee";
    private static final Duration MEDIA_TIMEOUT = Duration.ofSeconds(45);
    private static final String SUB = "window.consultbridge.subscribePc";
    private static final String E2EE = "window.consultbridgeE2ee";
    /** What a page receives: video frames decoded, packets, height; audio samples and concealment. */
    private static final String RECEIVED = """
            return window.consultbridge.subscribePc.getStats().then(s => { const o = {frames: 0, videoPackets: 0,
              height: 0, samples: 0, concealed: 0};
              s.forEach(r => { if (r.type !== 'inbound-rtp') return;
                if (r.kind === 'video') { o.frames += r.framesDecoded || 0; o.videoPackets += r.packetsReceived || 0;
                  o.height = Math.max(o.height, r.frameHeight || 0); }
                else { o.samples += r.totalSamplesReceived || 0; o.concealed += r.concealedSamples || 0; } });
              return o; });""";

    private NetNamespace ns;
    private MediaBridge bridge;
    private SignalingServer server;
    private TokenService tokens;
    private String origin;
    private Browser doctor;
    private Browser room;

    @BeforeAll
    void start() throws Exception {
        NetNamespace.requireAvailable();
        ns = NetNamespace.create();
        bridge = MediaBridges.start(new BridgeConfig(ns.hostAddress(), 0, List.of()));
        tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        server = SignalingServer.start(ServerConfig.load().withHttp(ns.hostAddress(), 0), tokens, bridge);
        origin = "http://" + ns.hostAddress() + ":" + server.port();
        doctor = join("doctor", "dr-x", Role.DOCTOR, "&e2eeTrace=1");
        Admission.autoAdmit(doctor); // the waiting room (issue #7): the doctor's page admits the others
        room = join("room", "room-x", Role.ROOM, "&e2eeTrace=1");
    }

    @AfterAll
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {doctor, room, server, bridge::close, ns}) {
            if (c != null) {
                c.close();
            }
        }
    }

    private Browser join(String page, String participant, Role role, String options) {
        Browser b = Browser.start(ns, origin);
        b.open(origin + "/" + page + ".html#token=" + tokens.mint("c-e2ee", participant, role, participant,
                Duration.ofHours(1)) + options);
        return b;
    }

    private static Map<?, ?> received(Browser b) {
        return (Map<?, ?>) b.execute(RECEIVED);
    }

    private static double num(Map<?, ?> m, String key) {
        return ((Number) m.get(key)).doubleValue();
    }

    private static long stat(Browser b, String name) {
        Object v = b.execute("const s = " + E2EE + ".stats; return s ? s." + name + " : 0;");
        return ((Number) v).longValue();
    }

    private static String code(Browser b) {
        return (String) b.execute("return " + E2EE + ".verificationCode;");
    }

    private static void awaitFramesDecoded(Browser b, long above) {
        b.waitFor(WebRtcStats.videoFramesDecodedAbove(SUB, above), MEDIA_TIMEOUT);
    }

    @Test
    @Order(1)
    void doctorAndRoomDecodeEachOthersEncryptedVideoAndAudio() {
        for (Browser b : List.of(doctor, room)) {
            b.waitFor("!!(window.consultbridge && window.consultbridge.subscribePc)", MEDIA_TIMEOUT);
            assertThat(b.execute("return " + E2EE + ".state")).isEqualTo("on");
            awaitFramesDecoded(b, 60);
        }
        for (Browser b : List.of(doctor, room)) {
            Map<?, ?> before = received(b);
            // decoding goes on: 30 more frames (a busy shared machine may slow the fake camera and the decoder)
            awaitFramesDecoded(b, (long) num(before, "frames") + 30);
            NetNamespace.sleep(3000);
            Map<?, ?> after = received(b);
            double samples = num(after, "samples") - num(before, "samples");
            double concealed = (num(after, "concealed") - num(before, "concealed")) / Math.max(1, samples);
            System.out.printf("e2ee: %s decoded %.0f frames and %.0f audio samples, concealment %.4f, stats %s%n",
                    b, num(after, "frames") - num(before, "frames"), samples, concealed,
                    b.execute("return " + E2EE + ".stats"));
            // audio goes as plain Opus (Chromium would encrypt a RED packet whole, headers the bridge reads)
            assertThat(b.execute("return " + SUB + ".getStats().then(s => { const out = []; s.forEach(r => {"
                    + " if (r.type === 'inbound-rtp' && r.kind === 'audio') out.push(s.get(r.codecId).mimeType); });"
                    + " return out.join(); })")).isEqualTo("audio/opus");
            assertThat(bridge.stats().droppedByReason().get("red-malformed")).isZero();
            assertThat(samples).as("audio samples played (48 kHz)").isGreaterThan(100_000);
            // the bound leaves room for a busy shared machine (2 cores, several Chromium): concealment here comes
            // from late packets and starved audio threads, not from encryption (frames are dropped only on failure)
            assertThat(concealed).as("audio concealment").isLessThan(0.2);
            // every frame went through the transforms: encrypted out, decrypted in, none failing
            assertThat(stat(b, "encrypted")).isGreaterThan(200);
            assertThat(stat(b, "decrypted")).isGreaterThan(200);
            assertThat(stat(b, "decryptFailed")).isZero();
            assertThat(stat(b, "notEncrypted")).isZero();
        }
        // the lock and the code are on both screens
        for (Browser b : List.of(doctor, room)) {
            String text = (String) b.execute("return document.getElementById('e2ee').textContent");
            assertThat(text).contains("End-to-end encrypted").contains(code(b));
        }
    }

    @Test
    @Order(2)
    void whatTheBridgeForwardsIsTheSendersCiphertextNotItsFrames() {
        // The doctor's worker hashes sampled frames before (plain) and after (cipher) encryption; the room's
        // worker hashes what arrives from the bridge before decrypting it, and the result. Matched by IV.
        room.waitFor(E2EE + ".trace && " + E2EE + ".trace.received.filter(r => r.from === 'dr-x').length >= 8",
                MEDIA_TIMEOUT);
        List<?> sent = (List<?>) doctor.execute("return " + E2EE + ".trace.sent");
        List<?> got = (List<?>) room.execute("return " + E2EE + ".trace.received.filter(r => r.from === 'dr-x')");
        int matched = 0;
        List<String> kinds = new ArrayList<>();
        for (Object o : got) {
            Map<?, ?> r = (Map<?, ?>) o;
            for (Object p : sent) {
                Map<?, ?> s = (Map<?, ?>) p;
                if (s.get("counter").equals(r.get("counter")) && s.get("keyId").equals(r.get("keyId"))
                        && s.get("ssrc").equals(r.get("ssrc"))) {
                    assertThat(r.get("cipher")).as("bytes through the bridge = the sender's ciphertext")
                            .isEqualTo(s.get("cipher"));
                    assertThat(r.get("cipher")).as("... which is not the encoded frame").isNotEqualTo(s.get("plain"));
                    assertThat(r.get("plain")).as("decrypted = the sender's encoded frame").isEqualTo(s.get("plain"));
                    matched++;
                    kinds.add((String) s.get("kind"));
                }
            }
        }
        System.out.printf("e2ee: %d sampled frames matched between the doctor's and the room's transforms: %s%n",
                matched, kinds);
        assertThat(matched).isGreaterThanOrEqualTo(3);
        assertThat(kinds).contains("video");
    }

    @Test
    @Order(4)
    void codesMatchAndAGuestWithAWrongKeyChangesThemAndReceivesFramesButDecodesNone() {
        doctor.waitFor(E2EE + ".verificationCode && " + E2EE + ".participantsInCode === 2", MEDIA_TIMEOUT);
        room.waitFor(E2EE + ".verificationCode && " + E2EE + ".participantsInCode === 2", MEDIA_TIMEOUT);
        String twoParty = code(doctor);
        assertThat(code(room)).as("the same code on both screens").isEqualTo(twoParty);
        assertThat(twoParty).matches("\\d{4} \\d{4} \\d{4} \\d{4} \\d{4}");

        try (Browser guest = join("guest", "guest-x", Role.GUEST, "&e2eeTestKey=wrong")) {
            for (Browser b : List.of(doctor, room, guest)) {
                b.waitFor(E2EE + ".participantsInCode === 3", MEDIA_TIMEOUT);
            }
            String threeParty = code(doctor);
            assertThat(threeParty).as("a new participant's key changes the code").isNotEqualTo(twoParty);
            assertThat(code(room)).isEqualTo(threeParty);
            assertThat(code(guest)).isEqualTo(threeParty);

            // the guest gets the media (packets arrive, its transform fails to authenticate every frame) ...
            try {
                guest.waitFor(E2EE + ".stats && ['dr-x', 'room-x'].every(p => " + E2EE + ".stats.perSender[p]"
                        + " && " + E2EE + ".stats.perSender[p].decryptFailed > 20)", MEDIA_TIMEOUT);
            } finally {
                for (Browser b : List.of(doctor, room, guest)) {
                    System.out.println("e2ee key events of " + b + ": " + b.execute("return " + E2EE + ".events"));
                }
            }
            // Its Chromium, never getting a decodable frame, asks for keyframes every 100-200 ms; the bridge passes
            // them on with a back-off, so the others' cameras do not encode keyframes several times a second.
            NetNamespace.sleep(4_000); // past the back-off's first steps (0.5, 1 s) to its 2 s
            long keyframesBefore = keyframesEncoded(room);
            long requestsBefore = bridge.qualitySnapshot().keyframeRequestsReceived();
            NetNamespace.sleep(8_000);
            long keyframes = keyframesEncoded(room) - keyframesBefore;
            long requests = bridge.qualitySnapshot().keyframeRequestsReceived() - requestsBefore;
            System.out.printf("e2ee: in 8 s with the wrong-key guest: %d keyframe requests at the bridge, %d keyframes"
                    + " encoded by the room%n", requests, keyframes);
            // the back-off lets about 4 requests through in 8 s; Chromium's VP8 simulcast may answer one with a
            // keyframe on each of its 3 layers (12; 13 seen once); without the back-off: about 3 a second, 24 in 8 s
            assertThat(keyframes).as("room keyframes in 8 s (without the back-off: about 3 a second)")
                    .isLessThanOrEqualTo(18);
            guest.waitFor("(" + WebRtcStats.INBOUND_RTP_FN + ")(" + SUB + ").then(rs => rs.filter(r => "
                    + "r.kind === 'video' && r.packetsReceived > 50).length >= 1)", MEDIA_TIMEOUT);
            Map<?, ?> g = received(guest);
            System.out.printf("e2ee: guest with a wrong key: %s, stats %s%n", g, guest.execute("return " + E2EE
                    + ".stats"));
            // ... and decodes none of it: nothing reaches its decoder
            assertThat(num(g, "frames")).as("frames the wrong-key guest decoded").isZero();
            assertThat(stat(guest, "decrypted")).isZero();
            // while the doctor, who has the right keys, decodes the guest (its own sending is fine)
            doctor.waitFor("(" + WebRtcStats.INBOUND_RTP_FN + ")(" + SUB + ").then(rs => rs.filter(r => "
                    + "r.kind === 'video' && r.framesDecoded > 30).length >= 2)", MEDIA_TIMEOUT);
            guest.execute("document.getElementById('leave').click();");
        }
        // the guest left: the code is the two-party code again, the others rotated keys and still decode
        doctor.waitFor(E2EE + ".participantsInCode === 2", MEDIA_TIMEOUT);
        assertThat(code(doctor)).isEqualTo(twoParty);
        for (Browser b : List.of(doctor, room)) {
            long frames = WebRtcStats.videoFramesDecoded(WebRtcStats.inboundRtp(b, SUB));
            try {
                awaitFramesDecoded(b, frames + 60);
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\nkey events " + b.execute("return " + E2EE + ".events")
                        + "\nstats " + b.execute("return " + E2EE + ".stats") + "\nthe bridge: doctor "
                        + bridge.endpoint("c-e2ee", "dr-x").map(BridgeEndpoint::receiveQuality).orElse(null)
                        + "\nroom " + bridge.endpoint("c-e2ee", "room-x").map(BridgeEndpoint::receiveQuality)
                        .orElse(null), e);
            }
        }
        assertThat(stat(room, "decryptFailed")).as("rotation after the leave lost no frame to a wrong key: %s",
                room.execute("return " + E2EE + ".stats.perSender")).isLessThanOrEqualTo(2);
    }

    /** Waits until the bridge forwards the room's layer {@code layer} (or higher when {@code layer} > 0). */
    private static void awaitLayer(BridgeEndpoint e, int layer) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            int now = roomLayer(e);
            if (layer == 0 ? now == 0 : now >= layer) {
                return;
            }
            NetNamespace.sleep(200);
        }
        throw new AssertionError("the bridge did not switch the doctor to layer " + layer + ": " + e.receiveQuality());
    }

    /** Keyframes the page's camera encoded, all simulcast layers together. */
    private static long keyframesEncoded(Browser b) {
        return ((Number) b.execute("return window.consultbridge.publishPc.getStats().then(s => { let n = 0;"
                + " s.forEach(r => { if (r.type === 'outbound-rtp' && r.kind === 'video') n += r.keyFramesEncoded || 0;"
                + " }); return n; })")).longValue();
    }

    private static int roomLayer(BridgeEndpoint e) {
        return e.receiveQuality().videos().stream().filter(v -> v.sourceEndpointId().equals("room-x"))
                .mapToInt(v -> v.layer()).findFirst().orElse(-1);
    }

    @Test
    @Order(3)
    void simulcastLayerSwitchesKeepWorkingEncrypted() {
        BridgeEndpoint doctorOnBridge = bridge.endpoint("c-e2ee", "dr-x").orElseThrow();
        // as SimulcastCallTest: nothing limits the doctor, so it gets more than the lowest layer (on a busy
        // machine Chromium may publish the upper layers at less than their nominal size)
        long deadline = System.nanoTime() + MEDIA_TIMEOUT.toNanos();
        while (roomLayer(doctorOnBridge) <= 0 && System.nanoTime() < deadline) {
            NetNamespace.sleep(200);
        }
        assertThat(roomLayer(doctorOnBridge)).isPositive();
        String height = SUB + ".getStats().then(s => { let h = 0; s.forEach(r => { if (r.type === 'inbound-rtp'"
                + " && r.kind === 'video') h = Math.max(h, r.frameHeight || 0); }); return h; })";
        NetNamespace.sleep(1000);
        long high = ((Number) doctor.waitFor(height + ".then(h => h > 0 ? h : false)", MEDIA_TIMEOUT)).longValue();
        long failed = stat(doctor, "decryptFailed");
        doctorOnBridge.setMaxLayer(0);
        awaitLayer(doctorOnBridge, 0);
        long frames = WebRtcStats.videoFramesDecoded(WebRtcStats.inboundRtp(doctor, SUB));
        awaitFramesDecoded(doctor, frames + 30);
        long low = ((Number) doctor.execute("return " + height)).longValue();
        assertThat(low).as("layer 0 is smaller").isPositive().isLessThan(high);
        doctorOnBridge.setMaxLayer(2);
        awaitLayer(doctorOnBridge, 1);
        frames = WebRtcStats.videoFramesDecoded(WebRtcStats.inboundRtp(doctor, SUB));
        awaitFramesDecoded(doctor, frames + 30);
        doctor.waitFor(height + ".then(h => h > " + low + ")", Duration.ofSeconds(20));
        System.out.printf("e2ee simulcast: %d lines, then %d on layer 0, then %d again%n", high, low, high);
        assertThat(stat(doctor, "decryptFailed")).as("no frame failed across the switches").isEqualTo(failed);
    }
}
