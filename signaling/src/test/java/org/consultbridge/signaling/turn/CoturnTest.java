package org.consultbridge.signaling.turn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.stun.StunClass;
import org.consultbridge.bridge.stun.StunMessage;
import org.consultbridge.e2e.Coturn;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.WsClient;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.consultbridge.turn.TurnCredentials;
import org.consultbridge.turn.TurnSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The generated turnserver.conf in a real coturn on loopback, and this project's TURN client, credentials and probe
 * against it. coturn listens on 127.0.0.1 (with ports and the certificate's path, the only adjustments); the
 * "bridge" is 10.0.0.5, a private address that only allowed-peer-ip lets through.
 */
class CoturnTest {

    static final String NEW_SECRET = "coturn-test-new-secret-0123456789abcdefghij";
    static final String OLD_SECRET = "coturn-test-old-secret-0123456789abcdefghij";
    static final String BRIDGE = "10.0.0.5";

    static Path dir;
    static Coturn coturn;
    static TurnSettings settings;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(Coturn.binary().isPresent(),
                "coturn is not installed (apt-get install -y coturn; ./consultbridge test installs it)");
        // under target/: the generated turnserver.conf and coturn's log stay for a failing run
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "coturn-");
        TurnSettings configured = ServerConfig.load().turn()
                .withHost("127.0.0.1", "consultbridge.test", List.of(NEW_SECRET, OLD_SECRET), List.of(BRIDGE));
        settings = Coturn.forTest(configured, "127.0.0.1", dir);
        coturn = Coturn.start(settings, dir);
    }

    @AfterAll
    static void stop() {
        if (coturn != null) {
            coturn.close();
        }
    }

    TurnClient client(String username, String password) throws Exception {
        return new TurnClient(coturn.udpAddress(), username, password, Duration.ofSeconds(3));
    }

    TurnClient client(TurnCredentials c) throws Exception {
        return client(c.username(), c.password());
    }

    static TurnCredentials fresh(String secret, String participant) {
        return TurnCredentials.issue(secret, participant, Duration.ofHours(6), Instant.now());
    }

    @Test
    void generatedConfigurationIsAcceptedAsWrittenAndAnswersBinding() throws Exception {
        String log = coturn.log();
        assertThat(log).doesNotContainIgnoringCase("bad configuration").doesNotContain("CONFIG ERROR")
                .doesNotContain("ERROR:")
                .contains("TLS cipher suite: " + settings.cipherList())
                .contains("White listing: " + BRIDGE)
                .contains("Black listing: 10.0.0.0-10.255.255.255");
        try (TurnClient c = client("-", "-")) {
            StunMessage r = c.binding();
            assertThat(r.messageClass()).isEqualTo(StunClass.SUCCESS_RESPONSE);
            assertThat(r.xorMappedAddress().getAddress()).isEqualTo(InetAddress.getByName("127.0.0.1"));
        }
        assertThat(coturn.isAlive()).isTrue();
    }

    @Test
    void tlsPortSpeaksTls12WithEcdheGcmOnly() throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new TrustAll()}, null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", settings.tlsPort())) {
            s.setEnabledProtocols(new String[] {"TLSv1.2"});
            s.startHandshake();
            assertThat(s.getSession().getProtocol()).isEqualTo("TLSv1.2");
            assertThat(s.getSession().getCipherSuite()).startsWith("TLS_ECDHE_").contains("_GCM_");
        }
        // a CBC suite (not in the list) is refused
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", settings.tlsPort())) {
            s.setEnabledProtocols(new String[] {"TLSv1.2"});
            s.setEnabledCipherSuites(new String[] {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"});
            assertThatThrownBy(s::startHandshake).isInstanceOf(java.io.IOException.class);
        }
    }

    @Test
    void allocateWithFreshCredentialsGetsARelayedAddress() throws Exception {
        for (String secret : List.of(NEW_SECRET, OLD_SECRET)) { // both accepted: rotation
            try (TurnClient c = client(fresh(secret, "room-7"))) {
                StunMessage r = c.allocate();
                assertThat(r.messageClass()).as(TurnClient.describe(r)).isEqualTo(StunClass.SUCCESS_RESPONSE);
                InetSocketAddress relayed = r.xorRelayedAddress();
                assertThat(relayed.getAddress()).isEqualTo(InetAddress.getByName("127.0.0.1"));
                assertThat(relayed.getPort()).isBetween(settings.minPort(), settings.maxPort());
                assertThat(r.lifetime()).isPositive();
                assertThat(c.realm()).isEqualTo("consultbridge.test");
                assertThat(c.refresh(0).messageClass()).isEqualTo(StunClass.SUCCESS_RESPONSE);
            }
        }
    }

    @Test
    void expiredCredentialsAreRefusedWith401() throws Exception {
        TurnCredentials expired = TurnCredentials.issue(NEW_SECRET, "room-7", Duration.ofHours(1),
                Instant.now().minus(Duration.ofHours(2)));
        try (TurnClient c = client(expired)) {
            StunMessage r = c.allocate();
            assertThat(r.messageClass()).isEqualTo(StunClass.ERROR_RESPONSE);
            assertThat(r.errorCode()).isEqualTo(401);
        }
    }

    @Test
    void aWrongPasswordIsRefusedWith401() throws Exception {
        TurnCredentials c = fresh(NEW_SECRET, "room-7");
        String wrongPassword = TurnCredentials.password("not-the-secret-of-this-server-0123456789", c.username());
        try (TurnClient wrong = client(c.username(), wrongPassword)) {
            StunMessage r = wrong.allocate();
            assertThat(r.messageClass()).isEqualTo(StunClass.ERROR_RESPONSE);
            assertThat(r.errorCode()).isEqualTo(401);
        }
    }

    @Test
    void createPermissionOnlyForTheBridge() throws Exception {
        try (TurnClient c = client(fresh(NEW_SECRET, "dr-1"))) {
            assertThat(c.allocate().messageClass()).isEqualTo(StunClass.SUCCESS_RESPONSE);
            for (String denied : List.of("10.0.0.1", "127.0.0.1", "127.0.0.2", "192.168.1.1", "169.254.169.254",
                    "100.64.0.1", "198.51.100.7")) {
                StunMessage r = c.createPermission(InetAddress.getByName(denied));
                assertThat(r.messageClass()).as(denied).isEqualTo(StunClass.ERROR_RESPONSE);
                assertThat(r.errorCode()).as(denied).isEqualTo(403);
            }
            StunMessage ok = c.createPermission(InetAddress.getByName(BRIDGE));
            assertThat(ok.messageClass()).as(TurnClient.describe(ok)).isEqualTo(StunClass.SUCCESS_RESPONSE);
            c.refresh(0);
        }
    }

    @Test
    void probeReportsTheServerHealthyAndAWrongSecretOrPeerPolicyAsAFailure() {
        TurnProbe.Health ok = TurnProbe.probeOnce(settings);
        assertThat(ok.ok()).as(String.valueOf(ok.error())).isTrue();
        assertThat(ok.latencyMs()).isNotNull().isLessThan(3000);
        TurnProbe.Health wrong = TurnProbe.probeOnce(settings.withHost(settings.host(), settings.realm(),
                List.of("a-secret-this-coturn-does-not-know-0123456789"), settings.allowedPeerAddresses()));
        assertThat(wrong.ok()).isFalse();
        assertThat(wrong.error()).contains("401");
        TurnProbe.Health peerRefused = TurnProbe.probeOnce(settings.withHost(settings.host(), settings.realm(),
                settings.secrets(), List.of("10.0.0.9")));
        assertThat(peerRefused.ok()).isFalse();
        assertThat(peerRefused.error()).contains("403");
    }

    @Test
    void theWelcomeCarriesCredentialsThisCoturnAcceptsAndHealthzShowsTheProbe() throws Exception {
        String tokenSecret = "coturn-test-token-secret-0123456789abcdef";
        MediaBridge bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        TokenService tokens = new TokenService(tokenSecret, "consultbridge", Duration.ofHours(12),
                Duration.ofSeconds(60));
        try (SignalingServer server = SignalingServer.start(ServerConfig.load().withHttp("127.0.0.1", 0)
                .withTurn(settings), tokens, bridge);
             WsClient ws = new WsClient(server.port())) {
            ws.send("type", "hello", "id", 1, "version", 1, "token",
                    tokens.mint("c-turn", "room-9", Role.ROOM, "Raum", Duration.ofHours(1)));
            JsonNode ice = ws.await("welcome").path("iceServers");
            assertThat(ice.size()).isEqualTo(1);
            JsonNode s = ice.get(0);
            assertThat(s.path("urls").toString()).contains("turn:127.0.0.1:" + settings.port() + "?transport=udp",
                    "turn:127.0.0.1:" + settings.port() + "?transport=tcp",
                    "turns:127.0.0.1:" + settings.tlsPort() + "?transport=tcp");
            String username = s.path("username").asText();
            assertThat(username).matches("\\d+:room-9");
            long expiry = Long.parseLong(username.substring(0, username.indexOf(':')));
            assertThat(expiry - Instant.now().getEpochSecond()).isBetween(6 * 3600L - 60, 6 * 3600L);
            try (TurnClient c = client(username, s.path("credential").asText())) {
                assertThat(c.allocate().messageClass()).isEqualTo(StunClass.SUCCESS_RESPONSE);
                c.refresh(0);
            }

            HttpClient http = HttpClient.newHttpClient();
            ObjectMapper json = new ObjectMapper();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + server.port() + "/healthz")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).isEqualTo(200);
                JsonNode body = json.readTree(r.body());
                assertThat(body.path("status").asText()).isEqualTo("ok");
                assertThat(body.path("turn").path("ok").asBoolean()).as(r.body()).isTrue();
                assertThat(body.path("turn").path("latencyMs").isNumber()).isTrue();
                assertThat(body.path("turn").path("error").isNull()).isTrue();
            });
        } finally {
            bridge.close();
        }
    }

    static final class TrustAll implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
