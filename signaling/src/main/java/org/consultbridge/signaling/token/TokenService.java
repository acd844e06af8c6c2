package org.consultbridge.signaling.token;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Join tokens: JWTs (RFC 7519) as a clinic's scheduling system issues them, signed with HS256 and a shared secret
 * (RFC 7518 §3.2), or with ES256 / RS256 (RFC 7518 §3.4, §3.3) by a key of a configured JWK set (RFC 7517), chosen
 * by the header's {@code kid}. Claims: {@code sub} participant id, {@code cid} consultation id, {@code role},
 * {@code name} display name, {@code exp}, optional {@code nbf}, {@code iat}, {@code iss}, {@code jti}, and the
 * optional {@code profile} (issue #8: the clinical profile a doctor's token chooses).
 *
 * <p>Every way a token can be wrong has its own error code (docs/protocol.md, "Tokens"). The algorithm is taken
 * from the header only to pick among what is configured: an HS256 token is checked against the shared secret and
 * nothing else, an ES256/RS256 token against a public key of the right type from the JWK set, so a token "signed"
 * with a public key as HMAC secret (algorithm confusion) or with {@code alg: none} is refused.
 */
public final class TokenService {

    /** Not a signed JWT at all (or an oversized one). */
    public static final String INVALID = "token-invalid";
    /** {@code exp} passed (beyond the clock skew). */
    public static final String EXPIRED = "token-expired";
    /** {@code nbf} (or {@code iat}) still in the future (beyond the clock skew). */
    public static final String NOT_YET_VALID = "token-not-yet-valid";
    /** The signature does not verify with the configured secret or key. */
    public static final String SIGNATURE = "token-signature";
    /** An algorithm that is not configured here: {@code none}, encrypted tokens, HS384, ES256 without JWKS ... */
    public static final String ALGORITHM = "token-algorithm";
    /** ES256/RS256 with no {@code kid}, or one that the JWK set does not hold. */
    public static final String UNKNOWN_KEY = "token-unknown-key";
    /** A required claim ({@code sub}, {@code cid}, {@code role}, {@code name}, {@code exp}) is absent. */
    public static final String CLAIM_MISSING = "token-claim-missing";
    /** A claim is present but malformed, or the lifetime is too long, or the issuer unknown. */
    public static final String CLAIMS = "token-claims";
    /** The hello names a consultation other than the token's {@code cid}. */
    public static final String CONSULTATION = "token-consultation";
    /** A one-time token whose participant has left, was declined or removed (checked by the caller). */
    public static final String REUSED = "token-reused";

    /** Ids become bridge ids and log keys: keep them short and plain. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final Pattern PROFILE = Pattern.compile("balanced|motion|detail");
    private static final int MAX_TOKEN_CHARS = 8192;

    private final byte[] secret;
    private final JWKSet keys;
    private final String issuer;
    private final Duration maxLifetime;
    private final Duration clockSkew;
    private final Clock clock;

    /**
     * @param secret the HS256 secret (at least 32 bytes), or null when only JWKS keys are accepted
     * @param keys   public keys for ES256/RS256 tokens, or null when only HS256 is accepted
     */
    public TokenService(byte[] secret, JWKSet keys, String issuer, Duration maxLifetime, Duration clockSkew,
                        Clock clock) {
        if (secret == null && keys == null) {
            throw new IllegalArgumentException("need an HS256 secret or a JWK set");
        }
        if (secret != null && secret.length < 32) {
            throw new IllegalArgumentException("HS256 secret must be at least 32 bytes");
        }
        this.secret = secret == null ? null : secret.clone();
        this.keys = keys == null ? null : keys.toPublicJWKSet();
        this.issuer = issuer;
        this.maxLifetime = maxLifetime;
        this.clockSkew = clockSkew;
        this.clock = clock;
    }

    public TokenService(byte[] secret, String issuer, Duration maxLifetime, Duration clockSkew, Clock clock) {
        this(secret, null, issuer, maxLifetime, clockSkew, clock);
    }

    public TokenService(String secret, String issuer, Duration maxLifetime, Duration clockSkew) {
        this(secret.getBytes(StandardCharsets.UTF_8), issuer, maxLifetime, clockSkew, Clock.systemUTC());
    }

    /**
     * The token service of a configuration: the HS256 secret when one is given (empty = none), and the public keys
     * of the JWK set file when one is given (empty = none).
     */
    public static TokenService of(String secret, String jwksFile, String issuer, Duration maxLifetime,
                                  Duration clockSkew) {
        return new TokenService(secret == null || secret.isEmpty() ? null : secret.getBytes(StandardCharsets.UTF_8),
                loadKeys(jwksFile), issuer, maxLifetime, clockSkew, Clock.systemUTC());
    }

    /** The JWK set in {@code file} (RFC 7517 §5), or null for an empty name; a bad file stops the start. */
    public static JWKSet loadKeys(String file) {
        if (file == null || file.isBlank()) {
            return null;
        }
        try {
            JWKSet set = JWKSet.load(new File(file));
            for (JWK k : set.getKeys()) {
                if (k.getKeyID() == null) {
                    throw new IllegalArgumentException("every key in " + file + " needs a kid");
                }
            }
            return set;
        } catch (IOException | ParseException e) {
            throw new IllegalArgumentException("cannot read the JWK set " + file + ": " + e.getMessage(), e);
        }
    }

    /** Mints a token (the {@code token} command, demo links, tests). */
    public String mint(String consultationId, Role role, String displayName, Duration ttl) {
        return mint(consultationId, role.wire() + "-" + UUID.randomUUID().toString().substring(0, 8), role,
                displayName, ttl);
    }

    public String mint(String consultationId, String participantId, Role role, String displayName, Duration ttl) {
        return mint(consultationId, participantId, role, displayName, ttl, null);
    }

    /** With the optional {@code profile} claim (issue #8: balanced, motion, detail; null = none). */
    public String mint(String consultationId, String participantId, Role role, String displayName, Duration ttl,
                       String profile) {
        Instant now = clock.instant();
        JWTClaimsSet.Builder builder = new JWTClaimsSet.Builder();
        if (profile != null) {
            builder.claim("profile", profile);
        }
        return mint(builder
                .subject(participantId)
                .issuer(issuer)
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plus(ttl)))
                .jwtID(UUID.randomUUID().toString())
                .claim("cid", consultationId)
                .claim("role", role.wire())
                .claim("name", displayName)
                .build());
    }

    /** Signs any claims with the HS256 secret (tests of claims the scheduling system might get wrong). */
    public String mint(JWTClaimsSet claims) {
        if (secret == null) {
            throw new IllegalStateException("no HS256 secret configured: tokens come from the scheduling system");
        }
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
            jwt.sign(new MACSigner(secret));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot sign token", e);
        }
    }

    public boolean canMint() {
        return secret != null;
    }

    public JoinClaims verify(String token) throws TokenException {
        return verify(token, null);
    }

    /**
     * Verifies a join token.
     *
     * @param expectedConsultation the consultation the client says it joins ({@code hello.consultationId}), or
     *                             null when it names none
     */
    public JoinClaims verify(String token, String expectedConsultation) throws TokenException {
        if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_CHARS) {
            throw new TokenException(INVALID, "no token, or an oversized one");
        }
        JWT parsed;
        try {
            parsed = JWTParser.parse(token);
        } catch (ParseException e) {
            throw new TokenException(INVALID, "not a JWT");
        }
        if (!(parsed instanceof SignedJWT jwt)) {
            throw new TokenException(ALGORITHM, "only signed tokens (HS256, ES256, RS256) are accepted, not "
                    + parsed.getHeader().getAlgorithm());
        }
        checkSignature(jwt);
        JWTClaimsSet c;
        try {
            c = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new TokenException(INVALID, "unreadable claims");
        }
        Instant now = clock.instant();
        Date exp = c.getExpirationTime();
        if (exp == null) {
            throw new TokenException(CLAIM_MISSING, "token has no expiry (exp)");
        }
        // RFC 7519 §4.1.4 and §4.1.5: "some small leeway ... to account for clock skew"
        if (exp.toInstant().plus(clockSkew).isBefore(now)) {
            throw new TokenException(EXPIRED, "token expired at " + exp.toInstant());
        }
        Date nbf = c.getNotBeforeTime();
        if (nbf != null && nbf.toInstant().minus(clockSkew).isAfter(now)) {
            throw new TokenException(NOT_YET_VALID, "token valid from " + nbf.toInstant());
        }
        Date iat = c.getIssueTime();
        if (iat != null && iat.toInstant().minus(clockSkew).isAfter(now)) {
            throw new TokenException(NOT_YET_VALID, "token issued in the future");
        }
        Instant start = iat != null ? iat.toInstant() : nbf != null ? nbf.toInstant() : now;
        if (Duration.between(start, exp.toInstant()).compareTo(maxLifetime) > 0) {
            throw new TokenException(CLAIMS, "token lifetime exceeds the configured maximum");
        }
        if (c.getIssuer() != null && !c.getIssuer().equals(issuer)) {
            throw new TokenException(CLAIMS, "unknown issuer");
        }
        String sub = c.getSubject();
        Object cid = c.getClaim("cid");
        Object roleClaim = c.getClaim("role");
        Object name = c.getClaim("name");
        if (sub == null) {
            throw new TokenException(CLAIM_MISSING, "sub (participant id) missing");
        }
        if (!ID.matcher(sub).matches()) {
            throw new TokenException(CLAIMS, "sub (participant id) is not [A-Za-z0-9._-]{1,64}");
        }
        if (cid == null) {
            throw new TokenException(CLAIM_MISSING, "cid (consultation id) missing");
        }
        if (!(cid instanceof String cidText) || !ID.matcher(cidText).matches()) {
            throw new TokenException(CLAIMS, "cid (consultation id) is not [A-Za-z0-9._-]{1,64}");
        }
        if (roleClaim == null) {
            throw new TokenException(CLAIM_MISSING, "role missing");
        }
        Role role = roleClaim instanceof String r ? Role.fromWire(r) : null;
        if (role == null) {
            throw new TokenException(CLAIMS, "role must be doctor, staff, room or guest");
        }
        if (name == null || (name instanceof String n && n.isBlank())) {
            // everyone in a consultation is identifiable: the doctor sees who is waiting and who is in the call
            throw new TokenException(CLAIM_MISSING, "name (display name) missing");
        }
        if (!(name instanceof String nameText) || nameText.strip().length() > 100) {
            throw new TokenException(CLAIMS, "name must be a string of at most 100 characters");
        }
        Object jti = c.getClaim("jti");
        if (jti != null && (!(jti instanceof String j) || j.isEmpty() || j.length() > 128)) {
            throw new TokenException(CLAIMS, "jti must be a string of 1 to 128 characters");
        }
        if (expectedConsultation != null && !expectedConsultation.equals(cidText)) {
            throw new TokenException(CONSULTATION, "this token is for another consultation");
        }
        String tokenId = jti != null ? "jti:" + jti : "sig:" + digest(jwt.getSignature().toString());
        Object profile = c.getClaim("profile");
        if (profile != null && !(profile instanceof String pt && PROFILE.matcher(pt).matches())) {
            throw new TokenException(CLAIMS, "profile must be balanced, motion or detail");
        }
        return new JoinClaims(sub, cidText, role, nameText.strip(), exp.toInstant(), tokenId, (String) profile);
    }

    private void checkSignature(SignedJWT jwt) throws TokenException {
        JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
        JWSVerifier verifier;
        try {
            if (JWSAlgorithm.HS256.equals(alg)) {
                if (secret == null) {
                    throw new TokenException(ALGORITHM, "HS256 tokens are not accepted here (no shared secret)");
                }
                verifier = new MACVerifier(secret);
            } else if (JWSAlgorithm.ES256.equals(alg) || JWSAlgorithm.RS256.equals(alg)) {
                verifier = publicKeyVerifier(jwt.getHeader(), alg);
            } else {
                throw new TokenException(ALGORITHM, "algorithm " + alg + " is not accepted (HS256, ES256, RS256)");
            }
            if (!jwt.verify(verifier)) {
                throw new TokenException(SIGNATURE, "bad signature");
            }
        } catch (JOSEException e) {
            throw new TokenException(SIGNATURE, "cannot verify the signature");
        } catch (IllegalStateException e) {
            throw new TokenException(INVALID, "not a signed JWT");
        }
    }

    private JWSVerifier publicKeyVerifier(JWSHeader header, JWSAlgorithm alg) throws TokenException, JOSEException {
        if (keys == null) {
            throw new TokenException(ALGORITHM, alg + " tokens are not accepted here (no JWK set configured)");
        }
        String kid = header.getKeyID();
        if (kid == null) {
            throw new TokenException(UNKNOWN_KEY, alg + " token without a kid");
        }
        JWK key = keys.getKeyByKeyId(kid);
        if (key == null) {
            throw new TokenException(UNKNOWN_KEY, "no key with this kid in the JWK set");
        }
        if (key.getAlgorithm() != null && !key.getAlgorithm().equals(alg)) {
            throw new TokenException(ALGORITHM, "key " + kid + " is for " + key.getAlgorithm() + ", not " + alg);
        }
        if (JWSAlgorithm.ES256.equals(alg) && key instanceof ECKey ec && Curve.P_256.equals(ec.getCurve())) {
            return new ECDSAVerifier(ec);
        }
        if (JWSAlgorithm.RS256.equals(alg) && key instanceof RSAKey rsa) {
            if (rsa.size() < 2048) { // RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used"
                throw new TokenException(ALGORITHM, "key " + kid + " is shorter than 2048 bits");
            }
            return new RSASSAVerifier(rsa);
        }
        throw new TokenException(ALGORITHM, "key " + kid + " cannot verify " + alg);
    }

    private static String digest(String text) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.US_ASCII));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
