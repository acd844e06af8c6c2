package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.time.Duration;
import org.consultbridge.signaling.token.JoinClaims;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The {@code token} command mints a token that the server with the same configured secret accepts. */
class TokenCommandTest {

    static final String SECRET = "command-secret-command-secret-command-1";

    @AfterEach
    void reset() {
        System.clearProperty("consultbridge.tokens.secret");
        ConfigFactory.invalidateCaches();
    }

    @Test
    void mintsAVerifiableToken() throws Exception {
        System.setProperty("consultbridge.tokens.secret", SECRET);
        ConfigFactory.invalidateCaches();
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc;
        try {
            System.setOut(new PrintStream(out, true));
            rc = Main.token(new String[] {"token", "--consultation", "c-9", "--role", "room", "--name", "Raum Nord",
                "--ttl", "30m", "--participant", "room-nord"});
        } finally {
            System.setOut(saved);
        }
        assertThat(rc).isZero();
        JoinClaims c = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60))
                .verify(out.toString().trim());
        assertThat(c.consultationId()).isEqualTo("c-9");
        assertThat(c.role()).isEqualTo(Role.ROOM);
        assertThat(c.participantId()).isEqualTo("room-nord");
        assertThat(c.displayName()).isEqualTo("Raum Nord");
    }

    @Test
    void refusesWithoutAConfiguredSecret() {
        ConfigFactory.invalidateCaches();
        assertThat(Main.token(new String[] {"token", "--consultation", "c", "--role", "doctor"})).isEqualTo(2);
    }
}
