package org.consultbridge.signaling.limits;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per client address: a token bucket of joins and the count of open WebSockets. Memory is bounded whatever the
 * addresses: join buckets live in a map of at most {@code trackedAddresses} entries in least-recently-used order,
 * the oldest forgotten first (forgetting a bucket only forgives that address its past joins); socket counts exist
 * only while sockets are open, and open connections are capped as a whole. One lock; a few operations per join
 * or socket, never per message.
 */
final class AddressLimiter {

    private final LimitSettings settings;
    private final LinkedHashMap<InetAddress, TokenBucket> joins;
    private final Map<InetAddress, Integer> sockets = new HashMap<>();

    AddressLimiter(LimitSettings settings) {
        this.settings = settings;
        this.joins = new LinkedHashMap<>(16, 0.75f, true);
    }

    boolean exempt(InetAddress a) {
        return a == null || settings.exemptAddresses().contains(a);
    }

    /** One socket more for {@code a}; false (and nothing counted) when it has its maximum open. */
    synchronized boolean openSocket(InetAddress a) {
        if (exempt(a)) {
            return true;
        }
        int n = sockets.getOrDefault(a, 0);
        if (n >= settings.socketsPerAddress()) {
            return false;
        }
        sockets.put(a, n + 1);
        return true;
    }

    synchronized void closeSocket(InetAddress a) {
        if (exempt(a)) {
            return;
        }
        sockets.computeIfPresent(a, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** A join attempt from {@code a}: false when over its join rate. */
    synchronized boolean tryJoin(InetAddress a, long nowNanos) {
        if (exempt(a)) {
            return true;
        }
        TokenBucket b = joins.get(a);
        if (b == null) {
            evict(nowNanos);
            b = new TokenBucket(settings.joinsPerMinute() / 60.0, settings.joinBurst(), nowNanos);
            joins.put(a, b);
        }
        return b.tryTake(nowNanos);
    }

    /** Seconds until {@code a} may join again (for the error message). */
    synchronized long retryAfterSeconds(InetAddress a, long nowNanos) {
        TokenBucket b = joins.get(a);
        return b == null ? 0 : (long) Math.ceil(b.secondsUntilNext(nowNanos));
    }

    /** Makes room for one entry: full buckets (nothing to remember) go first, then the least recently used. */
    private void evict(long nowNanos) {
        if (joins.size() < settings.trackedAddresses()) {
            return;
        }
        int scanned = 0;
        for (Iterator<TokenBucket> it = joins.values().iterator(); it.hasNext() && scanned < 16; scanned++) {
            if (it.next().isFull(nowNanos)) {
                it.remove();
            }
        }
        Iterator<TokenBucket> it = joins.values().iterator();
        while (joins.size() >= settings.trackedAddresses() && it.hasNext()) {
            it.next();
            it.remove();
        }
    }

    synchronized int trackedAddresses() {
        return joins.size();
    }

    synchronized int addressesWithSockets() {
        return sockets.size();
    }
}
