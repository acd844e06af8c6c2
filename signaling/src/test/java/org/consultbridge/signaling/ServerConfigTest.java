package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import org.consultbridge.signaling.clinical.ClinicalProfile;
import org.junit.jupiter.api.Test;

/** Sections of {@code reference.conf}: the ICE-TCP port; end-to-end encryption and clinical profiles. */
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

    @Test
    void endToEndEncryptionIsOnByDefaultAndCannotBeTurnedOffInAPageUnlessAllowed() {
        ServerConfig defaults = ServerConfig.from(ConfigFactory.load());
        assertThat(defaults.clinical().e2eeEnabled()).isTrue();
        assertThat(defaults.clinical().e2eeAllowDisable()).isFalse();
        assertThat(defaults.clinical().defaultProfile()).isEqualTo(ClinicalProfile.BALANCED);

        ServerConfig other = ServerConfig.from(ConfigFactory.parseString("consultbridge.e2ee.allow-disable = true\n"
                + "consultbridge.profiles.default = detail").withFallback(ConfigFactory.load()));
        assertThat(other.clinical().e2eeAllowDisable()).isTrue();
        assertThat(other.clinical().defaultProfile()).isEqualTo(ClinicalProfile.DETAIL);
        assertThatThrownBy(() -> ServerConfig.from(ConfigFactory.parseString("consultbridge.profiles.default = sharp")
                .withFallback(ConfigFactory.load()))).hasMessageContaining("profiles.default");
    }
}
