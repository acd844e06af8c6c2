package org.consultbridge.bridge.transport;

/**
 * Why a datagram (or a packet inside one) was dropped. Every drop is counted under exactly one reason, so that an
 * operator can tell an attack or a broken client from a network problem. The names are the metric label values.
 */
public enum DropReason {
    /** First byte outside every range of RFC 7983 §7. */
    UNKNOWN_PROTOCOL("unknown-protocol"),
    /** Not a well-formed STUN message. */
    STUN_MALFORMED("stun-malformed"),
    /** STUN request whose USERNAME names no transport of ours. */
    STUN_UNKNOWN_USERNAME("stun-unknown-username"),
    /** STUN request whose MESSAGE-INTEGRITY or FINGERPRINT does not check out. */
    STUN_INTEGRITY("stun-integrity"),
    /** STUN messages we do not act on (indications, responses, other methods). */
    STUN_UNHANDLED("stun-unhandled"),
    /** DTLS, RTP or RTCP from an address that never passed an ICE check. */
    UNKNOWN_ADDRESS("unknown-address"),
    /** DTLS record that the handshake queue could not take (full or session closed). */
    DTLS_QUEUE_FULL("dtls-queue-full"),
    /** RTP or RTCP before the DTLS handshake produced SRTP keys. */
    NO_KEYS("no-keys"),
    /** RTP header invalid (version, lengths). */
    RTP_MALFORMED("rtp-malformed"),
    /** RTCP compound packet invalid. */
    RTCP_MALFORMED("rtcp-malformed"),
    /** SRTP/SRTCP authentication or replay check failed. */
    SRTP_AUTH("srtp-auth"),
    /** RTP whose SSRC belongs to no producer of the sending endpoint. */
    UNKNOWN_SSRC("unknown-ssrc"),
    /** RTP with a payload type the publish answer did not accept. */
    UNKNOWN_PAYLOAD_TYPE("unknown-payload-type"),
    /** RTX we cannot restore (no associated payload type negotiated). */
    RTX_NOT_FORWARDED("rtx-not-forwarded"),
    /** Padding-only RTX: the sender's bandwidth probes, nothing to forward. */
    RTX_PADDING("rtx-padding"),
    /** A video packet the bridge already has (a retransmission that arrived twice). */
    DUPLICATE("duplicate"),
    /** A retransmitted video packet too old for the bridge to know whether it forwarded it already. */
    RTX_LATE("rtx-late"),
    /** Audio RED (RFC 2198) whose block headers do not fit the payload or name another codec than Opus. */
    RED_MALFORMED("red-malformed"),
    /** RTCP feedback (NACK, PLI, FIR, report block) about an SSRC this endpoint does not receive. */
    FEEDBACK_UNKNOWN_SSRC("feedback-unknown-ssrc"),
    /** Transport-cc feedback that is malformed or reports nothing the bridge sent (e.g. far past or future). */
    TRANSPORT_CC_REJECTED("transport-cc-rejected"),
    /** A NACKed packet the cache no longer (or never) had: too old, or a sequence number never sent. */
    NACK_UNANSWERED("nack-unanswered"),
    /** A NACKed packet not resent because the receiver's retransmission budget was spent (a NACK storm). */
    NACK_RATE_LIMITED("nack-rate-limited"),
    /**
     * RTP or RTCP the bridge did not send because ICE consent for the receiver's selected pair expired (RFC 7675
     * §5.1: no Binding request from it for the consent timeout); sending resumes when its checks come back.
     */
    CONSENT_EXPIRED("consent-expired"),
    /** Datagram larger than the receive buffer (truncated by the socket). */
    OVERSIZED("oversized"),
    /** A datagram that made the bridge's own code throw: a bug (logged at debug level), never expected. */
    INTERNAL_ERROR("internal-error"),

    // ICE-TCP (RFC 6544). The reasons below count TCP connections the bridge closed, except TCP_CONGESTED, which
    // counts packets; the frame that made the bridge close a connection is also counted under its own reason above.
    /** RFC 4571 frame longer than any packet the bridge accepts: the connection was closed. */
    TCP_FRAME_TOO_LONG("tcp-frame-too-long"),
    /** A connection whose first frame was not an authenticated ICE check (garbage, bad STUN): closed. */
    TCP_UNAUTHENTICATED("tcp-unauthenticated"),
    /** A connection that sent no authenticated ICE check in time (slowloris): closed. */
    TCP_AUTH_TIMEOUT("tcp-auth-timeout"),
    /** An authenticated connection that sent no complete frame for the consent timeout: closed. */
    TCP_IDLE("tcp-idle"),
    /** A connection refused at once: too many connections were still unauthenticated. */
    TCP_REJECTED("tcp-rejected"),
    /** A packet not sent because the TCP connection's send buffer was full (no unbounded queueing). */
    TCP_CONGESTED("tcp-congested");

    private final String label;

    DropReason(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
