package org.consultbridge.signaling.consultation;

import java.time.Instant;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.signaling.token.Role;

/**
 * One person (or room kiosk) in a consultation: who they are, their mute state, whether they were admitted from the
 * waiting room, and their bridge endpoint (only once admitted).
 */
public final class Participant {

    private final String id;
    private final Role role;
    private final String displayName;
    /** Its signalling connection: replaced when the participant resumes on a new one (issue #7, reconnects). */
    private volatile ParticipantConnection connection;
    /** Its connection dropped and its place is kept for the grace period (see {@code ws.Reconnects}). */
    private volatile boolean reconnecting;
    private final String tokenId;
    private final Instant tokenExpiresAt;
    private volatile boolean audioMuted;
    private volatile boolean videoMuted;
    private volatile BridgeEndpoint endpoint;
    /** Set by the registry under its lock: in the call (true) or in the waiting room (false). */
    private volatile boolean admitted;
    /** Declined, removed or ended: the participant's socket is being closed and it may do nothing more. */
    private volatile boolean dismissed;
    private final Instant since = Instant.now();
    /** When the participant presented its token ({@link System#nanoTime()}). */
    private final long createdNanos = System.nanoTime();
    /** Start of the join-time metric: the token, or the admission for those who waited. */
    private volatile long joinStartNanos = createdNanos;
    /** Issue #8: the ECDH public key (base64) the participant's client announced for end-to-end encryption. */
    private volatile String e2eePublicKey;

    public Participant(String id, Role role, String displayName, ParticipantConnection connection) {
        this(id, role, displayName, null, null, connection);
    }

    public Participant(String id, Role role, String displayName, String tokenId, Instant tokenExpiresAt,
                       ParticipantConnection connection) {
        this.id = id;
        this.role = role;
        this.displayName = displayName;
        this.tokenId = tokenId;
        this.tokenExpiresAt = tokenExpiresAt;
        this.connection = connection;
    }

    public String id() {
        return id;
    }

    public Role role() {
        return role;
    }

    public String displayName() {
        return displayName;
    }

    public ParticipantConnection connection() {
        return connection;
    }

    /** Whether its connection dropped and it may still resume (the others show it "reconnecting"). */
    public boolean reconnecting() {
        return reconnecting;
    }

    /** The connection dropped: its place is kept (called under the lock of {@code ws.Reconnects}). */
    public void markReconnecting() {
        this.reconnecting = true;
    }

    /** It resumed on {@code fresh} (called under the lock of {@code ws.Reconnects}). */
    public void attach(ParticipantConnection fresh) {
        this.connection = fresh;
        this.reconnecting = false;
    }

    /** The one-time id of the token it joined with (null when unknown), and that token's expiry. */
    public String tokenId() {
        return tokenId;
    }

    public Instant tokenExpiresAt() {
        return tokenExpiresAt;
    }

    /** When it joined (its waiting-room entry shows this). */
    public Instant since() {
        return since;
    }

    public boolean audioMuted() {
        return audioMuted;
    }

    public boolean videoMuted() {
        return videoMuted;
    }

    public void setMuted(boolean audio, boolean video) {
        this.audioMuted = audio;
        this.videoMuted = video;
    }

    public long createdNanos() {
        return createdNanos;
    }

    public String e2eePublicKey() {
        return e2eePublicKey;
    }

    public void setE2eePublicKey(String key) {
        this.e2eePublicKey = key;
    }

    public long joinStartNanos() {
        return joinStartNanos;
    }

    public boolean admitted() {
        return admitted;
    }

    void setAdmitted(boolean admitted) {
        this.admitted = admitted;
        if (admitted) {
            joinStartNanos = System.nanoTime();
        }
    }

    public boolean dismissed() {
        return dismissed;
    }

    void dismiss() {
        this.dismissed = true;
        this.admitted = false;
    }

    public BridgeEndpoint endpoint() {
        return endpoint;
    }

    public void setEndpoint(BridgeEndpoint endpoint) {
        this.endpoint = endpoint;
    }
}
