package org.consultbridge.bridge.netem;

import java.util.random.RandomGenerator;

/**
 * One direction of an emulated link: decides for each packet whether it is lost and when it arrives. Rate as a
 * serialising bottleneck with a bounded queue (tail drop, like a router's buffer or tc tbf), then propagation
 * delay and jitter (delivery order kept, as on one path), loss random or in bursts (Gilbert-Elliott: the mean
 * burst length and the overall loss rate give the two transition probabilities). Not thread-safe: one caller.
 */
public final class LinkShaper {

    /** Returned by {@link #deliveryTime} for a dropped packet. */
    public static final long DROPPED = Long.MIN_VALUE;

    private final RandomGenerator random;
    private volatile LinkProfile profile;
    private long linkFreeAt;
    private long lastDelivery;
    private boolean inBurst;
    private long dropped;
    private long queueDropped;
    private long passed;

    public LinkShaper(LinkProfile profile, RandomGenerator random) {
        this.profile = profile;
        this.random = random;
    }

    /** Changes the link from the next packet on (a link that gets better or worse during a call). */
    public void setProfile(LinkProfile p) {
        this.profile = p;
    }

    public LinkProfile profile() {
        return profile;
    }

    /** When a packet of {@code bytes} (IP packet size) sent at {@code nowNanos} arrives, or {@link #DROPPED}. */
    public long deliveryTime(int bytes, long nowNanos) {
        LinkProfile p = profile;
        if (lost(p)) {
            dropped++;
            return DROPPED;
        }
        long t = nowNanos;
        if (p.rateKbps() > 0) {
            long start = Math.max(nowNanos, linkFreeAt);
            if (start - nowNanos > p.queueMillis() * 1_000_000L) {
                dropped++;
                queueDropped++;
                return DROPPED; // the queue is full
            }
            linkFreeAt = start + bytes * 8L * 1_000_000L / p.rateKbps();
            t = linkFreeAt;
        }
        t += p.delayMillis() * 1_000_000L;
        if (p.jitterMillis() > 0) {
            t += (long) (random.nextDouble() * p.jitterMillis() * 1_000_000L);
        }
        t = Math.max(t, lastDelivery);
        lastDelivery = t;
        passed++;
        return t;
    }

    private boolean lost(LinkProfile p) {
        double loss = p.lossPercent() / 100.0;
        if (loss <= 0) {
            return false;
        }
        if (p.burstLength() <= 1) {
            return random.nextDouble() < loss;
        }
        // Gilbert-Elliott with a lossless good state and an all-loss bad state: leave the bad state with 1/burst,
        // enter it so that the stationary share of the bad state equals the loss rate.
        double leave = 1.0 / p.burstLength();
        double enter = leave * loss / (1 - loss);
        inBurst = inBurst ? random.nextDouble() >= leave : random.nextDouble() < enter;
        return inBurst;
    }

    public long dropped() {
        return dropped;
    }

    /** Of {@link #dropped()}, those dropped because the bottleneck's queue was full (the rest: random loss). */
    public long queueDropped() {
        return queueDropped;
    }

    public long passed() {
        return passed;
    }
}
