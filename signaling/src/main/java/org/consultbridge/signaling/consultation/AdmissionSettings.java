package org.consultbridge.signaling.consultation;

import com.typesafe.config.Config;
import org.consultbridge.signaling.audit.AuditSettings;

/**
 * Who gets into a consultation and how that is recorded (issue #7): the JWK set for ES256/RS256 tokens, one-time
 * tokens, the waiting room, the audit log.
 *
 * @param jwksFile          public keys of the scheduling system for ES256/RS256 tokens (empty = HS256 only)
 * @param oneTimeTokens     a token whose participant left, was declined or removed cannot join again
 * @param usedTokenCapacity how many used one-time tokens are remembered (each until its {@code exp})
 * @param waitingRoom       rooms and guests wait until a doctor or staff admits them
 * @param reconnect         how long a dropped participant keeps its place, and how a dead connection is noticed
 */
public record AdmissionSettings(String jwksFile, boolean oneTimeTokens, int usedTokenCapacity, boolean waitingRoom,
                                AuditSettings audit, ReconnectSettings reconnect) {

    /** From the root {@code consultbridge} section. */
    public static AdmissionSettings from(Config c) {
        return new AdmissionSettings(c.getString("tokens.jwks-file"), c.getBoolean("tokens.one-time"),
                c.getInt("tokens.one-time-capacity"), c.getBoolean("consultation.waiting-room"),
                AuditSettings.from(c.getConfig("audit")), ReconnectSettings.from(c));
    }

    public AdmissionSettings withWaitingRoom(boolean on) {
        return new AdmissionSettings(jwksFile, oneTimeTokens, usedTokenCapacity, on, audit, reconnect);
    }

    public AdmissionSettings withOneTimeTokens(boolean on) {
        return new AdmissionSettings(jwksFile, on, usedTokenCapacity, waitingRoom, audit, reconnect);
    }

    public AdmissionSettings withAudit(AuditSettings newAudit) {
        return new AdmissionSettings(jwksFile, oneTimeTokens, usedTokenCapacity, waitingRoom, newAudit, reconnect);
    }

    public AdmissionSettings withReconnect(ReconnectSettings newReconnect) {
        return new AdmissionSettings(jwksFile, oneTimeTokens, usedTokenCapacity, waitingRoom, audit, newReconnect);
    }
}
