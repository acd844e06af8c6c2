package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.audit.AuditSettings;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Issue #7 with real Chromium: a room waits without media until the doctor clicks Admit; a declined room gets no
 * media and cannot come back with its one-time token; a removed guest gets no media; ending the consultation stops
 * all media. One server and three browsers (doctor, room, guest) for all tests: each test opens its own
 * consultation in them, and every page is left (about:blank) after each test.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WaitingRoomCallTest {

    private static final String SECRET = "e2e-secret-e2e-secret-e2e-secret-e2e-secret";
    private static final Duration MEDIA_TIMEOUT = Duration.ofSeconds(45);
    private static final Duration PAGE_TIMEOUT = Duration.ofSeconds(20);
    private static final String SUB = "window.consultbridge.subscribePc";
    private static final String PUB = "window.consultbridge.publishPc";
    /** Bytes of video the page received so far (0 without a subscribe connection). */
    private static final String VIDEO_BYTES = "(pc => pc ? pc.getStats().then(s => { let n = 0; s.forEach(r => {"
            + " if (r.type === 'inbound-rtp' && r.kind === 'video') n += r.bytesReceived || 0; }); return n; })"
            + " : Promise.resolve(0))(" + SUB + ")";

    private NetNamespace ns;
    private MediaBridge bridge;
    private SignalingServer server;
    private TokenService tokens;
    private String origin;
    private Browser doctor;
    private Browser room;
    private Browser guest;

    @BeforeAll
    void start() throws Exception {
        NetNamespace.requireAvailable();
        ns = NetNamespace.create();
        bridge = MediaBridges.start(new BridgeConfig(ns.hostAddress(), 0, List.of()));
        tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        ServerConfig config = ServerConfig.load().withHttp(ns.hostAddress(), 0);
        config = config.withAdmission(config.admission().withWaitingRoom(true).withOneTimeTokens(true)
                .withAudit(config.admission().audit().withDir(Path.of("target", "e2e-audit"))));
        server = SignalingServer.start(config, tokens, bridge);
        origin = "http://" + ns.hostAddress() + ":" + server.port();
        doctor = Browser.start(ns, origin);
        room = Browser.start(ns, origin);
        guest = Browser.start(ns, origin);
    }

    @AfterEach
    void leavePages() {
        for (Browser b : List.of(doctor, room, guest)) {
            b.open("about:blank"); // closes the page's WebSocket: its participant leaves
        }
    }

    @AfterAll
    void stop() throws Exception {
        for (Browser b : new Browser[] {doctor, room, guest}) {
            if (b != null) {
                b.close();
            }
        }
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

    private String token(String consultation, String participant, Role role, String name) {
        return tokens.mint(consultation, participant, role, name, Duration.ofHours(1));
    }

    private void open(Browser b, String page, String token) {
        b.open("about:blank"); // a new document even when only the fragment would differ
        b.open(origin + "/" + page + ".html#token=" + token);
        b.waitFor("!!window.consultbridge", PAGE_TIMEOUT);
    }

    private static long videoBytes(Browser b) {
        return ((Number) b.execute("return " + VIDEO_BYTES)).longValue();
    }

    private static void awaitVideoFrom(Browser b, int senders, long frames) {
        b.waitFor("!!" + SUB + " && (" + WebRtcStats.INBOUND_RTP_FN + ")(" + SUB + ").then(rs => "
                + "rs.filter(r => r.kind === 'video' && r.framesDecoded > " + frames + ").length >= " + senders + ")",
                MEDIA_TIMEOUT);
    }

    private static void awaitState(Browser b, String state) {
        b.waitFor("window.consultbridge.state === '" + state + "'", PAGE_TIMEOUT);
    }

    private static String text(Browser b, String id) {
        return (String) b.execute("const e = document.getElementById('" + id + "'); return e ? e.textContent : null;");
    }

    @Test
    void aRoomWaitsAndMediaFlowsOnlyAfterTheDoctorAdmitsIt() throws Exception {
        open(room, "room", token("c-wr-admit", "room-a", Role.ROOM, "Praxis Dorf · Erika Mustermann"));
        awaitState(room, "waiting");
        room.waitFor("document.getElementById('admission').textContent.includes('Waiting for the doctor')",
                PAGE_TIMEOUT);

        open(doctor, "doctor", token("c-wr-admit", "dr-a", Role.DOCTOR, "Dr. Weber"));
        // the doctor sees who waits, with the patient's name; the room learns the doctor is there
        doctor.waitFor("document.querySelector('#waiting-list [data-waiting=\"room-a\"]')"
                + " && document.querySelector('#waiting-list [data-waiting=\"room-a\"]').textContent"
                + ".includes('Erika Mustermann')", PAGE_TIMEOUT);
        room.waitFor("document.getElementById('admission').textContent.includes('will admit you')", PAGE_TIMEOUT);
        doctor.waitFor(WebRtcStats.selectedPairPresent(PUB), MEDIA_TIMEOUT); // the doctor is in the call ...

        // ... and still nothing flows between them while the room waits: no connections, no bridge endpoint
        Thread.sleep(3000);
        assertThat(room.execute("return " + PUB + " === null && " + SUB + " === null")).isEqualTo(true);
        assertThat(videoBytes(doctor)).isZero();
        assertThat(bridge.endpoint("c-wr-admit", "room-a")).isEmpty();
        assertThat((String) doctor.execute("return document.title")).startsWith("(1) ");

        Admission.clickAdmit(doctor, "room-a");
        awaitVideoFrom(doctor, 1, 30);
        awaitVideoFrom(room, 1, 30);
        assertThat(videoBytes(doctor)).isPositive();
        assertThat(videoBytes(room)).isPositive();
        assertThat(text(doctor, "waiting-list")).contains("Nobody is waiting");
        assertThat(bridge.endpoint("c-wr-admit", "room-a")).isPresent();
    }

    @Test
    void aDeclinedRoomGetsNoMediaAndCannotRejoinWithItsOneTimeToken() throws Exception {
        String roomToken = token("c-wr-decline", "room-d", Role.ROOM, "Raum Falsch");
        open(doctor, "doctor", token("c-wr-decline", "dr-d", Role.DOCTOR, "Dr. Nein"));
        open(room, "room", roomToken);
        awaitState(room, "waiting");
        Admission.clickDecline(doctor, "room-d");

        room.waitFor("window.consultbridge.state === 'declined' && window.consultbridge.closeCode === 4420",
                PAGE_TIMEOUT);
        assertThat(text(room, "admission")).contains("not admitted");
        assertThat(room.execute("return " + PUB + " === null && " + SUB + " === null")).isEqualTo(true);
        assertThat(bridge.endpoint("c-wr-decline", "room-d")).isEmpty();
        assertThat(videoBytes(doctor)).isZero();

        // the same link again: refused, no waiting, no media
        open(room, "room", roomToken);
        room.waitFor("window.consultbridge.closeCode === 4401", PAGE_TIMEOUT);
        assertThat(text(room, "problem")).contains("token-reused");
        assertThat(room.execute("return " + PUB + " === null")).isEqualTo(true);
        doctor.waitFor("document.getElementById('waiting-list').textContent.includes('Nobody is waiting')",
                PAGE_TIMEOUT);
        assertThat(bridge.endpoint("c-wr-decline", "room-d")).isEmpty();
    }

    @Test
    void theDoctorRemovesAGuestWhoThenGetsNoMedia() throws Exception {
        String guestToken = token("c-wr-remove", "guest-r", Role.GUEST, "Dolmetscherin");
        open(doctor, "doctor", token("c-wr-remove", "dr-r", Role.DOCTOR, "Dr. Raus"));
        Admission.autoAdmit(doctor);
        open(room, "room", token("c-wr-remove", "room-r", Role.ROOM, "Raum Bleibt"));
        open(guest, "guest", guestToken);
        awaitVideoFrom(guest, 2, 30);
        awaitVideoFrom(doctor, 2, 30);
        doctor.execute("window.guestTracks = window.consultbridge.remoteTracks.get('guest-r').getTracks();");

        Admission.clickRemove(doctor, "guest-r");
        guest.waitFor("window.consultbridge.state === 'removed' && window.consultbridge.closeCode === 4421",
                PAGE_TIMEOUT);
        assertThat(text(guest, "admission")).contains("removed");
        // the bridge has nothing left to send it to, and its page stopped both connections
        assertThat(bridge.endpoint("c-wr-remove", "guest-r")).isEmpty();
        assertThat(guest.execute("return " + PUB + ".connectionState === 'closed' && " + SUB
                + ".connectionState === 'closed'")).isEqualTo(true);
        doctor.waitFor("window.guestTracks.every(t => t.readyState === 'ended')"
                + " && !window.consultbridge.remoteTracks.has('guest-r')", PAGE_TIMEOUT);

        // it cannot come back with its link; doctor and room go on
        open(guest, "guest", guestToken);
        guest.waitFor("window.consultbridge.closeCode === 4401", PAGE_TIMEOUT);
        assertThat(text(guest, "problem")).contains("token-reused");
        assertThat(bridge.endpoint("c-wr-remove", "guest-r")).isEmpty();
        long frames = WebRtcStats.videoFramesDecoded(WebRtcStats.inboundRtp(doctor, SUB));
        doctor.waitFor(WebRtcStats.videoFramesDecodedAbove(SUB, frames + 30), Duration.ofSeconds(15));
    }

    @Test
    void endingTheConsultationStopsAllMedia() throws Exception {
        open(doctor, "doctor", token("c-wr-end", "dr-e", Role.DOCTOR, "Dr. Ende"));
        Admission.autoAdmit(doctor);
        open(room, "room", token("c-wr-end", "room-e", Role.ROOM, "Raum Ende"));
        awaitVideoFrom(doctor, 1, 30);
        awaitVideoFrom(room, 1, 30);

        Admission.clickEnd(doctor);
        for (Browser b : List.of(doctor, room)) {
            b.waitFor("window.consultbridge.state === 'ended' && window.consultbridge.closeCode === 4410",
                    PAGE_TIMEOUT);
            assertThat(b.execute("return " + PUB + ".connectionState === 'closed' && " + SUB
                    + ".connectionState === 'closed'")).isEqualTo(true);
            assertThat(text(b, "admission")).contains("consultation has ended");
        }
        assertThat(bridge.endpoint("c-wr-end", "dr-e")).isEmpty();
        assertThat(bridge.endpoint("c-wr-end", "room-e")).isEmpty();
        assertThat(server.registry().participants("c-wr-end")).isEmpty();
        // nothing is forwarded any more (no other call runs on this bridge now)
        long forwarded = bridge.stats().rtpPacketsForwarded();
        Thread.sleep(2000);
        assertThat(bridge.stats().rtpPacketsForwarded()).isEqualTo(forwarded);

        // a new link to the ended consultation is refused
        open(room, "room", token("c-wr-end", "room-e2", Role.ROOM, "Raum Später"));
        room.waitFor("window.consultbridge.closeCode === 4410", PAGE_TIMEOUT);
        assertThat(bridge.endpoint("c-wr-end", "room-e2")).isEmpty();
    }
}
