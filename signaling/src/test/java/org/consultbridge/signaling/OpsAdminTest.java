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
        config = config.withOps(config.ops().withAdmin("127.0.0.1", 0).withCredential(CREDENTIAL));
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
                "/admin/drain")) {
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
                try (WsClient second = join("c-running", "room-1", Role.ROOM, "Room One")) {
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
