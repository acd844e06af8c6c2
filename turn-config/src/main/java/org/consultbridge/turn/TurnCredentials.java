package org.consultbridge.turn;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Ephemeral TURN credentials, the "TURN REST API" scheme (draft-uberti-behave-turn-rest-00 §2.2) that coturn checks
 * with {@code use-auth-secret}: username = {@code <expiry unix time>:<participant id>}, password =
 * base64(HMAC-SHA1(shared secret, username)). The TURN server needs no user database and no call to us: it
 * recomputes the password from the username and refuses it once the expiry has passed.
 */
public record TurnCredentials(String username, String password, Instant expiresAt) {

    private static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    /** Credentials for {@code participantId} valid until {@code now + ttl}, signed with {@code secret}. */
    public static TurnCredentials issue(String secret, String participantId, Duration ttl, Instant now) {
        if (!SAFE_ID.matcher(participantId).matches()) {
            // the id is part of the username; coturn splits at the first ':' (rest-api-separator)
            throw new IllegalArgumentException("participant id not usable in a TURN username: " + participantId);
        }
        Instant expiry = now.plus(ttl);
        String username = expiry.getEpochSecond() + ":" + participantId;
        return new TurnCredentials(username, password(secret, username), Instant.ofEpochSecond(expiry.getEpochSecond()));
    }

    /** draft-uberti-behave-turn-rest-00 §2.2: password = base64(HMAC-SHA1(secret, username)). */
    public static String password(String secret, String username) {
        try {
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA1"));
            return Base64.getEncoder().encodeToString(mac.doFinal(username.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA1 unavailable", e);
        }
    }
}
