package org.consultbridge.bridge.api;

/** The life of one transport: ICE, then DTLS, then media. */
public enum TransportState {
    /** Negotiated, waiting for ICE connectivity checks. */
    NEW,
    /** A valid STUN check arrived; DTLS handshake running. */
    CONNECTING,
    /** DTLS done, SRTP keys in place: media flows. */
    CONNECTED,
    /**
     * ICE consent or DTLS failed. After a DTLS failure this is final; after ICE consent expired (RFC 7675) the
     * transport returns to {@link #CONNECTED} (or {@link #CONNECTING} while DTLS still runs) when the peer's checks
     * come back ({@link EndpointListener#consentChanged}).
     */
    FAILED,
    CLOSED
}
