package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
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
 * Issue #7: a consultation held over HTTPS and WSS in real Chromium, as a hospital deploys it: the pages come from
 * the HTTPS port with the server's self-signed certificate (the embedded default), which the browsers trust by its
 * public key alone (Chromium's SPKI pin flag, no "ignore all certificate errors"); the signalling goes over wss:// on
 * the same port, and the call's media flows both ways.
 */
class HttpsCallTest {

    private static final String SECRET = "https-e2e-secret-https-e2e-secret-0123456";
    private static final Duration MEDIA_TIMEOUT = Duration.ofSeconds(45);
    private static final String SUB = "window.consultbridge.subscribePc";

    private NetNamespace ns;
    private MediaBridge bridge;
    private SignalingServer server;
    private TokenService tokens;
    private String origin;
    private String spkiPin;

    @BeforeEach
    void start() throws Exception {
        NetNamespace.requireAvailable();
        ns = NetNamespace.create();
        bridge = MediaBridges.start(new BridgeConfig(ns.hostAddress(), 0, List.of()));
        tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        ServerConfig config = ServerConfig.load().withHttp(ns.hostAddress(), 0);
        server = SignalingServer.start(config.withHostile(config.hostile().withTls(
                config.hostile().tls().withEnabled(true).withPort(0))), tokens, bridge);
        assertThat(server.certificate()).as("the embedded default's self-signed certificate").isPresent();
        assertThat(server.certificate().get().isSelfSigned()).isTrue();
        origin = "https://" + ns.hostAddress() + ":" + server.httpsPort();
        byte[] spki = server.certificate().get().certificate().getPublicKey().getEncoded();
        spkiPin = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(spki));
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
        // a secure origin by itself: no --unsafely-treat-insecure-origin-as-secure
        Browser b = Browser.start(ns, List.of(), List.of("--ignore-certificate-errors-spki-list=" + spkiPin));
        b.open(origin + "/" + page + ".html#token=" + tokens.mint("c-https", participant, role, name,
                Duration.ofHours(1)));
        return b;
    }

    @Test
    void aCallOverHttpsAndWss() {
        try (Browser doctor = join("doctor", "dr-https", Role.DOCTOR, "Dr. HTTPS");
             Browser room = join("room", "room-https", Role.ROOM, "Raum HTTPS")) {
            Admission.autoAdmit(doctor);
            for (Browser b : List.of(doctor, room)) {
                assertThat(b.execute("return location.protocol")).isEqualTo("https:");
                assertThat(b.execute("return window.isSecureContext")).isEqualTo(true);
                b.waitFor("!!(window.consultbridge && window.consultbridge.subscribePc)", MEDIA_TIMEOUT);
                assertThat((String) b.execute("return window.consultbridge.ws && window.consultbridge.ws.url"))
                        .startsWith("wss://" + ns.hostAddress() + ":" + server.httpsPort() + "/ws");
            }
            for (Browser b : List.of(doctor, room)) {
                b.waitFor("(" + WebRtcStats.INBOUND_RTP_FN + ")(" + SUB + ").then(rs => "
                        + "rs.filter(r => r.kind === 'video' && r.framesDecoded > 30).length >= 1)", MEDIA_TIMEOUT);
                b.waitFor("(" + WebRtcStats.INBOUND_RTP_FN + ")(" + SUB + ").then(rs => "
                        + "rs.filter(r => r.kind === 'audio' && r.packetsReceived > 50).length >= 1)", MEDIA_TIMEOUT);
            }
        }
    }
}
