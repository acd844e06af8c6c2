package org.consultbridge.turn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The typed model, the credential scheme and the generated turnserver.conf (coturn itself runs in signaling's tests). */
class TurnConfigTest {

    private static final String SECRET = "consultbridge-test-secret-0123456789abcdef";
    private static final String OLD_SECRET = "consultbridge-old-secret-0123456789abcdef";

    static Config section(String overrides) {
        return ConfigFactory.parseString("""
                host = "turn.example.org", realm = "", port = 3478, tls-port = 443, listening-ips = [], relay-ips = []
                external-ip = "", cert-file = "/etc/c.pem", key-file = "/etc/k.pem", min-port = 49152
                max-port = 65535, secrets = ["%s", "%s"], credential-ttl = 6h, user-quota = 12, total-quota = 1200
                max-bps = 500000, bps-capacity = 0, cipher-list = "ECDHE-RSA-AES128-GCM-SHA256"
                allowed-peer-addresses = [], bridge-only = true, probe { interval = 30s, timeout = 5s }
                """.formatted(SECRET, OLD_SECRET) + overrides).resolve();
    }

    @Test
    void credentialsFollowTheTurnRestScheme() {
        // expected value computed independently: printf %s 1700021600:room-7 | openssl dgst -sha1 -hmac SECRET -binary | base64
        TurnCredentials c = TurnCredentials.issue(SECRET, "room-7", Duration.ofHours(6),
                Instant.ofEpochSecond(1_700_000_000L));
        assertThat(c.username()).isEqualTo("1700021600:room-7");
        assertThat(c.password()).isEqualTo("qjPUTnGOhdbbT3GsQ/lBLtIfbtA=");
        assertThat(c.expiresAt()).isEqualTo(Instant.ofEpochSecond(1_700_021_600L));
        assertThat(TurnCredentials.password(OLD_SECRET, c.username())).isNotEqualTo(c.password());
        assertThatThrownBy(() -> TurnCredentials.issue(SECRET, "a:b", Duration.ofHours(1), Instant.now()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void settingsFromTheSectionWithBridgeAddressesAsDefaultPeers() {
        TurnSettings s = TurnSettings.from(section(""), List.of("192.0.2.10"));
        assertThat(s.enabled()).isTrue();
        assertThat(s.realm()).isEqualTo("turn.example.org");
        assertThat(s.signingSecret()).isEqualTo(SECRET);
        assertThat(s.allowedPeerAddresses()).containsExactly("192.0.2.10");
        assertThat(s.iceUrls()).containsExactly("turn:turn.example.org:3478?transport=udp",
                "turn:turn.example.org:3478?transport=tcp", "turns:turn.example.org:443?transport=tcp");
        // lists also come as one comma-separated string (environment variables)
        TurnSettings env = TurnSettings.from(section("allowed-peer-addresses = \"10.1.2.3, 2001:db8::7\"\n"
                + "listening-ips = \"10.1.2.4\""), List.of("192.0.2.10"));
        assertThat(env.allowedPeerAddresses()).containsExactly("10.1.2.3", "2001:db8::7");
        assertThat(env.listeningIps()).containsExactly("10.1.2.4");
        TurnSettings v6 = env.withHost("2001:db8::1", "", List.of(SECRET), List.of());
        assertThat(v6.iceUrls().getFirst()).isEqualTo("turn:[2001:db8::1]:3478?transport=udp");
        assertThat(TurnSettings.from(section("host = \"\""), List.of()).enabled()).isFalse();
    }

    @Test
    void misconfigurationIsRefusedAtStart() {
        assertThatThrownBy(() -> TurnSettings.from(section("secrets = []"), List.of()))
                .hasMessageContaining("secrets");
        assertThatThrownBy(() -> TurnSettings.from(section("secrets = [\"short\"]"), List.of()))
                .hasMessageContaining("32 bytes");
        assertThatThrownBy(() -> TurnSettings.from(section("min-port = 60000, max-port = 50000"), List.of()))
                .hasMessageContaining("min-port");
        assertThatThrownBy(() -> CoturnConfig.render(TurnSettings.from(section("host = \"\""), List.of())))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void generatedFileHasEveryRequiredSetting() {
        String conf = CoturnConfig.render(TurnSettings.from(section("tls-port = 5349"), List.of("192.0.2.10")));
        List<String> lines = Arrays.stream(conf.split("\n")).filter(l -> !l.startsWith("#") && !l.isBlank()).toList();
        assertThat(lines).contains("listening-port=3478", "tls-listening-port=5349", "cert=/etc/c.pem",
                "pkey=/etc/k.pem", "realm=turn.example.org", "min-port=49152", "max-port=65535", "use-auth-secret",
                "fingerprint", "no-cli", "no-multicast-peers", "user-quota=12", "total-quota=1200", "max-bps=500000",
                "bps-capacity=0", "no-tlsv1", "no-tlsv1_1", "cipher-list=\"ECDHE-RSA-AES128-GCM-SHA256\"",
                "denied-peer-ip=10.0.0.0-10.255.255.255", "denied-peer-ip=172.16.0.0-172.31.255.255",
                "denied-peer-ip=192.168.0.0-192.168.255.255", "denied-peer-ip=127.0.0.0-127.255.255.255",
                "denied-peer-ip=169.254.0.0-169.254.255.255", "denied-peer-ip=100.64.0.0-100.127.255.255",
                "denied-peer-ip=224.0.0.0-239.255.255.255", "denied-peer-ip=::1",
                "denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                "denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                "denied-peer-ip=ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                "denied-peer-ip=0.0.0.0-255.255.255.255", "allowed-peer-ip=192.0.2.10");
        // both secrets, the signing one first (rotation)
        assertThat(lines.stream().filter(l -> l.startsWith("static-auth-secret=")).toList())
                .containsExactly("static-auth-secret=" + SECRET, "static-auth-secret=" + OLD_SECRET);
        // never the options that weaken it, nor the line coturn 4.6 rejects
        assertThat(lines).noneMatch(l -> l.startsWith("allow-loopback-peers") || l.startsWith("no-loopback-peers")
                || l.startsWith("lt-cred-mech") || l.startsWith("no-tlsv1_2") || l.startsWith("cli-password"));
        // without bridge-only: private ranges denied, public peers allowed
        String open = CoturnConfig.render(TurnSettings.from(section("bridge-only = false"), List.of("192.0.2.10")));
        assertThat(open).doesNotContain("denied-peer-ip=0.0.0.0-255.255.255.255").contains("denied-peer-ip=::1\n");
    }
}
