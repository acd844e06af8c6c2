package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.EndpointStats;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue #4 (ICE-TCP) end to end: the doctor's Chromium sits in a namespace whose UDP is dropped both ways with
 * nftables (a hospital firewall), the room's Chromium in another with a normal network; no TURN. The doctor reaches
 * the bridge through its passive TCP candidate (RFC 6544): every selected pair of the doctor is TCP to the bridge's
 * TCP port, the room's stay UDP, and video decodes both ways.
 */
class IceTcpCallTest {

    private static final String SECRET = "icetcp-secret-icetcp-secret-icetcp-secret";
    private static final String SUB = "window.consultbridge.subscribePc";
    private static final String PUB = "window.consultbridge.publishPc";

    private NetNamespace hospital;
    private NetNamespace clinic;
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
        if (hospital != null) {
            hospital.close();
        }
        if (clinic != null) {
            clinic.close();
        }
    }

    @Test
    void aDoctorBehindAFirewallThatDropsUdpTalksToTheRoomOverIceTcp() throws Exception {
        NetNamespace.requireAvailable();
        hospital = NetNamespace.create();
        clinic = NetNamespace.create();
        bridge = MediaBridges.start(new BridgeConfig("0.0.0.0", 0,
                List.of(hospital.hostAddress(), clinic.hostAddress()), BridgeConfig.TCP_ANY_PORT));
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        server = SignalingServer.start(ServerConfig.load().withHttp("0.0.0.0", 0), tokens, bridge);
        dropUdp(hospital);

        String hospitalOrigin = "http://" + hospital.hostAddress() + ":" + server.port();
        String clinicOrigin = "http://" + clinic.hostAddress() + ":" + server.port();
        try (Browser doctor = Browser.start(hospital, hospitalOrigin);
             Browser room = Browser.start(clinic, clinicOrigin)) {
            doctor.open(hospitalOrigin + "/doctor.html#token="
                    + tokens.mint("c-icetcp", "dr-tcp", Role.DOCTOR, "Dr. TCP", Duration.ofHours(1)));
            Admission.autoAdmit(doctor);
            room.open(clinicOrigin + "/room.html#token="
                    + tokens.mint("c-icetcp", "room-udp", Role.ROOM, "Raum UDP", Duration.ofHours(1)));
            for (Browser b : List.of(doctor, room)) {
                b.waitFor("!!(window.consultbridge && window.consultbridge.subscribePc)", Duration.ofSeconds(45));
                b.waitFor(WebRtcStats.videoFramesDecodedAbove(SUB, 60), Duration.ofSeconds(60));
            }
            for (String pc : List.of(PUB, SUB)) {
                WebRtcStats.CandidatePair d = WebRtcStats.selectedPair(doctor, pc).orElseThrow();
                assertThat(d.protocol()).as("doctor " + pc + " selected local candidate protocol").isEqualTo("tcp");
                assertThat(d.remoteAddress()).isIn(hospital.hostAddress(), clinic.hostAddress());
                assertThat(d.remotePort()).as("the bridge's TCP port").isEqualTo(bridge.tcpPort());
                assertThat(d.bytesReceived()).isPositive();
                WebRtcStats.CandidatePair r = WebRtcStats.selectedPair(room, pc).orElseThrow();
                assertThat(r.protocol()).as("room " + pc + " stays on UDP").isEqualTo("udp");
                assertThat(r.remotePort()).isEqualTo(bridge.udpPort());
            }
            // the firewall really was in the way: the doctor's browser tried UDP and it was dropped
            assertThat(udpDropped(hospital)).as("UDP packets dropped in the doctor's namespace").isPositive();

            // measured over 10 s: frame rates both ways, the doctor's TCP round trip
            long doctorFrames = WebRtcStats.videoFramesDecoded(WebRtcStats.inboundRtp(doctor, SUB));
            long roomFrames = WebRtcStats.videoFramesDecoded(WebRtcStats.inboundRtp(room, SUB));
            Thread.sleep(10_000);
            double doctorFps = (WebRtcStats.videoFramesDecoded(WebRtcStats.inboundRtp(doctor, SUB)) - doctorFrames) / 10.0;
            double roomFps = (WebRtcStats.videoFramesDecoded(WebRtcStats.inboundRtp(room, SUB)) - roomFrames) / 10.0;
            WebRtcStats.CandidatePair pair = WebRtcStats.selectedPair(doctor, SUB).orElseThrow();
            WebRtcStats.CandidatePair roomPair = WebRtcStats.selectedPair(room, SUB).orElseThrow();
            System.out.printf("ICE-TCP call: doctor decodes %.1f fps over TCP, room decodes %.1f fps of the doctor's "
                    + "TCP upload; STUN RTT doctor (TCP) %s s, room (UDP) %s s; bridge drops %s%n", doctorFps, roomFps,
                    pair.currentRoundTripTime(), roomPair.currentRoundTripTime(), bridge.stats().droppedByReason());
            assertThat(doctorFps).as("the doctor sees the room's camera moving").isGreaterThan(10);
            assertThat(roomFps).as("the room sees the doctor's camera moving").isGreaterThan(10);

            EndpointStats doctorStats = bridge.endpoint("c-icetcp", "dr-tcp").orElseThrow().stats();
            assertThat(doctorStats.rtpPacketsReceived()).isGreaterThan(100);
            assertThat(doctorStats.rtpPacketsSent()).isGreaterThan(100);
        }
    }

    /** A firewall that lets no UDP in or out of {@code ns} (TCP, so HTTP and ICE-TCP, still pass). */
    private static void dropUdp(NetNamespace ns) {
        HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "table", "inet", "firewall");
        for (String hook : List.of("input", "output")) {
            HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "chain", "inet", "firewall", hook,
                    "{ type filter hook " + hook + " priority 0 ; }");
            HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "rule", "inet", "firewall", hook,
                    "meta", "l4proto", "udp", "counter", "drop");
        }
    }

    private static long udpDropped(NetNamespace ns) {
        String rules = HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "list", "table", "inet", "firewall");
        Matcher m = Pattern.compile("counter packets (\\d+)").matcher(rules);
        long total = 0;
        while (m.find()) {
            total += Long.parseLong(m.group(1));
        }
        return total;
    }
}
