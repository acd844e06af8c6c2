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
