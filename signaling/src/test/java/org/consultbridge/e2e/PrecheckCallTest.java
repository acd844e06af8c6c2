package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.netem.LinkProfile;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue #8, the pre-call check (check.html) with real Chromium (fake camera and microphone) against the real server
 * and bridge: the bridge listens in the clinic's namespace; a kiosk in the clinic reaches it directly, a kiosk in the
 * village only through a {@link LinkRelay} shaped as {@code rural-weak} (384 kbit/s, 150 ms RTT, 2 % loss). On the
 * direct link the check finds camera and microphone working and judges the link good, with RTT and uplink figures;
 * across the rural link the verdict is not good and the uplink estimate stays below 600 kbit/s. The page's
 * "continue" link then joins the consultation with the same invitation (into the waiting room: the check itself
 * told nobody).
 */
class PrecheckCallTest {

    private static final String SECRET = "precheck-secret-precheck-secret-precheck-1";
    private static final String RESULT = "return window.consultbridgePrecheck";

    private NetNamespace clinic;
    private NetNamespace village;
    private MediaBridge bridge;
    private SignalingServer server;
    private LinkRelay relay;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {server, relay, bridge == null ? null : bridge::close, village,
                clinic}) {
            if (c != null) {
                c.close();
            }
        }
    }

    private static Map<?, ?> check(Browser b, String url) {
        b.open(url);
        b.waitFor("window.consultbridgePrecheck && window.consultbridgePrecheck.done", Duration.ofSeconds(60));
        return (Map<?, ?>) b.execute(RESULT);
    }

    private static double num(Map<?, ?> m, String key) {
        Object v = m.get(key);
        assertThat(v).as(key + " in " + m).isInstanceOf(Number.class);
        return ((Number) v).doubleValue();
    }

    @Test
    void aDirectLinkIsGoodAndARuralLinkIsNot() throws Exception {
        NetNamespace.requireAvailable();
        clinic = NetNamespace.create();
        village = NetNamespace.create();
        int port = clinic.allocatePort();
        bridge = MediaBridges.start(new BridgeConfig(clinic.hostAddress(), port,
                List.of(clinic.hostAddress(), village.hostAddress())));
        relay = LinkRelay.between(clinic, village, port, LinkProfile.RURAL_WEAK);
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        server = SignalingServer.start(ServerConfig.load().withHttp("0.0.0.0", 0), tokens, bridge);
        String clinicOrigin = "http://" + clinic.hostAddress() + ":" + server.port();
        String villageOrigin = "http://" + village.hostAddress() + ":" + server.port();

        // ---- direct link
        String invitation = "#token=" + tokens.mint("c-check", "room-c", Role.ROOM, "Raum C", Duration.ofHours(1))
                + "&consultation=c-check";
        try (Browser kiosk = Browser.start(clinic, clinicOrigin)) {
            long started = System.nanoTime();
            Map<?, ?> r = check(kiosk, clinicOrigin + "/check.html" + invitation);
            Map<?, ?> camera = (Map<?, ?>) r.get("camera");
            Map<?, ?> mic = (Map<?, ?>) r.get("microphone");
            Map<?, ?> link = (Map<?, ?>) r.get("link");
            System.out.printf("direct: check took %.1f s; camera %s; microphone %s; link %s%n",
                    (System.nanoTime() - started) / 1e9, camera, mic, link);
            assertThat(camera.get("state")).as("camera " + camera).isEqualTo("ok");
            assertThat(num(camera, "width")).isPositive();
            assertThat(num(camera, "fps")).isPositive();
            assertThat(mic.get("state")).as("microphone " + mic).isEqualTo("heard");
            assertThat(link.get("state")).as("link " + link).isEqualTo("done");
            assertThat(link.get("verdict")).as("link " + link).isEqualTo("good");
            assertThat(num(link, "rttMs")).isBetween(0.0, 100.0);
            assertThat(num(link, "uplinkBps")).isGreaterThanOrEqualTo(500_000);
            assertThat(link.get("transport")).isEqualTo("udp");
            // the figures are on the page, in plain language
            assertThat(kiosk.execute("return document.getElementById('link-result').dataset.verdict")).isEqualTo("good");
            assertThat((String) kiosk.execute("return document.getElementById('rtt').textContent")).endsWith(" ms");
            assertThat((String) kiosk.execute("return document.getElementById('uplink').textContent"))
                    .endsWith(" kbit/s");
            assertThat((String) kiosk.execute("return document.getElementById('link-result').textContent"))
                    .contains("Verbindung gut", "Link good");
            // nobody was told: the check left no trace in the consultation
            assertThat(server.registry().consultations()).noneMatch(c -> c.participants().stream()
                    .anyMatch(p -> p.id().equals("room-c")));

            // continue: the room page with the same invitation joins (and waits: no doctor yet), and links back
            kiosk.execute("document.getElementById('continue').click()");
            kiosk.waitFor("window.consultbridge && window.consultbridge.state === 'waiting'", Duration.ofSeconds(20));
            assertThat((String) kiosk.execute("return document.getElementById('check-link').href"))
                    .endsWith("/check.html" + invitation);
        }

        // ---- rural-weak link through the relay
        try (Browser kiosk = Browser.start(village, villageOrigin)) {
            Map<?, ?> r = check(kiosk, villageOrigin + "/check.html#token="
                    + tokens.mint("c-check", "room-v", Role.ROOM, "Raum V", Duration.ofHours(1)));
            Map<?, ?> link = (Map<?, ?>) r.get("link");
            System.out.printf("rural-weak: link %s; relay drops up %d%n", link, relay.droppedUp());
            assertThat(link.get("state")).as("link " + link).isEqualTo("done");
            assertThat(link.get("verdict")).as("link " + link).isIn("fair", "bad");
            assertThat(num(link, "uplinkBps")).as("uplink estimate on a 384 kbit/s link").isLessThan(600_000);
            assertThat(num(link, "rttMs")).as("RTT across 2 x 75 ms").isGreaterThanOrEqualTo(100);
            assertThat(kiosk.execute("return document.getElementById('link-result').dataset.verdict"))
                    .isEqualTo(link.get("verdict"));
        }
    }
}
