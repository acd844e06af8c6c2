package org.consultbridge.signaling.consultation;

import java.util.List;

/** The signalling channel to one participant (its WebSocket), as the consultation logic sees it. */
public interface ParticipantConnection {

    /** Sends one JSON message; never blocks. */
    void send(String json);

    /** Closes the channel with a WebSocket close code and reason. */
    void close(int code, String reason);

    /**
     * The participant was admitted from the waiting room: it gets its bridge endpoint and the {@code admitted}
     * message with the others in the call ({@code others}); they are told it joined.
     */
    void enterCall(List<Participant> others);
}
