package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.PlainHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import org.consultbridge.signaling.token.JoinClaims;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenException;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way a join token can be right or wrong, each wrong one with its own code (docs/protocol.md, "Tokens"). */
class TokenServiceTest {

    static final String SECRET = "0123456789abcdef0123456789abcdef";
    static final Instant NOW = Instant.parse("2025-06-02T09:00:00Z");
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    static ECKey ecKey;
    static ECKey otherEcKey;
    static RSAKey rsaKey;
    static TokenService tokens;
    static TokenService both;

    @BeforeAll
    static void keys(@TempDir Path dir) throws Exception {
        ecKey = new ECKeyGenerator(Curve.P_256).keyID("sched-ec-1").generate();
        otherEcKey = new ECKeyGenerator(Curve.P_256).keyID("sched-ec-1").generate(); // same kid, other key
        rsaKey = new RSAKeyGenerator(2048).keyID("sched-rsa-1").generate();
        Path jwks = dir.resolve("jwks.json");
        // the file holds public keys only, as the scheduling system publishes them
        Files.writeString(jwks, new JWKSet(List.of(ecKey.toPublicJWK(), rsaKey.toPublicJWK())).toString());
        tokens = new TokenService(SECRET.getBytes(StandardCharsets.UTF_8), null, "consultbridge",
                Duration.ofHours(12), Duration.ofSeconds(60), CLOCK);
        both = new TokenService(SECRET.getBytes(StandardCharsets.UTF_8), TokenService.loadKeys(jwks.toString()),
                "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60), CLOCK);
    }

    static JWTClaimsSet.Builder claims() {
        return new JWTClaimsSet.Builder().subject("room-7").issuer("consultbridge").issueTime(Date.from(NOW))
                .expirationTime(Date.from(NOW.plusSeconds(600))).claim("cid", "c-1").claim("role", "room")
                .claim("name", "Praxis Dorf / Erika Mustermann");
    }

    static String sign(JWSAlgorithm alg, String kid, JWSSigner signer, JWTClaimsSet c) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).type(JOSEObjectType.JWT).build(), c);
        jwt.sign(signer);
        return jwt.serialize();
    }

    static String hs256(JWTClaimsSet c) throws Exception {
        return sign(JWSAlgorithm.HS256, null, new MACSigner(SECRET), c);
    }

    static String es256(JWTClaimsSet c) throws Exception {
        return sign(JWSAlgorithm.ES256, ecKey.getKeyID(), new ECDSASigner(ecKey), c);
    }

    static void refused(TokenService service, String token, String code) {
        refused(service, token, null, code);
    }

    static void refused(TokenService service, String token, String consultation, String code) {
        assertThatThrownBy(() -> service.verify(token, consultation)).isInstanceOf(TokenException.class)
                .extracting(e -> ((TokenException) e).code()).isEqualTo(code);
    }

    @Test
    void mintedTokenVerifies() throws Exception {
        JoinClaims c = tokens.verify(tokens.mint("c-1", "room-7", Role.ROOM, "Praxis Dorf", Duration.ofMinutes(5)));
        assertThat(c.consultationId()).isEqualTo("c-1");
        assertThat(c.participantId()).isEqualTo("room-7");
        assertThat(c.role()).isEqualTo(Role.ROOM);
        assertThat(c.displayName()).isEqualTo("Praxis Dorf");
        assertThat(c.tokenId()).startsWith("jti:");
    }

    @Test
    void everyRoleCanBeMintedAndVerified() throws Exception {
        for (Role r : Role.values()) {
            assertThat(tokens.verify(tokens.mint("c-1", r, "N", Duration.ofMinutes(5))).role()).isEqualTo(r);
        }
        assertThat(tokens.verify(hs256(claims().claim("role", "staff").build())).role()).isEqualTo(Role.STAFF);
    }

    @Test
    void es256AndRs256TokensVerifyWithTheKeyTheirKidNames() throws Exception {
        JoinClaims ec = both.verify(es256(claims().build()));
        assertThat(ec.displayName()).isEqualTo("Praxis Dorf / Erika Mustermann");
        JoinClaims rsa = both.verify(sign(JWSAlgorithm.RS256, "sched-rsa-1", new RSASSASigner(rsaKey),
                claims().claim("role", "doctor").subject("dr-1").build()));
        assertThat(rsa.role()).isEqualTo(Role.DOCTOR);
        // without a jti the token is named by its signature, so one-time still works
        assertThat(rsa.tokenId()).startsWith("sig:");
        assertThat(both.verify(hs256(claims().build())).participantId()).isEqualTo("room-7");
    }

    @Test
    void expiredBeyondTheClockSkewIsExpired() throws Exception {
        refused(tokens, hs256(claims().issueTime(Date.from(NOW.minusSeconds(3600)))
                .expirationTime(Date.from(NOW.minusSeconds(61))).build()), "token-expired");
        // within the skew: accepted
        assertThat(tokens.verify(hs256(claims().issueTime(Date.from(NOW.minusSeconds(3600)))
                .expirationTime(Date.from(NOW.minusSeconds(59))).build())).participantId()).isEqualTo("room-7");
    }

    @Test
    void notBeforeInTheFutureIsNotYetValid() throws Exception {
        refused(tokens, hs256(claims().notBeforeTime(Date.from(NOW.plusSeconds(300))).build()), "token-not-yet-valid");
        refused(tokens, hs256(claims().issueTime(Date.from(NOW.plusSeconds(300))).build()), "token-not-yet-valid");
        assertThat(tokens.verify(hs256(claims().notBeforeTime(Date.from(NOW.plusSeconds(50))).build())).role())
                .isEqualTo(Role.ROOM);
    }

    @Test
    void aWrongSignatureIsASignatureError() throws Exception {
        String t = tokens.mint("c-1", Role.DOCTOR, "Dr. A", Duration.ofMinutes(5));
        String tampered = t.substring(0, t.length() - 3) + (t.endsWith("AAA") ? "BBB" : "AAA");
        refused(tokens, tampered, "token-signature");
        refused(tokens, sign(JWSAlgorithm.HS256, null, new MACSigner("another-secret-another-secret-12345"),
                claims().build()), "token-signature");
        refused(both, sign(JWSAlgorithm.ES256, "sched-ec-1", new ECDSASigner(otherEcKey), claims().build()),
                "token-signature");
        // a token re-signed after its claims were changed (role raised to doctor)
        String[] parts = es256(claims().build()).split("\\.");
        String forged = parts[0] + "." + hs256Payload(claims().claim("role", "doctor").build()) + "." + parts[2];
        refused(both, forged, "token-signature");
    }

    private static String hs256Payload(JWTClaimsSet c) throws Exception {
        return hs256(c).split("\\.")[1];
    }

    @Test
    void anotherConsultationThanTheHelloNamesIsAConsultationError() throws Exception {
        String t = hs256(claims().build());
        refused(tokens, t, "c-2", "token-consultation");
        assertThat(tokens.verify(t, "c-1").consultationId()).isEqualTo("c-1");
    }

    @Test
    void eachMissingClaimIsAMissingClaimError() throws Exception {
        for (String claim : List.of("sub", "cid", "role", "name", "exp")) {
            JWTClaimsSet.Builder b = claims();
            b.claim(claim, null);
            refused(tokens, hs256(b.build()), "token-claim-missing");
        }
        refused(tokens, hs256(claims().claim("name", "  ").build()), "token-claim-missing");
    }

    @Test
    void malformedClaimsAndOverlongLifetimesAreClaimErrors() throws Exception {
        refused(tokens, tokens.mint("c-1", Role.DOCTOR, "Dr. A", Duration.ofDays(30)), "token-claims");
        refused(tokens, tokens.mint("c 1/../x", "p", Role.DOCTOR, "Dr. A", Duration.ofMinutes(5)), "token-claims");
        refused(tokens, hs256(claims().claim("role", "admin").build()), "token-claims");
        refused(tokens, hs256(claims().claim("cid", 42).build()), "token-claims");
        refused(tokens, hs256(claims().claim("name", "x".repeat(101)).build()), "token-claims");
        refused(tokens, hs256(claims().issuer("someone-else").build()), "token-claims");
        // no iat: the lifetime counts from now
        refused(tokens, hs256(claims().issueTime(null).expirationTime(Date.from(NOW.plus(Duration.ofDays(2))))
                .build()), "token-claims");
    }

    @Test
    void aKidThatTheJwkSetDoesNotHoldIsAnUnknownKey() throws Exception {
        ECKey stranger = new ECKeyGenerator(Curve.P_256).keyID("stolen-laptop").generate();
        refused(both, sign(JWSAlgorithm.ES256, "stolen-laptop", new ECDSASigner(stranger), claims().build()),
                "token-unknown-key");
        refused(both, sign(JWSAlgorithm.ES256, null, new ECDSASigner(ecKey), claims().build()), "token-unknown-key");
    }

    @Test
    void algorithmsThatAreNotConfiguredAreAlgorithmErrors() throws Exception {
        String none = new PlainJWT(new PlainHeader(), claims().build()).serialize();
        refused(both, none, "token-algorithm");
        refused(tokens, sign(JWSAlgorithm.HS512, null, new MACSigner(SECRET + SECRET), claims().build()),
                "token-algorithm");
        // ES256 while no JWK set is configured
        refused(tokens, es256(claims().build()), "token-algorithm");
        // HS256 while only a JWK set is configured
        TokenService keysOnly = new TokenService(null, new JWKSet(ecKey.toPublicJWK()), "consultbridge",
                Duration.ofHours(12), Duration.ofSeconds(60), CLOCK);
        refused(keysOnly, hs256(claims().build()), "token-algorithm");
        assertThat(keysOnly.verify(es256(claims().build())).role()).isEqualTo(Role.ROOM);
        // RS256 naming the EC key: the key cannot verify that algorithm
        refused(both, sign(JWSAlgorithm.RS256, "sched-ec-1", new RSASSASigner(rsaKey), claims().build()),
                "token-algorithm");
    }

    @Test
    void somethingThatIsNoJwtIsInvalid() {
        refused(tokens, "garbage", "token-invalid");
        refused(tokens, "", "token-invalid");
        refused(tokens, "a.b.c", "token-invalid");
        refused(tokens, "x".repeat(10_000), "token-invalid");
    }

    @Test
    void shortSecretsAndMissingKeysAreRejectedAtStart(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> new TokenService("short", "i", Duration.ofHours(1), Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TokenService(null, null, "i", Duration.ofHours(1), Duration.ZERO, CLOCK))
                .isInstanceOf(IllegalArgumentException.class);
        Path bad = Files.writeString(dir.resolve("bad.json"), "{\"keys\": 7}");
        assertThatThrownBy(() -> TokenService.loadKeys(bad.toString())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad.json");
        Path noKid = Files.writeString(dir.resolve("nokid.json"),
                new JWKSet(new ECKeyGenerator(Curve.P_256).generate().toPublicJWK()).toString());
        assertThatThrownBy(() -> TokenService.loadKeys(noKid.toString())).hasMessageContaining("kid");
        assertThat(TokenService.loadKeys("")).isNull();
    }
}
