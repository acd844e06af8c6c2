package org.consultbridge.bridge.conference;

/**
 * Which of one receiver's keyframe requests (PLI, FIR) for one consumer are passed on to the publisher. The first
 * is, at once; the next at least 0.5 s later, and while requests keep coming the gap doubles up to 2 s; after
 * {@link #RESET_NANOS} without a request passed on, the next is again passed at once.
 * A receiver that keeps asking although keyframes come cannot decode them (with end-to-end encryption: a
 * participant without the right key, whose Chromium then asks every 200 ms) and must not make the publisher encode
 * keyframes for everyone several times a second. LiveKit throttles PLIs per track to 0.5-1 s likewise; RFC 4585
 * §3.4 asks for feedback to be rate-limited. The bridge's own requests (new consumers, layer switches) are not
 * throttled here. Event loop only.
 */
final class ReceiverKeyframeThrottle {

    static final long MIN_NANOS = 500_000_000L;
    static final long MAX_NANOS = 2_000_000_000L;
    /** A receiver quiet for this long starts again without back-off. */
    static final long RESET_NANOS = 5_000_000_000L;

    private long lastAcceptedNanos = Long.MIN_VALUE / 2;
    private long intervalNanos;
    /** Requests not passed on. */
    long heldBack;

    boolean accept(long nowNanos) {
        long since = nowNanos - lastAcceptedNanos;
        if (since < intervalNanos) {
            heldBack++;
            return false;
        }
        intervalNanos = since >= RESET_NANOS ? MIN_NANOS : Math.min(MAX_NANOS, 2 * intervalNanos);
        lastAcceptedNanos = nowNanos;
        return true;
    }
}
