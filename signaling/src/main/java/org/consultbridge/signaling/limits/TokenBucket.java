package org.consultbridge.signaling.limits;

/**
 * A token bucket: up to {@code burst} events at once, {@code ratePerSecond} on average. Not thread-safe: each owner
 * uses it from one thread at a time (a socket's messages arrive one by one) or under its own lock.
 */
final class TokenBucket {

    private final double ratePerNano;
    private final double burst;
    private double tokens;
    private long lastNanos;

    TokenBucket(double ratePerSecond, double burst, long nowNanos) {
        this.ratePerNano = ratePerSecond / 1e9;
        this.burst = burst;
        this.tokens = burst;
        this.lastNanos = nowNanos;
    }

    /** Takes one token; false when none is left (the event is over the limit). */
    boolean tryTake(long nowNanos) {
        refill(nowNanos);
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    /** Full again: nothing of this bucket's history matters any more (it may be forgotten). */
    boolean isFull(long nowNanos) {
        refill(nowNanos);
        return tokens >= burst;
    }

    /** Seconds until the next token. */
    double secondsUntilNext(long nowNanos) {
        refill(nowNanos);
        return tokens >= 1 ? 0 : (1 - tokens) / ratePerNano / 1e9;
    }

    private void refill(long nowNanos) {
        long elapsed = nowNanos - lastNanos;
        if (elapsed > 0) {
            tokens = Math.min(burst, tokens + elapsed * ratePerNano);
            lastNanos = nowNanos;
        }
    }
}
