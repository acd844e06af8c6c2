package org.consultbridge.signaling.token;

import java.time.Instant;

/**
 * What a verified join token says. {@code tokenId} names this one token for the one-time check: {@code jti:} and
 * its {@code jti} claim, or {@code sig:} and a hash of its signature when it has none. {@code profile}: the optional
 * clinical profile claim (issue #8; balanced, motion or detail), null when absent.
 */
public record JoinClaims(String participantId, String consultationId, Role role, String displayName,
                         Instant expiresAt, String tokenId, String profile) {
}
