package org.consultbridge.signaling.ops;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A web client's summary of its own {@code getStats()} (the {@code clientStats} message, docs/protocol.md): what
 * the person actually sees and hears. Video figures are -1 while the client receives no video.
 *
 * @param fps          frames per second decoded of the received video it shows largest, -1 none
 * @param width        its decoded width in pixels, -1 none
 * @param height       its decoded height, -1 none
 * @param freezeCount  video freezes since the call started (cumulative, as Chromium counts them)
 * @param concealment  share of received audio samples concealed over the last interval (0..1), -1 no audio
 * @param rttMs        round-trip time of the selected ICE candidate pair (publish connection), -1 unknown
 * @param candidateType local candidate type of that pair: host, srflx, prflx, relay, or "unknown"
 * @param firstFrameMs time from sending hello to the first decoded remote video frame (sent once), -1 absent
 * @param freezeMs     total duration of those freezes in milliseconds (cumulative), -1 absent
 */
public record ClientStats(double fps, int width, int height, long freezeCount, double concealment, double rttMs,
                          String candidateType, long firstFrameMs, long freezeMs) {

    public static final Set<String> CANDIDATE_TYPES = Set.of("host", "srflx", "prflx", "relay", "unknown");
    static final double MAX_FPS = 120;
    static final int MAX_WIDTH = 7680;
    static final int MAX_HEIGHT = 4320;
    static final long MAX_FREEZES = 100_000;
    static final double MAX_RTT_MS = 60_000;
    static final long MAX_FIRST_FRAME_MS = 600_000;
    static final long MAX_FREEZE_MS = 86_400_000;

    /**
     * The outcome of validating one message: accepted (perhaps with figures clamped to their maximum) or rejected.
     *
     * @param stats   the accepted figures, null when rejected
     * @param clamped names of the fields that were above their maximum and were clamped
     * @param error   why it was rejected, null when accepted
     */
    public record Validation(ClientStats stats, List<String> clamped, String error) {
        public boolean accepted() {
            return stats != null;
        }
    }

    /**
     * Validates a {@code clientStats} message. Every figure is optional (absent or null = unknown); a present one
     * must be a finite, non-negative number (candidateType: one of {@link #CANDIDATE_TYPES}), otherwise the whole
     * message is rejected. Figures above a plausible maximum (120 fps, 8K, 60 s RTT, ...) are clamped to it.
     */
    public static Validation validate(JsonNode msg) {
        List<String> clamped = new ArrayList<>();
        try {
            double fps = number(msg, "fps", MAX_FPS, clamped);
            double width = number(msg, "width", MAX_WIDTH, clamped);
            double height = number(msg, "height", MAX_HEIGHT, clamped);
            double freezes = number(msg, "freezeCount", MAX_FREEZES, clamped);
            double concealment = number(msg, "concealment", 1.0, clamped);
            double rtt = number(msg, "rttMs", MAX_RTT_MS, clamped);
            double firstFrame = number(msg, "firstFrameMs", MAX_FIRST_FRAME_MS, clamped);
            double freezeMs = number(msg, "freezeMs", MAX_FREEZE_MS, clamped);
            JsonNode ct = msg.get("candidateType");
            String candidateType = "unknown";
            if (ct != null && !ct.isNull()) {
                if (!ct.isTextual() || !CANDIDATE_TYPES.contains(ct.asText())) {
                    throw new IllegalArgumentException("candidateType must be one of host, srflx, prflx, relay");
                }
                candidateType = ct.asText();
            }
            return new Validation(new ClientStats(fps, (int) width, (int) height, freezes < 0 ? 0 : (long) freezes,
                    concealment, rtt, candidateType, (long) firstFrame, (long) freezeMs), List.copyOf(clamped), null);
        } catch (IllegalArgumentException e) {
            return new Validation(null, List.of(), e.getMessage());
        }
    }

    /** -1 when absent or null; the value, clamped to {@code max}; throws when not a finite non-negative number. */
    private static double number(JsonNode msg, String field, double max, List<String> clamped) {
        JsonNode v = msg.get(field);
        if (v == null || v.isNull()) {
            return -1;
        }
        if (!v.isNumber()) {
            throw new IllegalArgumentException("'" + field + "' must be a number");
        }
        double d = v.asDouble();
        if (!Double.isFinite(d) || d < 0) {
            throw new IllegalArgumentException("'" + field + "' must be a finite number >= 0");
        }
        if (d > max) {
            clamped.add(field);
            return max;
        }
        return d;
    }
}
