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
    void mintsEveryRoleAndNotBefore() throws Exception {
        System.setProperty("consultbridge.tokens.secret", SECRET);
        ConfigFactory.invalidateCaches();
        TokenService verifier = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        for (Role role : Role.values()) {
            String token = run("token", "--consultation", "c-9", "--role", role.wire(), "--name", "N");
            assertThat(verifier.verify(token).role()).isEqualTo(role);
        }
        String later = run("token", "--consultation", "c-9", "--role", "guest", "--name", "N", "--not-before", "1h");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> verifier.verify(later))
                .extracting(e -> ((org.consultbridge.signaling.token.TokenException) e).code())
                .isEqualTo("token-not-yet-valid");
    }

    @Test
    void mintsAClinicalProfileAndRefusesAnUnknownOne() throws Exception {
        System.setProperty("consultbridge.tokens.secret", SECRET);
        ConfigFactory.invalidateCaches();
        TokenService verifier = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        for (String profile : new String[] {"balanced", "motion", "detail"}) {
            String token = run("token", "--consultation", "c-9", "--role", "doctor", "--name", "Dr. N", "--profile",
                    profile);
            assertThat(verifier.verify(token).profile()).isEqualTo(profile);
        }
        assertThat(verifier.verify(run("token", "--consultation", "c-9", "--role", "doctor")).profile()).isNull();
        assertThat(Main.token(new String[] {"token", "--consultation", "c-9", "--role", "doctor", "--profile",
            "sharp"})).isEqualTo(2);
    }

    private static String run(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true));
            assertThat(Main.token(args)).isZero();
        } finally {
            System.setOut(saved);
        }
        return out.toString().trim();
    }

    @Test
    void refusesWithoutAConfiguredSecret() {
        ConfigFactory.invalidateCaches();
        assertThat(Main.token(new String[] {"token", "--consultation", "c", "--role", "doctor"})).isEqualTo(2);
    }
}
