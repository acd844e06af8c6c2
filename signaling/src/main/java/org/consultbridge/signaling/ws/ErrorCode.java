package org.consultbridge.signaling.ws;

/** Error codes of the signalling protocol (docs/protocol.md). */
public final class ErrorCode {
    public static final String BAD_JSON = "bad-json";
    public static final String BAD_MESSAGE = "bad-message";
    public static final String PROTOCOL_VERSION = "protocol-version";
    public static final String NOT_JOINED = "not-joined";
    public static final String ALREADY_JOINED = "already-joined";
    public static final String CONSULTATION_FULL = "consultation-full";
    public static final String SDP_INVALID = "sdp-invalid";
    public static final String INTERNAL = "internal";
    public static final String DRAINING = "draining";
    public static final String STATS_INVALID = "stats-invalid";
    public static final String STATS_TOO_FREQUENT = "stats-too-frequent";
    /** Media and mute requests from a participant still in the waiting room (or already dismissed). */
    public static final String NOT_ADMITTED = "not-admitted";
    /** A request this participant's role may not make (a room admitting, staff ending the consultation). */
    public static final String NOT_ALLOWED = "not-allowed";
    /** admit/decline/remove naming nobody waiting (or in the call) in this consultation. */
    public static final String UNKNOWN_PARTICIPANT = "unknown-participant";
    /** hello for a consultation that a doctor ended (socket closed, 4410). */
    public static final String CONSULTATION_ENDED = "consultation-ended";
    /** Over a message or join rate limit (issue #7, hostile input). */
    public static final String RATE_LIMITED = "rate-limited";
    /** No successful hello within limits.hello-timeout. */
    public static final String HELLO_TIMEOUT = "hello-timeout";
    /** Reconnects: a resume token that is unknown, used, or another participant's (socket closed, 4401). */
    public static final String RESUME_INVALID = "resume-invalid";
    /** Reconnects: the participant's grace period ended before it resumed; it has left (socket closed, 4401). */
    public static final String RESUME_EXPIRED = "resume-expired";

    /** WebSocket close codes (4000-4999 are for applications, RFC 6455 §7.4.2). */
    public static final int CLOSE_TOKEN = 4401;
    public static final int CLOSE_FULL = 4403;
    public static final int CLOSE_REPLACED = 4409;
    public static final int CLOSE_PROTOCOL = 4400;
    public static final int CLOSE_DRAINING = 4503;
    /** The consultation was ended by its doctor (or was ended before this hello). */
    public static final int CLOSE_ENDED = 4410;
    /** A doctor or staff declined this participant's entry from the waiting room. */
    public static final int CLOSE_DECLINED = 4420;
    /** A doctor or staff removed this participant from the call. */
    public static final int CLOSE_REMOVED = 4421;
    public static final int CLOSE_RATE_LIMITED = 4429;
    public static final int CLOSE_HELLO_TIMEOUT = 4408;

    private ErrorCode() {
    }
}
