package org.consultbridge.bridge.transport;

import java.util.concurrent.TimeUnit;

/**
 * ICE consent freshness (RFC 7675) of one transport's selected candidate pair, as the bridge sees it: whether the
 * remote peer still wants the media the bridge sends to that pair.
 *
 * <p>RFC 7675 §5.1 lets a sender keep sending for 30 s after the last proof of consent. A full ICE agent proves it
 * with Binding success responses to its own checks; the bridge is ICE-lite (RFC 8445 §2.5) and sends no checks, so
 * its proof is the peer's: an authenticated Binding request on the selected pair (browsers send one every few
 * seconds, RFC 7675 §5.1 asks for one every 4-6 s). mediasoup's ICE-lite server does the same
 * ({@code iceConsentTimeout}). A check from a newly selected pair grants consent to that pair (its check is the
 * proof); a check on another pair says nothing about the selected one (consent is per 5-tuple, §5.1).
 *
 * <p>Expiry is not final here: when checks come back on the pair (a short outage, a NAT that dropped packets for a
 * while) consent is granted again and media resumes, like mediasoup's transport going from {@code disconnected}
 * back to {@code completed}.
 *
 * <p>Plain fields, no allocation: owned by the bridge's event loop. The caller brings the time
 * ({@link System#nanoTime()} on the loop; any clock in tests).
 */
public final class ConsentFreshness {

    /** RFC 7675 §5.1: consent expires 30 s after the last check that proved it. */
    public static final long DEFAULT_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);
    /**
     * System property with the timeout in milliseconds (tests shorten it); read when a bridge starts. Production
     * keeps the RFC's 30 s: browsers check every 2.5-5 s, so 30 s rides out several lost checks.
     */
    public static final String TIMEOUT_PROPERTY = "consultbridge.bridge.consent-timeout-ms";

    private final long timeoutNanos;
    private long lastRefreshNanos;
    private boolean granted;
    private boolean expired;

    public ConsentFreshness(long timeoutNanos) {
        if (timeoutNanos <= 0) {
            throw new IllegalArgumentException("consent timeout must be positive: " + timeoutNanos + " ns");
        }
        this.timeoutNanos = timeoutNanos;
    }

    /** The timeout from {@link #TIMEOUT_PROPERTY}, or the RFC's 30 s when it is not set. */
    public static long configuredTimeoutNanos() {
        String v = System.getProperty(TIMEOUT_PROPERTY);
        if (v == null || v.isBlank()) {
            return DEFAULT_TIMEOUT_NANOS;
        }
        long millis;
        try {
            millis = Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(TIMEOUT_PROPERTY + " must be a number of milliseconds: " + v, e);
        }
        if (millis <= 0) {
            throw new IllegalArgumentException(TIMEOUT_PROPERTY + " must be positive: " + v);
        }
        return TimeUnit.MILLISECONDS.toNanos(millis);
    }

    /**
     * An authenticated Binding request on the selected pair, or the check that selected a new pair: consent is
     * fresh from {@code nowNanos}. Returns true when this ends an expiry (media may resume).
     */
    public boolean refresh(long nowNanos) {
        lastRefreshNanos = nowNanos;
        granted = true;
        boolean wasExpired = expired;
        expired = false;
        return wasExpired;
    }

    /**
     * Periodic check: returns true exactly once when consent runs out (more than the timeout since the last
     * refresh); from then on {@link #expired()} until the next {@link #refresh}.
     */
    public boolean expire(long nowNanos) {
        if (!granted || expired || nowNanos - lastRefreshNanos <= timeoutNanos) {
            return false;
        }
        expired = true;
        return true;
    }

    /** Consent ran out and no check has renewed it since: nothing may be sent to the pair. */
    public boolean expired() {
        return expired;
    }

    /** Consent was granted at least once (a pair was selected). */
    public boolean granted() {
        return granted;
    }

    /** When consent was last proved ({@link #refresh} time), 0 before. */
    public long lastRefreshNanos() {
        return lastRefreshNanos;
    }

    public long timeoutNanos() {
        return timeoutNanos;
    }
}
