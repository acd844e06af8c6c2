package org.consultbridge.bridge.api;

import java.util.Optional;

/**
 * The media bridge as the signalling server sees it: conferences of endpoints, each endpoint negotiated with SDP.
 * The bridge knows nothing of people, roles or tokens; ids are opaque strings chosen by the caller.
 * Thread-safe: callable from any thread (calls hop onto the bridge's event loop and wait there briefly).
 */
public interface MediaBridge extends AutoCloseable {

    /** Creates an endpoint in a conference (the conference is created on first use). */
    BridgeEndpoint createEndpoint(String conferenceId, String endpointId, EndpointListener listener);

    Optional<BridgeEndpoint> endpoint(String conferenceId, String endpointId);

    /**
     * Closes every endpoint of a conference at once (both transports, their DTLS and SRTP keys) and forgets the
     * conference: the consultation was ended. Returns how many endpoints were closed.
     */
    int closeConference(String conferenceId);

    /** Counters of the whole bridge (packets in, forwarded, dropped by reason). */
    BridgeStats stats();

    /**
     * Media-quality counters and per-endpoint figures, gathered in one pass on the bridge's event loop (the caller
     * waits; call it from a background thread every few seconds, never per packet or per scrape).
     */
    QualitySnapshot qualitySnapshot();

    /** Local UDP port the bridge listens on (useful when configured with port 0). */
    int udpPort();

    /** Local ICE-TCP port (RFC 6544 passive candidates), 0 when ICE-TCP is off. */
    default int tcpPort() {
        return 0;
    }

    /** Every worker's UDP port (worker i on the configured port + i): what the firewall must let in. */
    default java.util.List<Integer> udpPorts() {
        return java.util.List.of(udpPort());
    }

    /** Every worker's ICE-TCP port; empty when ICE-TCP is off. */
    default java.util.List<Integer> tcpPorts() {
        return tcpPort() == 0 ? java.util.List.of() : java.util.List.of(tcpPort());
    }

    /** Event loops (workers) carrying media, one per core by default. */
    default int workerCount() {
        return 1;
    }

    /**
     * Receives every event-loop lag measurement in nanoseconds (about 100 a second per worker), called on the
     * worker's loop: record it in something lock-free and cheap (a metrics histogram).
     */
    default void loopLagRecorder(java.util.function.LongConsumer recorder) {
    }

    @Override
    void close();
}
