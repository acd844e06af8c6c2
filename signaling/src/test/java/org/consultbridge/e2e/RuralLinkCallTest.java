package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The room endpoint behind an emulated rural link (its own namespace: uplink 500 kbit/s, downlink 1 Mbit/s with
 * tbf, 3 % random loss each way with nftables; this kernel has no netem, so no added delay), the doctor on a clean
 * link. The call stays usable, and the bridge repairs the room's downlink with RTX: Chromium's NACKs are answered.
 */
class RuralLinkCallTest {

    private static final String SECRET = "rural-secret-rural-secret-rural-secret-12";
    private static final String SUB = "window.consultbridge.subscribePc";
    /** Per received stream: kind, frames, NACKs sent, RTX received, audio samples and concealment. */
    private static final String RECEIVED = """
            return window.consultbridge.subscribePc.getStats().then(s => { const o = {video: 0, nacks: 0, rtx: 0,
              samples: 0, concealed: 0, audioPackets: 0};
              s.forEach(r => { if (r.type !== 'inbound-rtp') return;
                if (r.kind === 'video') { o.video += r.framesDecoded || 0; o.nacks += r.nackCount || 0;
                  o.rtx += r.retransmittedPacketsReceived || 0; }
                else { o.samples += r.totalSamplesReceived || 0; o.concealed += r.concealedSamples || 0;
                  o.audioPackets += r.packetsReceived || 0; } });
              return o; });""";

    private NetNamespace clinic;
    private NetNamespace village;
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
        if (village != null) {
            village.close();
        }
        if (clinic != null) {
            clinic.close();
        }
    }

    @Test
    void callStaysUsableAndTheBridgeRepairsTheRuralDownlink() throws Exception {
        NetNamespace.requireAvailable();
        clinic = NetNamespace.create();
        village = NetNamespace.create();
        bridge = MediaBridges.start(new BridgeConfig("0.0.0.0", 0, List.of(clinic.hostAddress(), village.hostAddress())));
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        server = SignalingServer.start(ServerConfig.load().withHttp("0.0.0.0", 0), tokens, bridge);
        shape(village);

        String clinicOrigin = "http://" + clinic.hostAddress() + ":" + server.port();
        String villageOrigin = "http://" + village.hostAddress() + ":" + server.port();
        try (Browser doctor = Browser.start(clinic, clinicOrigin);
             Browser room = Browser.start(village, villageOrigin)) {
            doctor.open(clinicOrigin + "/doctor.html#token="
                    + tokens.mint("c-rural", "dr-r", Role.DOCTOR, "Dr. R", Duration.ofHours(1)));
            Admission.autoAdmit(doctor);
            room.open(villageOrigin + "/room.html#token="
                    + tokens.mint("c-rural", "room-r", Role.ROOM, "Raum R", Duration.ofHours(1)));
            for (Browser b : List.of(doctor, room)) {
                b.waitFor("!!(window.consultbridge && window.consultbridge.subscribePc)", Duration.ofSeconds(45));
                b.waitFor("(" + WebRtcStats.INBOUND_RTP_FN + ")(" + SUB + ").then(rs => rs.filter(r => "
                        + "r.kind === 'video' && r.framesDecoded > 30).length >= 1)", Duration.ofSeconds(60));
            }
            Map<?, ?> doctorBefore = (Map<?, ?>) doctor.execute(RECEIVED);
            Map<?, ?> roomBefore = (Map<?, ?>) room.execute(RECEIVED);
            Thread.sleep(15_000);
            Map<?, ?> doctorAfter = (Map<?, ?>) doctor.execute(RECEIVED);
            Map<?, ?> roomAfter = (Map<?, ?>) room.execute(RECEIVED);

            double doctorFps = (num(doctorAfter, "video") - num(doctorBefore, "video")) / 15.0;
            double roomFps = (num(roomAfter, "video") - num(roomBefore, "video")) / 15.0;
            assertThat(doctorFps).as("doctor sees the room's camera moving, fps").isGreaterThan(5);
            assertThat(roomFps).as("the room sees the doctor, fps").isGreaterThan(5);
            assertThat(num(doctorAfter, "audioPackets") - num(doctorBefore, "audioPackets")).isGreaterThan(300);
            assertThat(num(roomAfter, "audioPackets") - num(roomBefore, "audioPackets")).isGreaterThan(300);
            // the room's browser NACKs what its lossy downlink lost, and the bridge answers with RTX
            assertThat(num(roomAfter, "nacks")).as("NACKs sent by the room").isPositive();
            assertThat(num(roomAfter, "rtx")).as("retransmissions received by the room").isPositive();
            double concealed = (num(doctorAfter, "concealed") - num(doctorBefore, "concealed"))
                    / Math.max(1, num(doctorAfter, "samples") - num(doctorBefore, "samples"));
            assertThat(concealed).as("share of the room's audio the doctor's browser had to conceal").isLessThan(0.2);
        }
    }

    private static double num(Map<?, ?> m, String key) {
        return ((Number) m.get(key)).doubleValue();
    }

    /** tbf both ways on the village's veth (uplink in the namespace, downlink on the host side), nft loss both ways. */
    private static void shape(NetNamespace ns) {
        HostCommand.check("ip", "netns", "exec", ns.name(), "tc", "qdisc", "add", "dev", ns.nsInterface(), "root",
                "tbf", "rate", "500kbit", "burst", "20kb", "latency", "300ms");
        HostCommand.check("tc", "qdisc", "add", "dev", ns.hostInterface(), "root", "tbf", "rate", "1mbit",
                "burst", "30kb", "latency", "300ms");
        HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "table", "inet", "rural");
        for (String hook : List.of("input", "output")) {
            HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "chain", "inet", "rural", hook,
                    "{ type filter hook " + hook + " priority 0 ; }");
            HostCommand.check("ip", "netns", "exec", ns.name(), "nft", "add", "rule", "inet", "rural", hook,
                    "meta", "l4proto", "udp", "numgen", "random", "mod", "100", "<", "3", "drop");
        }
    }
}
