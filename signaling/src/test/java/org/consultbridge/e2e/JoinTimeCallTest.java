package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Join time in Chromium on a clean link (Media engine #14, item 9): a doctor is in the call, publishing; a room joins,
 * waits, is admitted by the doctor's page. Measured: the room page's own figure (its {@code firstFrameMs}: from the
 * admission, when a waiting participant's join starts, to its first decoded video frame of the doctor), and on the
 * doctor's page the time from its admitting the room to its first decoded frame of the room's camera, which has
 * just started (its simulcast without the top layer yet). End-to-end encryption on, as by default. The objective is
 * under 1 s for both; the assertion allows twice that, so that a loaded test machine does not fail it, while a
 * second or more of waiting (a retransmission timer, a throttled keyframe request, a layer that is not sent) does.
 */
class JoinTimeCallTest {

    private static final String SECRET = "e2e-secret-e2e-secret-e2e-secret-e2e-secret";
    private static final Duration MEDIA_TIMEOUT = Duration.ofSeconds(45);
    private static final long BOUND_MS = 2000;

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

    private Browser open(String page, String participant, Role role, String name) {
        Browser b = Browser.start(ns, origin);
        b.open(origin + "/" + page + ".html#token=" + tokens.mint("c-join", participant, role, name,
                Duration.ofHours(1)));
        return b;
    }

    @Test
    void aRoomJoiningADoctorSeesAndIsSeenWithinTheObjective() throws Exception {
        try (Browser doctor = open("doctor", "dr-join", Role.DOCTOR, "Dr. Join")) {
            // the doctor's page admits whoever waits, and notes when (its own clock) ...
            doctor.waitFor("!!window.consultbridge", MEDIA_TIMEOUT);
            doctor.execute("""
                    const c = window.consultbridge;
                    c.testAdmitted = new Map();
                    const go = () => {
                      for (const w of c.waiting) {
                        if (c.testAdmitted.has(w.participantId)) continue;
                        c.testAdmitted.set(w.participantId, performance.now());
                        c.admit(w.participantId).catch(() => c.testAdmitted.delete(w.participantId));
                      }
                    };
                    c.addEventListener('waitingRoom', go);
                    go();
                    // ... and when it first decodes a frame of someone's camera (polled every 20 ms)
                    c.testFirstFrameAt = null;
                    const poll = setInterval(async () => {
                      if (!c.subscribePc) return;
                      const s = await c.subscribePc.getStats();
                      const at = performance.now();
                      s.forEach((r) => {
                        if (c.testFirstFrameAt === null && r.type === 'inbound-rtp' && r.kind === 'video'
                            && r.framesDecoded > 0) {
                          c.testFirstFrameAt = at;
                          clearInterval(poll);
                        }
                      });
                    }, 20);
                    """);
            // ... and is in the call, publishing, before the room comes
            doctor.waitFor("window.consultbridge.publishPc && "
                    + "window.consultbridge.publishPc.connectionState === 'connected'", MEDIA_TIMEOUT);
            try (Browser room = open("room", "room-join", Role.ROOM, "Raum Join")) {
                room.waitFor("window.consultbridge && window.consultbridge.firstFrameMs !== undefined", MEDIA_TIMEOUT);
                doctor.waitFor("window.consultbridge.testFirstFrameAt !== null", MEDIA_TIMEOUT);
                long roomFirstFrame = ((Number) room.execute("return window.consultbridge.firstFrameMs")).longValue();
                long doctorFirstFrame = ((Number) doctor.execute("const c = window.consultbridge; "
                        + "return Math.round(c.testFirstFrameAt - c.testAdmitted.get('room-join'))")).longValue();
                assertThat(room.execute("return window.consultbridgeE2ee.state")).isEqualTo("on");
                System.out.printf("join time in Chromium: room %d ms from its admission to its first decoded frame"
                        + " of the doctor; doctor %d ms from admitting the room to its first decoded frame of the"
                        + " room%n", roomFirstFrame, doctorFirstFrame);
                assertThat(roomFirstFrame).as("room: admission to first decoded frame (ms)").isBetween(1L, BOUND_MS);
                assertThat(doctorFirstFrame).as("doctor: admission to first decoded frame of the room (ms)")
                        .isBetween(1L, BOUND_MS);
            }
        }
    }
}
