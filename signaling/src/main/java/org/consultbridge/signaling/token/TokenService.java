package org.consultbridge.signaling.token;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Join tokens: JWTs signed with HS256 and a shared secret (RFC 7519, RFC 7518 §3.2), as a clinic's scheduling
 * system issues them. Claims: {@code sub} participant id, {@code cid} consultation id, {@code role},
 * {@code name} display name, {@code exp}, {@code iat}, {@code iss}. Anything but a valid HS256 signature is refused
 * (including {@code alg: none}).
 */
public final class TokenService {

    public static final String INVALID = "token-invalid";
    public static final String EXPIRED = "token-expired";
    public static final String CLAIMS = "token-claims";
    /** Ids become bridge ids and log keys: keep them short and plain. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private final byte[] secret;
    private final String issuer;
    private final Duration maxLifetime;
    private final Duration clockSkew;
    private final Clock clock;

    public TokenService(byte[] secret, String issuer, Duration maxLifetime, Duration clockSkew, Clock clock) {
        if (secret.length < 32) {
            throw new IllegalArgumentException("HS256 secret must be at least 32 bytes");
        }
        this.secret = secret.clone();
        this.issuer = issuer;
        this.maxLifetime = maxLifetime;
        this.clockSkew = clockSkew;
        this.clock = clock;
    }

    public TokenService(String secret, String issuer, Duration maxLifetime, Duration clockSkew) {
        this(secret.getBytes(StandardCharsets.UTF_8), issuer, maxLifetime, clockSkew, Clock.systemUTC());
    }

    /** Mints a token (the {@code token} command, demo links, tests). */
    public String mint(String consultationId, Role role, String displayName, Duration ttl) {
        return mint(consultationId, role.wire() + "-" + UUID.randomUUID().toString().substring(0, 8), role,
                displayName, ttl);
    }

    public String mint(String consultationId, String participantId, Role role, String displayName, Duration ttl) {
        Instant now = clock.instant();
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .subject(participantId)
                .issuer(issuer)
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plus(ttl)))
                .claim("cid", consultationId)
                .claim("role", role.wire())
                .claim("name", displayName)
                .build();
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
            jwt.sign(new MACSigner(secret));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot sign token", e);
        }
    }

    public JoinClaims verify(String token) throws TokenException {
        if (token == null || token.isEmpty() || token.length() > 8192) {
            throw new TokenException(INVALID, "no token, or an oversized one");
        }
        SignedJWT jwt;
        try {
            jwt = SignedJWT.parse(token);
        } catch (ParseException e) {
            throw new TokenException(INVALID, "not a signed JWT");
        }
        if (!JWSAlgorithm.HS256.equals(jwt.getHeader().getAlgorithm())) {
            throw new TokenException(INVALID, "only HS256 tokens are accepted");
        }
        try {
            if (!jwt.verify(new MACVerifier(secret))) {
                throw new TokenException(INVALID, "bad signature");
            }
        } catch (JOSEException e) {
            throw new TokenException(INVALID, "cannot verify signature");
        }
        JWTClaimsSet c;
        try {
            c = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new TokenException(INVALID, "unreadable claims");
        }
        Instant now = clock.instant();
        Date exp = c.getExpirationTime();
        if (exp == null) {
            throw new TokenException(CLAIMS, "token has no expiry (exp)");
        }
        if (exp.toInstant().plus(clockSkew).isBefore(now)) {
            throw new TokenException(EXPIRED, "token expired at " + exp.toInstant());
        }
        Date iat = c.getIssueTime();
        if (iat != null && Duration.between(iat.toInstant(), exp.toInstant()).compareTo(maxLifetime) > 0) {
            throw new TokenException(CLAIMS, "token lifetime exceeds the configured maximum");
        }
        if (iat != null && iat.toInstant().minus(clockSkew).isAfter(now)) {
            throw new TokenException(CLAIMS, "token issued in the future");
        }
        if (c.getIssuer() != null && !c.getIssuer().equals(issuer)) {
            throw new TokenException(CLAIMS, "unknown issuer");
        }
        String sub = c.getSubject();
        Object cid = c.getClaim("cid");
        Object roleClaim = c.getClaim("role");
        Object name = c.getClaim("name");
        if (sub == null || !ID.matcher(sub).matches()) {
            throw new TokenException(CLAIMS, "sub (participant id) missing or not [A-Za-z0-9._-]{1,64}");
        }
        if (!(cid instanceof String cidText) || !ID.matcher(cidText).matches()) {
            throw new TokenException(CLAIMS, "cid (consultation id) missing or not [A-Za-z0-9._-]{1,64}");
        }
        Role role = roleClaim instanceof String r ? Role.fromWire(r) : null;
        if (role == null) {
            throw new TokenException(CLAIMS, "role must be doctor, room or guest");
        }
        String display = name instanceof String n && !n.isBlank() ? n.strip() : role.wire();
        if (display.length() > 100) {
            throw new TokenException(CLAIMS, "name longer than 100 characters");
        }
        return new JoinClaims(sub, cidText, role, display, exp.toInstant());
    }
}
