package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.api.QualitySnapshot.EndpointQuality;
import org.consultbridge.signaling.audit.AuditSettings;
import org.consultbridge.signaling.consultation.Consultation;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #8, the pre-call check over real WebSockets against the real server and bridge: a {@code hello} with
 * {@code "mode":"precheck"} is refused for a bad token like a join, gets a bridge endpoint in a private conference,
 * is invisible to the doctor (no waiting room entry, no participant, no audit entry), leaves a one-time token
 * usable, and ends after its time limit.
 */
class PrecheckProtocolTest {

    static final String SECRET = "precheck-secret-precheck-secret-precheck-0";
    static final ObjectMapper JSON = new ObjectMapper();
    static MediaBridge bridge;
    static SignalingServer server;
    static TokenService tokens;
    @TempDir
    static Path auditDir;

    @BeforeAll
    static void start() throws Exception {
        bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        tokens = new TokenService(SECRET.getBytes(StandardCharsets.UTF_8), null, "consultbridge",
                Duration.ofHours(12), Duration.ofSeconds(60), Clock.systemUTC());
        ServerConfig config = ServerConfig.load().withHttpPort(0);
        config = config.withAdmission(config.admission().withWaitingRoom(true).withOneTimeTokens(true)
                .withAudit(new AuditSettings(true, auditDir, Duration.ofDays(90), "")));
        server = SignalingServer.start(config, tokens, bridge);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        bridge.close();
    }

    static String token(String consultation, String participant, Role role, String name) {
        return tokens.mint(consultation, participant, role, name, Duration.ofHours(1));
    }

    static WsClient precheck(String token, Object seconds) throws Exception {
        WsClient c = new WsClient(server.port());
        if (seconds == null) {
            c.send("type", "hello", "id", 1, "version", 1, "mode", "precheck", "token", token);
        } else {
            c.send("type", "hello", "id", 1, "version", 1, "mode", "precheck", "token", token, "seconds", seconds);
        }
        return c;
    }

    static List<EndpointQuality> precheckEndpoints() {
        return bridge.qualitySnapshot().endpoints().stream()
                .filter(e -> e.conferenceId().startsWith("precheck:")).toList();
    }

    @Test
    void aBadTokenIsRefusedAsForAJoin() throws Exception {
        try (WsClient c = precheck("not-a-jwt", null)) {
            JsonNode err = c.await("error");
            assertThat(err.path("code").asText()).isEqualTo("token-invalid");
            assertThat(err.path("id").asInt()).isEqualTo(1);
            assertThat(c.closed.get(5, TimeUnit.SECONDS)).isEqualTo(4401);
        }
        TokenService other = new TokenService("another-secret-another-secret-another-0123", "consultbridge",
                Duration.ofHours(12), Duration.ofSeconds(60));
        try (WsClient c = precheck(other.mint("c-pre-bad", "room-x", Role.ROOM, "Raum X", Duration.ofHours(1)),
                null)) {
            assertThat(c.await("error").path("code").asText()).isEqualTo("token-signature");
            assertThat(c.closed.get(5, TimeUnit.SECONDS)).isEqualTo(4401);
        }
        assertThat(precheckEndpoints()).isEmpty();
        // an unknown mode is a malformed hello: the socket stays open and may say hello properly
        try (WsClient c = new WsClient(server.port())) {
            c.send("type", "hello", "id", 1, "version", 1, "mode", "spy",
                    "token", token("c-pre-bad", "room-y", Role.ROOM, "Raum Y"));
            assertThat(c.await("error").path("code").asText()).isEqualTo("bad-message");
            c.send("type", "hello", "id", 2, "version", 1, "mode", "precheck",
                    "token", token("c-pre-bad", "room-y", Role.ROOM, "Raum Y"));
            assertThat(c.await("welcome").path("mode").asText()).isEqualTo("precheck");
        }
    }

    @Test
    void theCheckIsInvisibleToTheDoctorAndLeavesAOneTimeTokenUsable() throws Exception {
        String roomToken = token("c-pre", "room-p", Role.ROOM, "Erika Mustermann");
        try (WsClient doctor = new WsClient(server.port())) {
            doctor.send("type", "hello", "id", 1, "version", 1,
                    "token", token("c-pre", "dr-p", Role.DOCTOR, "Dr. Weber"));
            assertThat(doctor.await("welcome").path("admitted").asBoolean()).isTrue();
            assertThat(doctor.await("waitingRoom").path("waiting")).isEmpty();

            try (WsClient check = precheck(roomToken, 15)) {
                JsonNode welcome = check.await("welcome");
                assertThat(welcome.path("mode").asText()).isEqualTo("precheck");
                assertThat(welcome.path("admitted").asBoolean()).isFalse();
                assertThat(welcome.path("participants")).isEmpty();
                assertThat(welcome.path("seconds").asInt()).isEqualTo(15);
                assertThat(welcome.path("participantId").asText()).isEqualTo("room-p");
                check.send("type", "publishOffer", "id", 2, "sdp", SignalingProtocolTest.chromiumOffer());
                JsonNode answer = check.await("publishAnswer");
                assertThat(answer.path("id").asInt()).isEqualTo(2);
                assertThat(answer.path("sdp").asText()).contains("a=ice-lite", "a=recvonly");
                // one endpoint on the bridge, in a conference of its own, none in the consultation's
                List<EndpointQuality> mine = precheckEndpoints();
                assertThat(mine).extracting(EndpointQuality::endpointId).containsExactly("room-p");
                assertThat(bridge.endpoint("c-pre", "room-p")).isEmpty();
                // nothing of a participant: no call requests, no second hello
                check.send("type", "mute", "id", 3, "audio", true, "video", true);
                assertThat(check.await("error").path("code").asText()).isEqualTo("not-allowed");
                check.send("type", "hello", "id", 4, "version", 1, "token", roomToken);
                assertThat(check.await("error").path("code").asText()).isEqualTo("already-joined");
                check.send("type", "ping", "id", 5);
                check.await("pong");
                // the consultation knows only the doctor
                Consultation c = server.registry().consultations().stream()
                        .filter(x -> x.id().equals("c-pre")).findFirst().orElseThrow();
                assertThat(c.participants()).extracting(p -> p.id()).containsExactly("dr-p");
                check.send("type", "leave", "id", 6);
                check.await("ack");
                assertThat(check.closed.get(5, TimeUnit.SECONDS)).isEqualTo(1000);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> precheckEndpoints().isEmpty());
            // the doctor heard nothing of it
            doctor.send("type", "ping", "id", 2);
            doctor.await("pong");
            List<JsonNode> heard = new ArrayList<>();
            doctor.messages.drainTo(heard);
            assertThat(heard).allSatisfy(m -> assertThat(m.toString()).doesNotContain("room-p", "Mustermann"));

            // the one-time token still joins (and now waits, and the doctor sees it)
            try (WsClient room = new WsClient(server.port())) {
                room.send("type", "hello", "id", 1, "version", 1, "token", roomToken);
                assertThat(room.await("welcome").path("admitted").asBoolean()).isFalse();
                assertThat(doctor.await("waitingRoom").path("waiting").get(0).path("participantId").asText())
                        .isEqualTo("room-p");
            }
        }
        var audit = server.waitingRoom().audit();
        audit.flush();
        String room = audit.pseudonym("room-p");
        List<String> events = new ArrayList<>();
        try (var files = Files.list(auditDir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).toList()) {
                for (String line : Files.readString(f).split("\n")) {
                    JsonNode n = JSON.readTree(line);
                    if (n.path("consultation").asText().equals("c-pre") && n.path("participant").asText().equals(room)) {
                        events.add(n.path("event").asText());
                    }
                }
            }
        }
        // the real join's entries only (waiting, perhaps already left): the check before it wrote none
        assertThat(events).isNotEmpty().startsWith("waiting").doesNotContain("joined", "reconnected", "refused");
    }

    @Test
    void theServerEndsTheCheckAfterItsTimeLimit() throws Exception {
        try (WsClient check = precheck(token("c-pre-limit", "room-l", Role.ROOM, "Raum L"), 1)) {
            assertThat(check.await("welcome").path("seconds").asInt()).isEqualTo(1);
            JsonNode ended = check.await("precheckEnded");
            assertThat(ended.path("reason").asText()).isEqualTo("time-limit");
            assertThat(check.closed.get(5, TimeUnit.SECONDS)).isEqualTo(1000);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> precheckEndpoints().isEmpty());
        // at most 20 s, whatever the page asks for
        try (WsClient check = precheck(token("c-pre-limit", "room-m", Role.ROOM, "Raum M"), 3600)) {
            assertThat(check.await("welcome").path("seconds").asInt()).isEqualTo(20);
        }
    }
}
