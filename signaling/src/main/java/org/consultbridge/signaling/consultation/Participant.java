package org.consultbridge.signaling.consultation;

import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.signaling.token.Role;

/** One person (or room kiosk) in a consultation: who they are, their mute state, and their bridge endpoint. */
public final class Participant {

    private final String id;
    private final Role role;
    private final String displayName;
    private final ParticipantConnection connection;
    private volatile boolean audioMuted;
    private volatile boolean videoMuted;
    private volatile BridgeEndpoint endpoint;
    /** When the participant presented its token ({@link System#nanoTime()}): the start of the join-time metric. */
    private final long createdNanos = System.nanoTime();

    public Participant(String id, Role role, String displayName, ParticipantConnection connection) {
        this.id = id;
        this.role = role;
        this.displayName = displayName;
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

    public BridgeEndpoint endpoint() {
        return endpoint;
    }

    public void setEndpoint(BridgeEndpoint endpoint) {
        this.endpoint = endpoint;
    }
}
