package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
 * Issue #5 end to end: a doctor and a room in headless Chromium (as in ConsultationCallTest) through the real
 * server; then the Prometheus scrape moves (bit rates, forwarded packets, join time), a third Chromium opens the ops
 * dashboard with the credential and sees both participants with verdicts updating live, without the credential the
 * page and the API answer 401, and a drain makes the node unready while the call goes on. Saves a screenshot of the
 * dashboard to target/ops-dashboard.png (and to docs/ with -Dcbt.updateDocsScreenshot=true).
 */
class OpsDashboardCallTest {

    private static final String SECRET = "e2e-ops-secret-e2e-ops-secret-e2e-ops-secret";
    private static final String CREDENTIAL = "e2e-ops-credential-0123456789";
    private static final Duration MEDIA_TIMEOUT = Duration.ofSeconds(45);
    private static final String SUB = "window.consultbridge.subscribePc";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private NetNamespace ns;
    private MediaBridge bridge;
    private SignalingServer server;
    private TokenService tokens;
    private String origin;
    private String admin;

    @BeforeEach
    void start() throws Exception {
        NetNamespace.requireAvailable();
        ns = NetNamespace.create();
        bridge = MediaBridges.start(new BridgeConfig(ns.hostAddress(), 0, List.of()));
        tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        ServerConfig config = ServerConfig.load().withHttp(ns.hostAddress(), 0);
        config = config.withOps(config.ops().withAdmin(ns.hostAddress(), 0).withCredential(CREDENTIAL));
        server = SignalingServer.start(config, tokens, bridge);
        origin = "http://" + ns.hostAddress() + ":" + server.port();
        admin = "http://" + ns.hostAddress() + ":" + server.adminPort();
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
        Browser b = Browser.start(ns, origin);
        b.open(origin + "/" + page + ".html#token=" + tokens.mint("c-ops", participant, role, name, Duration.ofHours(1)));
        return b;
    }

    private HttpResponse<String> http(String method, String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(admin + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The value of one series in a Prometheus scrape (exact name with labels), or -1 when absent. */
    static double series(String scrape, String nameWithLabels) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(nameWithLabels) + " ([-+0-9.eE]+|NaN)$").matcher(scrape);
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    @Test
    void metricsMoveTheDashboardShowsBothParticipantsLiveAndDrainKeepsTheCallGoing() throws Exception {
        try (Browser doctor = join("doctor", "dr-ops", Role.DOCTOR, "Dr. Geheim");
             Browser room = join("room", "room-ops", Role.ROOM, "Patientin Vertraulich")) {
            for (Browser b : List.of(doctor, room)) {
                b.waitFor("!!(window.consultbridge && window.consultbridge.subscribePc)", MEDIA_TIMEOUT);
                b.waitFor(WebRtcStats.videoFramesDecodedAbove(SUB, 60), MEDIA_TIMEOUT);
            }

            // --- Prometheus: series move
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            String first = http("GET", "/metrics", null).body();
            while ((series(first, "consultbridge_bitrate_in_bits_per_second") <= 0
                    || series(first, "consultbridge_join_seconds_count") < 2) && System.nanoTime() < deadline) {
                Thread.sleep(500);
                first = http("GET", "/metrics", null).body();
            }
            assertThat(series(first, "consultbridge_participants")).isEqualTo(2);
            assertThat(series(first, "consultbridge_consultations")).isEqualTo(1);
            assertThat(series(first, "consultbridge_bitrate_in_bits_per_second")).isGreaterThan(50_000);
            assertThat(series(first, "consultbridge_bitrate_out_bits_per_second")).isGreaterThan(50_000);
            assertThat(series(first, "consultbridge_join_seconds_count")).isEqualTo(2);
            assertThat(series(first, "consultbridge_join_seconds_sum")).isGreaterThan(0).isLessThan(60);
            Thread.sleep(4500); // two more samples
            String second = http("GET", "/metrics", null).body();
            assertThat(series(second, "consultbridge_rtp_packets_forwarded_total"))
                    .isGreaterThan(series(first, "consultbridge_rtp_packets_forwarded_total") + 100);
            assertThat(series(second, "consultbridge_rtp_received_bytes_total"))
                    .isGreaterThan(series(first, "consultbridge_rtp_received_bytes_total"));
            assertThat(series(second, "consultbridge_receiver_estimated_bandwidth_bits_per_second_count"))
                    .isGreaterThan(0);
            assertThat(series(second, "consultbridge_packets_dropped_total{reason=\"srtp-auth\"}")).isZero();
            assertThat(series(second, "jvm_threads_live_threads")).isPositive();
            // each page reports clientStats every 5 s, including its time to first frame once
            deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (series(second, "consultbridge_client_first_frame_seconds_count") < 2 && System.nanoTime() < deadline) {
                Thread.sleep(500);
                second = http("GET", "/metrics", null).body();
            }
            assertThat(series(second, "consultbridge_client_first_frame_seconds_count")).isEqualTo(2);
            assertThat(series(second, "consultbridge_client_stats_total{result=\"accepted\"}")).isGreaterThanOrEqualTo(2);
            assertThat(series(second, "consultbridge_client_stats_total{result=\"rejected\"}")).isZero();

            // --- without the credential: 401 for the page and the API
            for (String path : List.of("/ops", "/api/ops/state", "/api/ops/stream")) {
                assertThat(http("GET", path, null).statusCode()).as(path).isEqualTo(401);
                assertThat(http("GET", path, "Bearer wrong-credential-wrong").statusCode()).as(path).isEqualTo(401);
            }

            // --- the dashboard in a third Chromium, with the credential (HTTP Basic in the URL)
            try (Browser ops = Browser.start(ns, admin)) {
                ops.open("http://ops:" + CREDENTIAL + "@" + ns.hostAddress() + ":" + server.adminPort() + "/ops");
                ops.waitFor("!!(window.opsState && window.opsState.consultations.length === 1 "
                        + "&& window.opsState.consultations[0].participants.length === 2 "
                        + "&& window.opsState.consultations[0].participants.every(p => p.figures.client "
                        + "&& p.history.bitrateIn.length > 2))", Duration.ofSeconds(30));
                long updates = ((Number) ops.execute("return window.opsUpdates")).longValue();
                ops.waitFor("window.opsUpdates >= " + (updates + 2), Duration.ofSeconds(15)); // live (SSE)
                @SuppressWarnings("unchecked")
                List<Map<String, Object>> rows = (List<Map<String, Object>>) ops.execute(
                        "return [...document.querySelectorAll('tr[data-participant]')].map(r => ({verdict: "
                        + "r.dataset.verdict, text: r.innerText, sparklines: r.querySelectorAll('svg polyline').length}))");
                assertThat(rows).hasSize(2);
                assertThat(rows).allSatisfy(r -> {
                    assertThat((String) r.get("verdict")).isIn("good", "degraded", "bad");
                    assertThat(((Number) r.get("sparklines")).intValue()).isEqualTo(5);
                });
                String text = (String) ops.execute("return document.body.innerText");
                assertThat(text).contains("doctor-", "room-");
                assertThat(text).doesNotContain("Geheim", "Vertraulich", "dr-ops", "room-ops", "c-ops");
                // the figures move between two updates
                String before = (String) ops.execute("return JSON.stringify(window.opsState.consultations[0]"
                        + ".participants.map(p => p.history.bitrateIn))");
                ops.waitFor("JSON.stringify(window.opsState.consultations[0].participants.map(p => p.history.bitrateIn))"
                        + " !== " + org.consultbridge.e2e.Js.quote(before), Duration.ofSeconds(10));
                byte[] png = ops.screenshotPng();
                Files.write(Path.of("target", "ops-dashboard.png"), png);
                if (Boolean.getBoolean("cbt.updateDocsScreenshot")) {
                    Files.write(Path.of("..", "docs", "ops-dashboard.png"), png);
                }

                // --- drain: unready, the running call goes on, the dashboard says so
                assertThat(http("GET", "/healthz/ready", null).statusCode()).isEqualTo(200);
                assertThat(http("POST", "/admin/drain", "Bearer " + CREDENTIAL).statusCode()).isEqualTo(200);
                assertThat(http("GET", "/healthz/ready", null).statusCode()).isEqualTo(503);
                ops.waitFor("window.opsState.draining === true && document.getElementById('node').textContent "
                        + "=== 'draining'", Duration.ofSeconds(10));
                long frames = WebRtcStats.videoFramesDecoded(WebRtcStats.inboundRtp(doctor, SUB));
                doctor.waitFor(WebRtcStats.videoFramesDecodedAbove(SUB, frames + 30), Duration.ofSeconds(15));
            }
        }
    }
}
