package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.limits.LimitSettings;
import org.consultbridge.signaling.limits.SignalingGuard;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.consultbridge.signaling.ws.ErrorCode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #7, hostile input on the signalling port, over real WebSockets against the real server: the origin check,
 * the join rate per address, the message rate per socket, sockets per address, the hello deadline, and the bounded
 * memory of the per-address state under a flood of (forwarded) addresses. Small limits so that each shows fast;
 * loopback is a trusted proxy here, so X-Forwarded-For gives each test its own client address.
 */
class HostileInputTest {

    static final String SECRET = "hostile-secret-hostile-secret-hostile-0123";
    static MediaBridge bridge;
    static SignalingServer server;
    static TokenService tokens;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        ServerConfig base = ServerConfig.load().withHttp("127.0.0.1", 0);
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        LimitSettings limits = new LimitSettings(3, 3, 20, 20, 30, 4, 1000, Duration.ofSeconds(2), 50,
                Set.of(loopback), Set.of(loopback), List.of("https://clinic.example"));
        tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        server = SignalingServer.start(base.withHostile(base.hostile().withLimits(limits)), tokens, bridge);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        bridge.close();
    }

    static WsClient connect(Map<String, String> headers) throws Exception {
        return new WsClient(HTTP, URI.create("ws://127.0.0.1:" + server.port() + "/ws"), headers);
    }

    static int refusedStatus(Map<String, String> headers) {
        try (WsClient c = connect(headers)) {
            throw new AssertionError("upgrade was not refused");
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(WebSocketHandshakeException.class);
            return ((WebSocketHandshakeException) e.getCause()).getResponse().statusCode();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    String token(String consultation, String participant) {
        return tokens.mint(consultation, participant, Role.GUEST, participant, Duration.ofHours(1));
    }

    double rejected(String reason) {
        return server.guard().rejectedCount(reason);
    }

    @Test
    void foreignOriginsAreRefusedOwnAndConfiguredOnesAndNoneAreAllowed() throws Exception {
        String own = "http://127.0.0.1:" + server.port();
        double before = rejected(SignalingGuard.REASON_ORIGIN);
        assertThat(refusedStatus(Map.of("Origin", "https://evil.example"))).isEqualTo(403);
        assertThat(refusedStatus(Map.of("Origin", "http://127.0.0.1:" + (server.port() + 1)))).isEqualTo(403);
        assertThat(refusedStatus(Map.of("Origin", "null"))).isEqualTo(403);
        assertThat(rejected(SignalingGuard.REASON_ORIGIN)).isEqualTo(before + 3);
        for (Map<String, String> ok : List.of(Map.of("Origin", own), Map.of("Origin", "https://clinic.example"),
                Map.<String, String>of())) {
            try (WsClient c = connect(ok)) {
                c.send("type", "ping", "id", 1);
                assertThat(c.await("pong").path("id").asInt()).isEqualTo(1);
            }
        }
    }

    @Test
    void joinsPerAddressAreLimitedGoodAndBadTokensAlike() throws Exception {
        Map<String, String> from = Map.of("X-Forwarded-For", "198.51.100.7");
        double before = rejected(SignalingGuard.REASON_JOIN_RATE);
        for (int i = 0; i < 3; i++) { // the burst: two bad tokens and a good one
            try (WsClient c = connect(from)) {
                c.send("type", "hello", "id", i, "version", 1, "token", i == 2 ? token("c-join", "g-1") : "bad");
                c.await(i == 2 ? "welcome" : "error");
            }
        }
        try (WsClient c = connect(from)) {
            c.send("type", "hello", "id", 9, "version", 1, "token", token("c-join", "g-2"));
            JsonNode e = c.await("error");
            assertThat(e.path("code").asText()).isEqualTo(ErrorCode.RATE_LIMITED);
            assertThat(e.path("id").asInt()).isEqualTo(9);
            assertThat(c.closed.get(5, TimeUnit.SECONDS)).isEqualTo(ErrorCode.CLOSE_RATE_LIMITED);
        }
        assertThat(rejected(SignalingGuard.REASON_JOIN_RATE)).isEqualTo(before + 1);
        // another address, and the exempt loopback, are not affected
        try (WsClient c = connect(Map.of("X-Forwarded-For", "198.51.100.8"))) {
            c.send("type", "hello", "id", 1, "version", 1, "token", token("c-join", "g-3"));
            c.await("welcome");
        }
        try (WsClient c = connect(Map.of())) {
            c.send("type", "hello", "id", 1, "version", 1, "token", token("c-join", "g-4"));
            c.await("welcome");
        }
    }

    @Test
    void aMessageFloodIsRefusedThenTheSocketIsClosed() throws Exception {
        try (WsClient c = connect(Map.of("X-Forwarded-For", "198.51.100.20"))) {
            c.send("type", "hello", "id", 0, "version", 1, "token", token("c-flood", "g-flood"));
            c.await("welcome");
            double floodBefore = rejected(SignalingGuard.REASON_MESSAGE_FLOOD);
            for (int i = 0; i < 200; i++) {
                c.sendAndForget("{\"type\":\"ping\",\"id\":" + i + "}");
            }
            assertThat(c.closed.get(10, TimeUnit.SECONDS)).isEqualTo(ErrorCode.CLOSE_RATE_LIMITED);
            long pongs = c.messages.stream().filter(m -> m.path("type").asText().equals("pong")).count();
            long limited = c.messages.stream().filter(m -> m.path("code").asText().equals(ErrorCode.RATE_LIMITED))
                    .count();
            // the burst of 20 (one went to hello) answered, then refusals (at most 30 before the close)
            assertThat(pongs).isBetween(19L, 25L);
            assertThat(limited).isBetween(20L, 31L);
            assertThat(rejected(SignalingGuard.REASON_MESSAGE_FLOOD)).isGreaterThan(floodBefore);
        }
        // a client that stays under the rate is never refused
        try (WsClient c = connect(Map.of("X-Forwarded-For", "198.51.100.21"))) {
            c.send("type", "hello", "id", 0, "version", 1, "token", token("c-flood", "g-calm"));
            c.await("welcome");
            for (int i = 0; i < 30; i++) {
                c.send("type", "ping", "id", i);
                assertThat(c.await("pong").path("id").asInt()).isEqualTo(i);
                Thread.sleep(60);
            }
        }
    }

    @Test
    void socketsPerAddressAreCappedAndFreedOnClose() throws Exception {
        Map<String, String> from = Map.of("X-Forwarded-For", "198.51.100.30");
        List<WsClient> open = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                open.add(connect(from));
            }
            assertThat(refusedStatus(from)).isEqualTo(429);
            open.remove(0).close();
            await().atMost(Duration.ofSeconds(5)).until(() -> {
                try (WsClient again = connect(from)) {
                    return true;
                } catch (ExecutionException e) {
                    return false;
                }
            });
        } finally {
            open.forEach(WsClient::close);
        }
    }

    @Test
    void aSocketWithoutHelloIsClosedAfterTheDeadline() throws Exception {
        double before = rejected(SignalingGuard.REASON_HELLO_TIMEOUT);
        try (WsClient c = connect(Map.of("X-Forwarded-For", "198.51.100.40"))) {
            c.send("type", "ping", "id", 1); // pings do not keep a socket that never joins
            c.await("pong");
            assertThat(c.await("error").path("code").asText()).isEqualTo(ErrorCode.HELLO_TIMEOUT);
            assertThat(c.closed.get(10, TimeUnit.SECONDS)).isEqualTo(ErrorCode.CLOSE_HELLO_TIMEOUT);
        }
        assertThat(rejected(SignalingGuard.REASON_HELLO_TIMEOUT)).isEqualTo(before + 1);
        // a socket that joined keeps going past the deadline
        try (WsClient c = connect(Map.of("X-Forwarded-For", "198.51.100.41"))) {
            c.send("type", "hello", "id", 1, "version", 1, "token", token("c-deadline", "g-d"));
            c.await("welcome");
            Thread.sleep(2500);
            c.send("type", "ping", "id", 2);
            assertThat(c.await("pong").path("id").asInt()).isEqualTo(2);
        }
    }

    @Test
    void perAddressStateStaysBoundedUnderAFloodOfAddresses() throws Exception {
        for (int i = 0; i < 300; i++) {
            try (WsClient c = connect(Map.of("X-Forwarded-For", "203.0." + (i / 250) + "." + (i % 250)))) {
                c.send("type", "hello", "id", 1, "version", 1, "token", "bad");
                c.await("error");
            }
        }
        assertThat(server.guard().trackedAddresses()).isLessThanOrEqualTo(50);
        // closed sockets leave no deadline behind
        await().atMost(Duration.ofSeconds(5)).until(() -> server.guard().pendingTimers() < 5);
    }

    @Test
    void forwardedForIsIgnoredFromPeersThatAreNotTrustedProxies() {
        InetAddress peer = org.consultbridge.signaling.limits.ClientAddress.parseLiteral("192.0.2.1");
        InetAddress proxy = org.consultbridge.signaling.limits.ClientAddress.parseLiteral("127.0.0.1");
        assertThat(org.consultbridge.signaling.limits.ClientAddress.resolve(peer, "198.51.100.1", Set.of(proxy)))
                .isEqualTo(peer);
        // through the proxy: the rightmost untrusted hop; a client-written hop further left proves nothing
        assertThat(org.consultbridge.signaling.limits.ClientAddress.resolve(proxy, "6.6.6.6, 198.51.100.1",
                Set.of(proxy)).getHostAddress()).isEqualTo("198.51.100.1");
        // garbage is never resolved (no DNS), the proxy's own address stays
        assertThat(org.consultbridge.signaling.limits.ClientAddress.resolve(proxy, "evil.example", Set.of(proxy)))
                .isEqualTo(proxy);
        assertThat(org.consultbridge.signaling.limits.ClientAddress.parseLiteral("abc")).isNull();
    }
}
