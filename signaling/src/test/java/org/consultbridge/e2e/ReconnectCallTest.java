package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.consultation.Participant;
import org.consultbridge.signaling.consultation.ReconnectSettings;
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
 * Reconnects (issue #7) in Chromium: the doctor in the clinic's namespace, the room endpoint in the village's. The
 * room's link to the server is cut (nftables in its namespace drops everything to and from the signalling port and
 * the bridge's UDP port, both ways: nothing is closed, the link just goes silent) and restored.
 * <ol>
 *   <li>a 10 s cut: the doctor's page shows the room "reconnecting"; within 5 s of the restoration the doctor decodes
 *       the room's video again; the room is back in its place (same participant, same bridge endpoint) without a
 *       new admission: the doctor saw no waiting-room entry;</li>
 *   <li>a cut longer than the grace period: the room is gone for the doctor (its endpoint closed) only once the
 *       grace period has passed, and after the restoration the room's page says that it must join again.</li>
 * </ol>
 * Grace 15 s (so that one call serves both cases: a 10 s cut fits in it, with the server's 4 s liveness timeout
 * before it starts), pings every second.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReconnectCallTest {

    private static final String SECRET = "reconnect-e2e-secret-reconnect-e2e-secret-01";
    private static final Duration GRACE = Duration.ofSeconds(15);
    private static final Duration LIVENESS = Duration.ofSeconds(4);
    private static final Duration MEDIA_TIMEOUT = Duration.ofSeconds(45);
    private static final String SUB = "window.consultbridge.subscribePc";
    private static final String CID = "c-reconnect";
    private static final String ROOM = "room-rc";

    private NetNamespace clinic;
    private NetNamespace village;
    private MediaBridge bridge;
    private SignalingServer server;
    private Browser doctor;
    private Browser room;

    @BeforeAll
    void start() throws Exception {
        NetNamespace.requireAvailable();
        clinic = NetNamespace.create();
        village = NetNamespace.create();
        // the village reaches the clinic's host address through its default route (the host)
        bridge = MediaBridges.start(new BridgeConfig(clinic.hostAddress(), clinic.allocatePort(),
                List.of(clinic.hostAddress())));
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        ServerConfig config = ServerConfig.load().withHttp("0.0.0.0", 0);
        config = config.withAdmission(config.admission().withWaitingRoom(true)
                .withReconnect(new ReconnectSettings(GRACE, Duration.ofSeconds(1), LIVENESS)));
        server = SignalingServer.start(config, tokens, bridge);
        String clinicOrigin = "http://" + clinic.hostAddress() + ":" + server.port();
        String villageOrigin = "http://" + village.hostAddress() + ":" + server.port();
        doctor = Browser.start(clinic, clinicOrigin);
        room = Browser.start(village, villageOrigin);
        doctor.open(clinicOrigin + "/doctor.html#token=" + tokens.mint(CID, "dr-rc", Role.DOCTOR, "Dr. RC",
                Duration.ofHours(1)));
        room.open(villageOrigin + "/room.html#token=" + tokens.mint(CID, ROOM, Role.ROOM, "Raum RC",
                Duration.ofHours(1)));
        Admission.clickAdmit(doctor, ROOM); // once, by hand: nothing admits the room a second time
        for (Browser b : List.of(doctor, room)) {
            b.waitFor("!!(window.consultbridge && window.consultbridge.subscribePc)", MEDIA_TIMEOUT);
            b.waitFor(WebRtcStats.videoFramesDecodedAbove(SUB, 30), MEDIA_TIMEOUT);
        }
        // what the pages show, recorded as it happens: the room's entry in the doctor's participant list, the
        // doctor's waiting list, the room's own state
        doctor.execute("""
                const c = window.consultbridge;
                window.rc = {list: [], waiting: []};
                c.addEventListener('participants', () => {
                  const li = document.querySelector('#participants li[data-member="room-rc"]');
                  window.rc.list.push(li ? li.dataset.state + ': ' + li.textContent : 'gone');
                });
                c.addEventListener('waitingRoom', () => window.rc.waiting.push(c.waiting.map(w => w.participantId)));
                """);
        room.execute("""
                const c = window.consultbridge;
                window.rc = {states: []};
                c.addEventListener('state', () => window.rc.states.push(c.state));
                """);
    }

    @AfterAll
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {room, doctor, server, bridge == null ? null : bridge::close,
                village, clinic}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                System.out.println("closing " + c + ": " + e);
            }
        }
    }

    @Test
    @Order(1)
    void aTenSecondCutResumesTheCallWithoutANewAdmission() throws Exception {
        Participant before = participant();
        BridgeEndpoint endpoint = bridge.endpoint(CID, ROOM).orElseThrow();

        long cutAt = System.nanoTime();
        cut();
        double seenAfter;
        long frames;
        try {
            // the server notices the silence (liveness timeout) and the doctor's page shows the room reconnecting
            doctor.waitFor("window.rc.list.some(e => e.startsWith('reconnecting') && e.includes('reconnecting …'))",
                    Duration.ofSeconds(9));
            seenAfter = (System.nanoTime() - cutAt) / 1e9;
            assertThat(participant()).isSameAs(before);
            assertThat(before.reconnecting()).isTrue();
            assertThat(bridge.endpoint(CID, ROOM)).containsSame(endpoint); // its media on the bridge is kept
            sleepUntil(cutAt, Duration.ofSeconds(10));
            frames = WebRtcStats.videoFramesDecoded(WebRtcStats.inboundRtp(doctor, SUB));
        } finally {
            restore();
        }
        long restoredAt = System.nanoTime();

        // the call resumes: the doctor decodes the room's video again within 5 s
        doctor.waitFor(WebRtcStats.videoFramesDecodedAbove(SUB, frames + 15), Duration.ofSeconds(5));
        double framesAfter = (System.nanoTime() - restoredAt) / 1e9;
        // the room took its place back on a new connection: the same participant, no new admission
        room.waitFor("window.consultbridge.state === 'connected' && !window.consultbridge.reconnecting",
                Duration.ofSeconds(15));
        double resumedAfter = (System.nanoTime() - restoredAt) / 1e9;
        assertThat(participant()).isSameAs(before);
        assertThat(before.reconnecting()).isFalse();
        assertThat(bridge.endpoint(CID, ROOM)).containsSame(endpoint);
        doctor.waitFor("window.rc.list.length > 0 && window.rc.list[window.rc.list.length - 1].startsWith('connected')",
                Duration.ofSeconds(5));
        @SuppressWarnings("unchecked")
        List<List<String>> waiting = (List<List<String>>) doctor.execute("return window.rc.waiting");
        assertThat(waiting).as("waiting lists the doctor saw").allSatisfy(w -> assertThat(w).doesNotContain(ROOM));
        @SuppressWarnings("unchecked")
        List<String> states = (List<String>) room.execute("return window.rc.states");
        assertThat(states).contains("reconnecting").doesNotContain("waiting", "disconnected", "rejoin");
        assertThat((String) room.execute("return document.getElementById('state').dataset.state"))
                .isEqualTo("connected");
        // and media flows both ways again
        long roomFrames = WebRtcStats.videoFramesDecoded(WebRtcStats.inboundRtp(room, SUB));
        room.waitFor(WebRtcStats.videoFramesDecodedAbove(SUB, roomFrames + 15), Duration.ofSeconds(10));
        Map<?, ?> restarts = (Map<?, ?>) room.execute("return {n: window.consultbridge.iceRestarts || 0}");
        System.out.printf("10 s cut: doctor saw 'reconnecting' after %.1f s; doctor decodes the room again %.1f s"
                + " after the restoration, the room resumed after %.1f s (ICE restarts %s); room states %s%n",
                seenAfter, framesAfter, resumedAfter, restarts.get("n"), states);
        assertThat(((Number) restarts.get("n")).intValue()).isPositive();
    }

    @Test
    @Order(2)
    void aCutLongerThanTheGracePeriodEndsTheParticipantAndTheRoomMustRejoin() throws Exception {
        long cutAt = System.nanoTime();
        cut();
        try {
            doctor.waitFor("!window.consultbridge.participants.has('room-rc')",
                    GRACE.plus(LIVENESS).plus(Duration.ofSeconds(15)));
            double goneAfter = (System.nanoTime() - cutAt) / 1e9;
            System.out.printf("cut beyond the grace: the room was gone for the doctor after %.1f s%n", goneAfter);
            // its place was kept for the grace period (which starts when the server notices the silence)
            assertThat(goneAfter).isGreaterThanOrEqualTo(GRACE.toSeconds());
            assertThat(server.registry().participants(CID)).extracting(Participant::id).containsExactly("dr-rc");
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (bridge.endpoint(CID, ROOM).isPresent() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(bridge.endpoint(CID, ROOM)).isEmpty();
        } finally {
            restore();
        }
        // back on the network, the room learns that its place is gone and says to join again
        room.waitFor("window.consultbridge.state === 'rejoin' && !!document.getElementById('rejoin')"
                + " && document.getElementById('problem').textContent.includes('join again')", Duration.ofSeconds(40));
        assertThat((String) room.execute("return document.getElementById('state').dataset.state")).isEqualTo("rejoin");
    }

    private Participant participant() {
        return server.registry().participants(CID).stream().filter(p -> p.id().equals(ROOM)).findFirst()
                .orElse(null);
    }

    private static void sleepUntil(long startNanos, Duration after) throws InterruptedException {
        long left = startNanos + after.toNanos() - System.nanoTime();
        if (left > 0) {
            Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
        }
    }

    /** The village's link to the server goes silent: signalling and media dropped both ways, nothing closed. */
    private void cut() {
        nft("add", "table", "inet", "cbcut");
        nft("add", "chain", "inet", "cbcut", "out", "{ type filter hook output priority -10 ; }");
        nft("add", "rule", "inet", "cbcut", "out", "tcp", "dport", String.valueOf(server.port()), "drop");
        nft("add", "rule", "inet", "cbcut", "out", "udp", "dport", String.valueOf(bridge.udpPort()), "drop");
        nft("add", "chain", "inet", "cbcut", "in", "{ type filter hook input priority -10 ; }");
        nft("add", "rule", "inet", "cbcut", "in", "tcp", "sport", String.valueOf(server.port()), "drop");
        nft("add", "rule", "inet", "cbcut", "in", "udp", "sport", String.valueOf(bridge.udpPort()), "drop");
    }

    private void restore() {
        nft("delete", "table", "inet", "cbcut");
    }

    private void nft(String... args) {
        String[] command = new String[5 + args.length];
        command[0] = "ip";
        command[1] = "netns";
        command[2] = "exec";
        command[3] = village.name();
        command[4] = "nft";
        System.arraycopy(args, 0, command, 5, args.length);
        HostCommand.check(command);
    }
}
