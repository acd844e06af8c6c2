package org.consultbridge.loadtest;

import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import org.consultbridge.bridge.dtls.DtlsCertificate;

/**
 * One simulated participant of a consultation, whatever server it talks to: it joins, publishes our synthetic media
 * and measures what it receives from the others into the shared {@link Metrics}.
 */
interface Participant extends AutoCloseable {

    String id();

    /** Begins joining; returns at once (the join proceeds asynchronously). */
    void start();

    /** True once media from another participant has arrived. */
    boolean joined();

    /** True once its publish transport is connected and its media flows to the server. */
    boolean publishing();

    /** What this participant's media carries to name its sender. */
    int tag();

    /**
     * What arrived from the participant with {@code senderTag}: {@link SimParticipant#HEARD_AUDIO} and/or
     * {@link SimParticipant#HEARD_VIDEO} bits, 0 for nothing.
     */
    int heardFrom(int senderTag);

    /** Why the server turned this participant away while it joined (an error or close code), or null. */
    String refusal();

    /** Why the server closed this participant's session after it joined, or null. */
    String dropped();

    @Override
    void close();

    /**
     * What every participant of a run shares: the generator's event loops, local address, certificate, metrics,
     * and the video bit rate per simulcast layer, lowest first (one entry: a single stream).
     */
    record Context(EventLoopGroup group, InetAddress bind, DtlsCertificate certificate, Metrics metrics,
                   int[] videoKbps, int participantsPerConsultation) {
    }

    /** Creates the participants of one target (the server under test). */
    @FunctionalInterface
    interface Factory {
        Participant create(String consultationId, String participantId, String role, Impairment impairment,
                           Context context);
    }
}
