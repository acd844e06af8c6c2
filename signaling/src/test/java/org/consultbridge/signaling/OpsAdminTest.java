package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #5 without browsers: the admin port (metrics, health, the ops API and its credential, parameter
 * validation), clientStats validation over a real WebSocket, and the drain, against the real server and bridge.
 */
class OpsAdminTest {

    private static final String SECRET = "ops-secret-ops-secret-ops-secret-ops-0123";
    private static final String CREDENTIAL = "ops-credential-for-tests-0123";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    static MediaBridge bridge;
    static SignalingServer server;
    static TokenService tokens;

    @BeforeAll
    static void start() throws Exception {
        bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        ServerConfig config = ServerConfig.load().withHttpPort(0);
        // summaries in a folder of their own, written as soon as a consultation is empty
        Path summaries = Files.createTempDirectory(Path.of("target"), "ops-admin-summaries");
        config = config.withOps(config.ops().withAdmin("127.0.0.1", 0).withCredential(CREDENTIAL)
                .withSummaries(config.ops().summaries().withDir(summaries).withEndAfter(Duration.ZERO)));
        tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        server = SignalingServer.start(config, tokens, bridge);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        bridge.close();
    }

    static HttpResponse<String> http(String method, String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.adminPort() + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String basic(String password) {
        return "Basic " + Base64.getEncoder().encodeToString(("ops:" + password).getBytes(StandardCharsets.UTF_8));
    }

    static final String BEARER = "Bearer " + CREDENTIAL;

    WsClient join(String consultation, String participant, Role role, String name) throws Exception {
        WsClient c = new WsClient(server.port());
        c.send("type", "hello", "id", 1, "version", 1, "token",
                tokens.mint(consultation, participant, role, name, Duration.ofHours(1)));
        return c;
    }

    @Test
    void metricsAndHealthNeedNoCredentialTheOpsPagesAndApiDo() throws Exception {
        HttpResponse<String> metrics = http("GET", "/metrics", null);
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("consultbridge_participants ", "consultbridge_consultations ",
                "consultbridge_packets_dropped_total{reason=\"srtp-auth\"}", "consultbridge_rtp_packets_forwarded_total",
                "consultbridge_join_seconds_bucket", "consultbridge_rtt_seconds_bucket",
                "consultbridge_receiver_estimated_bandwidth_bits_per_second_bucket", "jvm_memory_used_bytes",
                "process_cpu_usage", "consultbridge_client_stats_total{result=\"rejected\"}");
        assertThat(http("GET", "/healthz/live", null).statusCode()).isEqualTo(200);
        await().atMost(10, TimeUnit.SECONDS).until(() -> http("GET", "/healthz/ready", null).statusCode() == 200);

        for (String path : List.of("/ops", "/ops/ops.js", "/api/ops/state", "/api/ops/events", "/api/ops/stream",
                "/admin/drain", "/api/ops/summaries", "/api/ops/summaries/20250310T090000Z-00000001")) {
            for (String auth : new String[] {null, basic("wrong-password-wrong"), "Bearer nope", basic(""),
                    "Basic " + CREDENTIAL}) {
                HttpResponse<String> r = http("GET", path, auth);
                assertThat(r.statusCode()).as(path + " with " + auth).isEqualTo(401);
                assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(
                        v -> assertThat(v).startsWith("Basic realm="));
            }
        }
        HttpResponse<String> page = http("GET", "/ops", basic(CREDENTIAL));
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("<script type=\"module\" src=\"/ops/ops.js\">");
        assertThat(page.headers().firstValue("Content-Security-Policy")).isPresent();
        HttpResponse<String> state = http("GET", "/api/ops/state", BEARER);
        assertThat(state.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(state.body()).path("consultations").isArray()).isTrue();
        assertThat(http("GET", "/nothing-here", BEARER).statusCode()).isEqualTo(404);
        assertThat(http("POST", "/metrics", null).statusCode()).isEqualTo(405);
    }

    @Test
    void theGrafanaDashboardAndTheAlertRulesUseOnlyMetricsTheServerExports() throws Exception {
        String scrape = http("GET", "/metrics", null).body();
        // registered only when TURN is configured (README: "the gauges only with TURN configured")
        java.util.Set<String> turnOnly = java.util.Set.of("consultbridge_turn_probe_up",
                "consultbridge_turn_probe_latency_seconds");
        java.util.Set<String> used = new java.util.TreeSet<>();
        for (String file : List.of("grafana-dashboard.json", "prometheus-alerts.yml")) {
            String text = Files.readString(Path.of("..", "ops", file));
            var m = java.util.regex.Pattern.compile("\\b(?:consultbridge|jvm|process|system)_[a-z0-9_]+").matcher(text);
            while (m.find()) {
                used.add(m.group());
            }
        }
        assertThat(used).as("metric names in ops/").hasSizeGreaterThan(20);
        for (String name : used) {
            if (turnOnly.contains(name)) {
                continue;
            }
            assertThat(scrape).as(name + " used in ops/ but not exported")
                    .containsPattern("(?m)^" + java.util.regex.Pattern.quote(name) + "[{ ]");
        }
    }

    @Test
    void theOpsApiValidatesItsParameters() throws Exception {
        for (String bad : List.of("/api/ops/events?limit=0", "/api/ops/events?limit=501", "/api/ops/events?limit=abc",
                "/api/ops/events?limit=-3", "/api/ops/events?limit=5&limit=6", "/api/ops/events?lmit=5",
                "/api/ops/state?consultation=XYZ", "/api/ops/state?consultation=0123456789",
                "/api/ops/state?consultation=%3Cscript%3E", "/api/ops/state?foo=1")) {
            HttpResponse<String> r = http("GET", bad, BEARER);
            assertThat(r.statusCode()).as(bad).isEqualTo(400);
            assertThat(JSON.readTree(r.body()).path("error").asText()).as(bad).isNotBlank();
        }
        assertThat(http("GET", "/api/ops/state?consultation=00000000", BEARER).statusCode()).isEqualTo(404);
        HttpResponse<String> events = http("GET", "/api/ops/events?limit=5", BEARER);
        assertThat(events.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(events.body()).isArray()).isTrue();
        assertThat(JSON.readTree(events.body()).size()).isLessThanOrEqualTo(5);
    }

    @Test
    void clientStatsAreValidatedRateLimitedCountedAndShownWithoutNames() throws Exception {
        try (WsClient c = join("c-stats", "pat-mueller", Role.ROOM, "Erika Mustermann")) {
            c.await("welcome");
            c.send("{\"type\":\"clientStats\",\"id\":2,\"fps\":24.5,\"width\":640,\"height\":360,\"freezeCount\":1,"
                    + "\"concealment\":0.01,\"rttMs\":35,\"candidateType\":\"host\",\"firstFrameMs\":1500}");
            assertThat(c.await("ack").path("id").asInt()).isEqualTo(2);
            c.send("{\"type\":\"clientStats\",\"id\":3,\"fps\":25}");
            JsonNode tooSoon = c.await("error");
            assertThat(tooSoon.path("code").asText()).isEqualTo("stats-too-frequent");
            assertThat(tooSoon.path("id").asInt()).isEqualTo(3);
            Thread.sleep(2100);
            c.send("{\"type\":\"clientStats\",\"id\":4,\"fps\":-3}");
            JsonNode invalid = c.await("error");
            assertThat(invalid.path("code").asText()).isEqualTo("stats-invalid");
            assertThat(invalid.path("message").asText()).contains("fps");
            // a rejected report does not count as the last one: the next, absurd but numeric, is clamped
            c.send("{\"type\":\"clientStats\",\"id\":5,\"fps\":100000,\"width\":640,\"height\":360,\"freezeCount\":3}");
            assertThat(c.await("ack").path("id").asInt()).isEqualTo(5);
            assertThat(server.ops().latestClientStats().get("pat-mueller").fps()).isEqualTo(120);
            var m = server.ops().metrics();
            assertThat(m.clientStatsCount("accepted")).isEqualTo(1);
            assertThat(m.clientStatsCount("clamped")).isEqualTo(1);
            assertThat(m.clientStatsCount("rejected")).isEqualTo(1);
            assertThat(m.clientStatsCount("too-frequent")).isEqualTo(1);
            String metrics = http("GET", "/metrics", null).body();
            assertThat(metrics).contains("consultbridge_client_stats_total{result=\"clamped\"} 1.0",
                    "consultbridge_client_freezes_total 3.0", "consultbridge_client_first_frame_seconds_count 1");

            // the dashboard shows the participant by role and label, with the client's figures, never its name
            await().atMost(10, TimeUnit.SECONDS).until(() -> http("GET", "/api/ops/state", BEARER).body()
                    .contains("\"fps\":120.0"));
            String state = http("GET", "/api/ops/state", BEARER).body();
            JsonNode p = JSON.readTree(state).path("consultations").get(0).path("participants").get(0);
            assertThat(p.path("role").asText()).isEqualTo("room");
            assertThat(p.path("label").asText()).matches("room-[0-9a-f]{4}");
            assertThat(p.path("verdict").asText()).isIn("good", "degraded", "bad");
            assertThat(p.path("figures").path("client").path("fps").asDouble()).isEqualTo(120);
            assertThat(state).doesNotContain("Mustermann", "pat-mueller", "c-stats");
            String key = JSON.readTree(state).path("consultations").get(0).path("key").asText();
            assertThat(http("GET", "/api/ops/state?consultation=" + key, BEARER).statusCode()).isEqualTo(200);
            assertThat(http("GET", "/api/ops/events?limit=500", BEARER).body()).contains("\"joined\"")
                    .doesNotContain("Mustermann", "pat-mueller");
        }
    }

    @Test
    void aConsultationThatEndedIsSummarisedAndTheSummaryApiValidatesItsParameters() throws Exception {
        try (WsClient doctor = join("c-summary-7", "dr-summary", Role.DOCTOR, "Dr. Summary");
             WsClient room = join("c-summary-7", "room-summary", Role.ROOM, "Patient Geheimname")) {
            doctor.await("welcome");
            room.await("welcome");
            Thread.sleep(4500); // two samples with both in the call
        }
        // end-after 0: written by the first sample after both left; found by the clinic's id (its pseudonym)
        await().atMost(20, TimeUnit.SECONDS).until(() -> JSON.readTree(
                http("GET", "/api/ops/summaries?consultation=c-summary-7", BEARER).body()).path("summaries").size() == 1);
        HttpResponse<String> list = http("GET", "/api/ops/summaries?consultation=c-summary-7&limit=10", BEARER);
        assertThat(list.statusCode()).isEqualTo(200);
        JsonNode entry = JSON.readTree(list.body()).path("summaries").get(0);
        String id = entry.path("id").asText();
        assertThat(id).matches("[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}");
        assertThat(entry.path("complete").asBoolean()).isTrue();
        assertThat(entry.path("participants").findValuesAsText("role")).containsExactlyInAnyOrder("doctor", "room");
        assertThat(JSON.readTree(http("GET", "/api/ops/summaries", BEARER).body()).path("summaries").size())
                .isGreaterThanOrEqualTo(1);

        HttpResponse<String> one = http("GET", "/api/ops/summaries/" + id, BEARER);
        assertThat(one.statusCode()).isEqualTo(200);
        JsonNode s = JSON.readTree(one.body());
        assertThat(s.path("durationSeconds").asLong()).isBetween(2L, 60L);
        assertThat(s.path("participants")).hasSize(2);
        assertThat(s.path("participants").findValuesAsText("label")).allMatch(l -> l.matches("(doctor|room)-[0-9a-f]{4}"));
        assertThat(s.path("events").findValuesAsText("kind")).contains("joined", "left");
        assertThat(one.body()).doesNotContain("Geheimname", "Dr. Summary", "dr-summary", "room-summary", "c-summary-7");
        assertThat(http("GET", "/api/ops/summaries/" + id, null).statusCode()).isEqualTo(401);
        assertThat(http("GET", "/api/ops/summaries/20200101T000000Z-00000000", BEARER).statusCode()).isEqualTo(404);

        for (String bad : List.of("/api/ops/summaries?from=yesterday", "/api/ops/summaries?to=2025-13-01",
                "/api/ops/summaries?from=2025-03-10&to=2025-03-01", "/api/ops/summaries?limit=0",
                "/api/ops/summaries?limit=100000", "/api/ops/summaries?limit=2&limit=3", "/api/ops/summaries?order=asc",
                "/api/ops/summaries?consultation=", "/api/ops/summaries/not-an-id",
                "/api/ops/summaries/20250310T090000Z-0000000G",
                "/api/ops/summaries/" + id + "?x=1", "/api/ops/summaries/" + id + ".json")) {
            HttpResponse<String> r = http("GET", bad, BEARER);
            assertThat(r.statusCode()).as(bad).isEqualTo(400);
            assertThat(r.body()).as(bad).startsWith("{");
            assertThat(JSON.readTree(r.body()).path("error").asText()).as(bad).isNotBlank();
        }
        // paths that try to leave the folder: Jetty refuses encoded separators and NULs itself (400), ".." segments are
        // resolved before the handler sees the path, and no id can contain either
        for (String escape : List.of("/api/ops/summaries/..%2F..%2F..%2Fetc%2Fpasswd",
                "/api/ops/summaries/../../../etc/passwd", "/api/ops/summaries/%2e%2e/%2e%2e/x",
                "/api/ops/summaries/" + id + "%00")) {
            HttpResponse<String> r = http("GET", escape, BEARER);
            assertThat(r.statusCode()).as(escape).isIn(400, 404);
            assertThat(r.body()).as(escape).doesNotContain("root:");
        }
        assertThat(http("POST", "/api/ops/summaries", BEARER).statusCode()).isEqualTo(405);
        assertThat(http("GET", "/metrics", null).body()).contains("consultbridge_summaries_written_total{result=\"ok\"}");
    }

    @Test
    void aRejoinWithinSecondsIsAReconnectAndIceRestartsReportedByTheSignallingAreEvents() throws Exception {
        String label;
        try (WsClient first = join("c-reconnect", "room-rc", Role.ROOM, "Raum RC")) {
            first.await("welcome");
            // the only room on the dashboard once earlier tests' participants are gone
            await().atMost(15, TimeUnit.SECONDS).until(() -> roomLabels().size() == 1);
            label = roomLabels().get(0);
        }
        Thread.sleep(2500); // the sampler sees it gone
        try (WsClient again = join("c-reconnect", "room-rc", Role.ROOM, "Raum RC")) {
            again.await("welcome");
            var p = server.registry().participants("c-reconnect").get(0);
            server.ops().iceRestarted("c-reconnect", p, "subscribe: consent lost");
            server.ops().reconnected("c-reconnect", p, "resumed"); // also seen by the sampler: recorded once
            await().atMost(10, TimeUnit.SECONDS).until(() -> kinds(label).contains("ice-restart")
                    && kinds(label).contains("reconnected"));
            Thread.sleep(2500);
            List<String> kinds = kinds(label);
            assertThat(kinds.stream().filter("joined"::equals).count()).as(kinds.toString()).isEqualTo(1);
            assertThat(kinds.stream().filter("reconnected"::equals).count()).as(kinds.toString()).isEqualTo(1);
            assertThat(kinds).contains("left");
        }
    }

    private static List<String> roomLabels() throws Exception {
        List<String> out = new java.util.ArrayList<>();
        for (JsonNode c : JSON.readTree(http("GET", "/api/ops/state", BEARER).body()).path("consultations")) {
            for (JsonNode p : c.path("participants")) {
                if (p.path("role").asText().equals("room")) {
                    out.add(p.path("label").asText());
                }
            }
        }
        return out;
    }

    private static List<String> kinds(String label) throws Exception {
        List<String> out = new java.util.ArrayList<>();
        for (JsonNode e : JSON.readTree(http("GET", "/api/ops/events?limit=500", BEARER).body())) {
            if (label.equals(e.path("participant").asText())) {
                out.add(e.path("kind").asText());
            }
        }
        return out;
    }

    @Test
    void drainRefusesNewConsultationsLetsRunningOnesGoOnAndClearsReadiness() throws Exception {
        try (WsClient running = join("c-running", "dr-1", Role.DOCTOR, "Dr. One")) {
            running.await("welcome");
            assertThat(http("POST", "/admin/drain", null).statusCode()).isEqualTo(401);
            HttpResponse<String> drained = http("POST", "/admin/drain", BEARER);
            assertThat(drained.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(drained.body()).path("draining").asBoolean()).isTrue();
            try {
                HttpResponse<String> ready = http("GET", "/healthz/ready", null);
                assertThat(ready.statusCode()).isEqualTo(503);
                assertThat(JSON.readTree(ready.body()).path("reasons").toString()).contains("draining");
                assertThat(http("GET", "/healthz/live", null).statusCode()).isEqualTo(200);

                try (WsClient fresh = join("c-new", "dr-2", Role.DOCTOR, "Dr. Two")) {
                    JsonNode err = fresh.await("error");
                    assertThat(err.path("code").asText()).isEqualTo("draining");
                    assertThat(fresh.closed.get(5, TimeUnit.SECONDS)).isEqualTo(4503);
                }
                try (WsClient second = join("c-running", "dr-3", Role.DOCTOR, "Dr. Three")) {
                    assertThat(second.await("welcome").path("participants").size()).isEqualTo(1);
                }
                assertThat(http("GET", "/metrics", null).body())
                        .contains("consultbridge_joins_refused_total{reason=\"draining\"} 1.0", "consultbridge_draining 1.0");
            } finally {
                HttpResponse<String> resumed = http("DELETE", "/admin/drain", BEARER);
                assertThat(JSON.readTree(resumed.body()).path("draining").asBoolean()).isFalse();
            }
            assertThat(http("GET", "/healthz/ready", null).statusCode()).isEqualTo(200);
            try (WsClient fresh = join("c-new", "dr-2", Role.DOCTOR, "Dr. Two")) {
                fresh.await("welcome");
            }
        }
    }
}
