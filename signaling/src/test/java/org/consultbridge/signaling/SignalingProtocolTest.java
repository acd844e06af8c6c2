package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.PlainHeader;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
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

/** The signalling protocol of docs/protocol.md, over real WebSockets, against the real server and bridge. */
class SignalingProtocolTest {

    static final String SECRET = "test-secret-test-secret-test-secret-0123";
    static MediaBridge bridge;
    static SignalingServer server;
    static TokenService tokens;

    @BeforeAll
    static void start() throws Exception {
        bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        ServerConfig config = ServerConfig.load().withHttpPort(0);
        tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        server = SignalingServer.start(config, tokens, bridge);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        bridge.close();
    }

    static String chromiumOffer() throws Exception {
        try (var in = SignalingProtocolTest.class.getResourceAsStream("/sdp/chromium-156-publish-offer.sdp")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    WsClient join(String consultation, String participant, Role role) throws Exception {
        WsClient c = new WsClient(server.port());
        c.send("type", "hello", "id", 1, "version", 1, "token",
                tokens.mint(consultation, participant, role, participant + " name", Duration.ofHours(1)));
        JsonNode welcome = c.await("welcome");
        assertThat(welcome.path("id").asInt()).isEqualTo(1);
        assertThat(welcome.path("participantId").asText()).isEqualTo(participant);
        assertThat(welcome.path("role").asText()).isEqualTo(role.wire());
        return c;
    }

    @Test
    void helloWithAValidTokenIsWelcomed() throws Exception {
        try (WsClient c = join("c-welcome", "doc-1", Role.DOCTOR)) {
            c.send("type", "ping", "id", 7);
            assertThat(c.await("pong").path("id").asInt()).isEqualTo(7);
        }
    }

    @Test
    void badTokensAreRefusedWithTheirOwnCodes() throws Exception {
        TokenService otherSecret = new TokenService("another-secret-another-secret-another", "consultbridge",
                Duration.ofHours(12), Duration.ofSeconds(60));
        TokenService past = new TokenService(SECRET.getBytes(StandardCharsets.UTF_8), "consultbridge",
                Duration.ofHours(12), Duration.ofSeconds(60),
                Clock.fixed(Instant.now().minus(Duration.ofHours(3)), ZoneOffset.UTC));
        String none = new PlainJWT(new PlainHeader(), new JWTClaimsSet.Builder().subject("x").claim("cid", "c")
                .claim("role", "doctor").expirationTime(Date.from(Instant.now().plusSeconds(600))).build()).serialize();
        assertRefused(otherSecret.mint("c", Role.DOCTOR, "x", Duration.ofHours(1)), "token-signature");
        assertRefused(past.mint("c", Role.DOCTOR, "x", Duration.ofHours(1)), "token-expired");
        assertRefused(none, "token-algorithm");
        assertRefused("garbage", "token-invalid");
    }

    private void assertRefused(String token, String code) throws Exception {
        try (WsClient c = new WsClient(server.port())) {
            c.send("type", "hello", "id", 1, "version", 1, "token", token);
            JsonNode err = c.await("error");
            assertThat(err.path("code").asText()).isEqualTo(code);
            assertThat(err.path("id").asInt()).isEqualTo(1);
            assertThat(c.closed.get(5, TimeUnit.SECONDS)).isEqualTo(4401);
        }
    }

    @Test
    void malformedMessagesGetErrorsAndTheSocketStaysOpen() throws Exception {
        try (WsClient c = new WsClient(server.port())) {
            c.send("{not json");
            assertThat(c.await("error").path("code").asText()).isEqualTo("bad-json");
            c.send("type", "publishOffer", "id", 2, "sdp", "v=0");
            assertThat(c.await("error").path("code").asText()).isEqualTo("not-joined");
            c.send("[1,2]");
            assertThat(c.await("error").path("code").asText()).isEqualTo("bad-message");
        }
        try (WsClient c = join("c-bad", "doc-2", Role.DOCTOR)) {
            c.send("type", "teleport", "id", 3);
            JsonNode e = c.await("error");
            assertThat(e.path("code").asText()).isEqualTo("bad-message");
            assertThat(e.path("id").asInt()).isEqualTo(3);
            c.send("type", "publishOffer", "id", 4, "sdp", "v=0\r\nm=video notaport RTP/SAVPF 96\r\n");
            JsonNode sdp = c.await("error");
            assertThat(sdp.path("code").asText()).isEqualTo("sdp-invalid");
            assertThat(sdp.path("message").asText()).contains("port");
            c.send("type", "publishOffer", "id", 5);
            assertThat(c.await("error").path("code").asText()).isEqualTo("bad-message");
            c.send("type", "hello", "id", 6, "version", 1, "token", "x");
            assertThat(c.await("error").path("code").asText()).isEqualTo("already-joined");
            c.send("type", "ping", "id", 8);
            c.await("pong");
        }
    }

    /** The doctor lets a room or guest in from the waiting room (on by default). */
    static void admit(WsClient doctor, String participant) throws Exception {
        doctor.send("type", "admit", "id", 99, "participantId", participant);
        assertThat(doctor.await("ack").path("id").asInt()).isEqualTo(99);
    }

    @Test
    void anOversizedMessageClosesOnlyThatSocket() throws Exception {
        try (WsClient big = join("c-big", "room-1", Role.ROOM); WsClient other = join("c-big", "doc-3", Role.DOCTOR)) {
            admit(other, "room-1");
            big.sendAndForget("{\"type\":\"ping\",\"pad\":\"" + "x".repeat(100_000) + "\"}");
            assertThat(big.closed.get(5, TimeUnit.SECONDS)).isEqualTo(1009);
            assertThat(other.await("participantLeft").path("participantId").asText()).isEqualTo("room-1");
            other.send("type", "ping", "id", 9);
            other.await("pong");
        }
    }

    @Test
    void publishJoinAndLeaveReachTheBridgeAndTheOthers() throws Exception {
        try (WsClient doctor = join("c-call", "doc-4", Role.DOCTOR)) {
            WsClient room = join("c-call", "room-4", Role.ROOM);
            admit(doctor, "room-4");
            room.await("admitted");
            JsonNode joined = doctor.await("participantJoined");
            assertThat(joined.path("participant").path("participantId").asText()).isEqualTo("room-4");
            assertThat(joined.path("participant").path("role").asText()).isEqualTo("room");

            room.send("type", "publishOffer", "id", 10, "sdp", chromiumOffer());
            JsonNode answer = room.await("publishAnswer");
            assertThat(answer.path("id").asInt()).isEqualTo(10);
            assertThat(answer.path("sdp").asText()).contains("a=ice-lite").contains("a=setup:passive");
            // the doctor is now offered the room's audio and video, with the room's id as stream id
            JsonNode offer = doctor.await("subscribeOffer");
            assertThat(offer.path("sdp").asText()).contains("a=msid:room-4 ").contains("m=audio").contains("m=video");

            room.send("type", "mute", "id", 11, "audio", true, "video", false);
            room.await("ack");
            JsonNode muted = doctor.await("muteChanged");
            assertThat(muted.path("audio").asBoolean()).isTrue();

            assertThat(bridge.endpoint("c-call", "room-4")).isPresent();
            room.send("type", "leave", "id", 12);
            room.await("ack");
            assertThat(doctor.await("participantLeft").path("participantId").asText()).isEqualTo("room-4");
            await().atMost(Duration.ofSeconds(5)).until(() -> bridge.endpoint("c-call", "room-4").isEmpty());
            room.close();
        }
    }

    @Test
    void consultationsHaveAMaximumOfParticipants() throws Exception {
        List<WsClient> in = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                in.add(join("c-full", "p" + i, Role.GUEST));
            }
            try (WsClient fifth = new WsClient(server.port())) {
                fifth.send("type", "hello", "id", 1, "version", 1, "token",
                        tokens.mint("c-full", "p5", Role.GUEST, "x", Duration.ofHours(1)));
                assertThat(fifth.await("error").path("code").asText()).isEqualTo("consultation-full");
            }
        } finally {
            in.forEach(WsClient::close);
        }
    }

    @Test
    void pagesAndHealthAreServed() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        for (String path : List.of("/", "/room.html", "/doctor.html", "/guest.html", "/js/consultbridge-client.js",
                "/js/call-page.js", "/js/waiting-room-ui.js", "/staff.html", "/css/app.css", "/healthz")) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + server.port() + path)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(path).isEqualTo(200);
        }
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.port() + "/%2e%2e/pom.xml")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isIn(400, 404); // Jetty refuses the ambiguous path itself (400)
    }
}
