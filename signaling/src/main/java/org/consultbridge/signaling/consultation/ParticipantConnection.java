package org.consultbridge.signaling.consultation;

/** The signalling channel to one participant (its WebSocket), as the consultation logic sees it. */
public interface ParticipantConnection {

    /** Sends one JSON message; never blocks. */
    void send(String json);

    /** Closes the channel with a WebSocket close code and reason. */
    void close(int code, String reason);
}
