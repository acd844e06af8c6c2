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

    /** WebSocket close codes (4000-4999 are for applications, RFC 6455 §7.4.2). */
    public static final int CLOSE_TOKEN = 4401;
    public static final int CLOSE_FULL = 4403;
    public static final int CLOSE_REPLACED = 4409;
    public static final int CLOSE_PROTOCOL = 4400;
    public static final int CLOSE_DRAINING = 4503;

    private ErrorCode() {
    }
}
