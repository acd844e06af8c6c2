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

    @Override
    void close();
}
