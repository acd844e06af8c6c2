package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.consultbridge.signaling.token.JoinClaims;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenException;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.Test;

class TokenServiceTest {

    private final TokenService tokens = new TokenService("0123456789abcdef0123456789abcdef", "consultbridge",
            Duration.ofHours(12), Duration.ofSeconds(60));

    @Test
    void mintedTokenVerifies() throws Exception {
        JoinClaims c = tokens.verify(tokens.mint("c-1", "room-7", Role.ROOM, "Praxis Dorf", Duration.ofMinutes(5)));
        assertThat(c.consultationId()).isEqualTo("c-1");
        assertThat(c.participantId()).isEqualTo("room-7");
        assertThat(c.role()).isEqualTo(Role.ROOM);
        assertThat(c.displayName()).isEqualTo("Praxis Dorf");
    }

    @Test
    void tamperedTokenIsInvalid() {
        String t = tokens.mint("c-1", Role.DOCTOR, "Dr. A", Duration.ofMinutes(5));
        String tampered = t.substring(0, t.length() - 3) + (t.endsWith("AAA") ? "BBB" : "AAA");
        assertThatThrownBy(() -> tokens.verify(tampered)).isInstanceOf(TokenException.class)
                .extracting(e -> ((TokenException) e).code()).isEqualTo("token-invalid");
    }

    @Test
    void overlongLifetimeAndBadIdsAreClaimErrors() {
        String longLived = tokens.mint("c-1", Role.DOCTOR, "Dr. A", Duration.ofDays(30));
        assertThatThrownBy(() -> tokens.verify(longLived))
                .extracting(e -> ((TokenException) e).code()).isEqualTo("token-claims");
        String badId = tokens.mint("c 1/../x", "p", Role.DOCTOR, "Dr. A", Duration.ofMinutes(5));
        assertThatThrownBy(() -> tokens.verify(badId))
                .extracting(e -> ((TokenException) e).code()).isEqualTo("token-claims");
    }

    @Test
    void shortSecretsAreRejectedAtStart() {
        assertThatThrownBy(() -> new TokenService("short", "i", Duration.ofHours(1), Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
