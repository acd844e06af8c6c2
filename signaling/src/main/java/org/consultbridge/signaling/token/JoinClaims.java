package org.consultbridge.signaling.token;

import java.time.Instant;

/** What a verified join token says. */
public record JoinClaims(String participantId, String consultationId, Role role, String displayName,
                         Instant expiresAt) {
}
