package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

/** The bridge section of {@code reference.conf}: the ICE-TCP port. */
class ServerConfigTest {

    @Test
    void iceTcpIsOnByDefaultOnPort4443AndZeroTurnsItOff() {
        ServerConfig defaults = ServerConfig.from(ConfigFactory.load());
        assertThat(defaults.bridge().tcpPort()).isEqualTo(4443);
        assertThat(defaults.bridge().tcpEnabled()).isTrue();

        ServerConfig off = ServerConfig.from(ConfigFactory.parseString("consultbridge.bridge.tcp-port = 0")
                .withFallback(ConfigFactory.load()));
        assertThat(off.bridge().tcpEnabled()).isFalse();
        ServerConfig other = ServerConfig.from(ConfigFactory.parseString("consultbridge.bridge.tcp-port = 443")
                .withFallback(ConfigFactory.load()));
        assertThat(other.bridge().tcpPort()).isEqualTo(443);
    }
}
