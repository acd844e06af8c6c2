package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
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
import org.consultbridge.turn.TurnSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Issue #4 (TURN) end to end: doctor and room in real Chromium, both forced to {@code iceTransportPolicy: "relay"}
 * ({@code &relay=1}), with the credentials of their join reply, through a real coturn running the generated
 * configuration. coturn listens on the namespace's host-side address, like the bridge and the web server; its peer
 * policy denies 10/8 and everything else but allows the bridge's address. Media flows, and every selected candidate
 * pair is a relay candidate (coturn's relayed address, so the bridge receives the media from the relay) to the
 * bridge's host candidate.
 */
class TurnRelayCallTest {

    private static final String SECRET = "turn-e2e-secret-turn-e2e-secret-turn-e2e";
    private static final String TURN_SECRET = "turn-e2e-shared-secret-0123456789abcdefgh";
    private static final String SUB = "window.consultbridge.subscribePc";
    private static final String PUB = "window.consultbridge.publishPc";

    private NetNamespace ns;
    private Coturn coturn;
    private MediaBridge bridge;
    private SignalingServer server;

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (bridge != null) {
            bridge.close();
        }
        if (coturn != null) {
            coturn.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    @Test
    void doctorAndRoomTalkThroughCoturnWithRelayOnly() throws Exception {
        Assumptions.assumeTrue(Coturn.binary().isPresent(),
                "coturn is not installed (apt-get install -y coturn; ./consultbridge test installs it)");
        NetNamespace.requireAvailable();
        ns = NetNamespace.create();
        bridge = MediaBridges.start(new BridgeConfig(ns.hostAddress(), 0, List.of()));
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "coturn-e2e-");
        TurnSettings turn = Coturn.forTest(ServerConfig.load().turn().withHost(ns.hostAddress(), "consultbridge.e2e",
                List.of(TURN_SECRET), List.of(ns.hostAddress())), ns.hostAddress(), dir);
        coturn = Coturn.start(turn, dir);
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        server = SignalingServer.start(ServerConfig.load().withHttp(ns.hostAddress(), 0).withTurn(turn), tokens,
                bridge);
        String origin = "http://" + ns.hostAddress() + ":" + server.port();

        try (Browser doctor = Browser.start(ns, origin); Browser room = Browser.start(ns, origin)) {
            doctor.open(origin + "/doctor.html#token=" + tokens.mint("c-turn", "dr-turn", Role.DOCTOR, "Dr. T",
                    Duration.ofHours(1)) + "&relay=1");
            Admission.autoAdmit(doctor);
            room.open(origin + "/room.html#token=" + tokens.mint("c-turn", "room-turn", Role.ROOM, "Raum T",
                    Duration.ofHours(1)) + "&relay=1");
            for (Browser b : List.of(doctor, room)) {
                b.waitFor("!!(window.consultbridge && window.consultbridge.subscribePc)", Duration.ofSeconds(45));
                assertThat(b.execute("return window.consultbridge.publishPc.getConfiguration().iceTransportPolicy"))
                        .isEqualTo("relay");
                b.waitFor(WebRtcStats.videoFramesDecodedAbove(SUB, 60), Duration.ofSeconds(60));
            }
            for (Browser b : List.of(doctor, room)) {
                for (String pc : List.of(PUB, SUB)) {
                    WebRtcStats.CandidatePair pair = WebRtcStats.selectedPair(b, pc).orElseThrow();
                    assertThat(pair.localType()).as(pc + " local candidate type").isEqualTo("relay");
                    // the relayed address coturn allocated: where the bridge receives this browser's media from
                    assertThat(pair.localAddress()).isEqualTo(ns.hostAddress());
                    assertThat(pair.localPort()).isBetween(turn.minPort(), turn.maxPort());
                    assertThat(pair.remoteAddress()).isEqualTo(ns.hostAddress());
                    assertThat(pair.remotePort()).isEqualTo(bridge.udpPort());
                    assertThat(pair.bytesReceived()).isPositive();
                }
                // no candidate but relay ones was even gathered
                for (String pc : List.of(PUB, SUB)) {
                    assertThat(b.execute("return (async () => { const out = []; (await " + pc + ".getStats())"
                            + ".forEach(r => { if (r.type === 'local-candidate') out.push(r.candidateType); });"
                            + " return out; })()").toString()).doesNotContain("host", "srflx");
                }
            }
            EndpointStats doctorStats = bridge.endpoint("c-turn", "dr-turn").orElseThrow().stats();
            EndpointStats roomStats = bridge.endpoint("c-turn", "room-turn").orElseThrow().stats();
            assertThat(doctorStats.rtpPacketsReceived()).isGreaterThan(100);
            assertThat(roomStats.rtpPacketsReceived()).isGreaterThan(100);
            assertThat(doctorStats.rtpPacketsSent()).isGreaterThan(100);
            assertThat(roomStats.rtpPacketsSent()).isGreaterThan(100);
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError(e.getMessage() + "\ncoturn log (" + dir + "):\n" + tail(coturn.log()), e);
        }
    }

    private static String tail(String s) {
        return s.length() > 4000 ? "..." + s.substring(s.length() - 4000) : s;
    }
}
