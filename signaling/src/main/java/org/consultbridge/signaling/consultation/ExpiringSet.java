package org.consultbridge.signaling.consultation;

import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * A bounded set of names that each stay in it until their own expiry: the ids of used one-time tokens (until the
 * token's {@code exp}, after which the token is refused as expired anyway) and of ended consultations.
 *
 * <p>Bounded so that nothing from the network grows it without limit: when full after dropping what expired, the
 * entry that expires soonest makes room (and {@link #evictions()} counts it). Size the capacity above the number
 * of tokens used within one token lifetime. Operations are O(log n) and synchronized: joins and leaves are rare.
 */
public final class ExpiringSet {

    private record Entry(String name, Instant expiresAt) {
    }

    private final int capacity;
    private final Clock clock;
    private final Map<String, Entry> byName = new HashMap<>();
    private final PriorityQueue<Entry> byExpiry = new PriorityQueue<>((a, b) -> a.expiresAt.compareTo(b.expiresAt));
    private long evictions;

    public ExpiringSet(int capacity, Clock clock) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive");
        }
        this.capacity = capacity;
        this.clock = clock;
    }

    /** Adds {@code name} until {@code expiresAt} (a later expiry of the same name wins). */
    public synchronized void add(String name, Instant expiresAt) {
        Instant now = clock.instant();
        purge(now);
        if (!expiresAt.isAfter(now)) {
            return;
        }
        Entry old = byName.get(name);
        if (old != null) {
            if (!expiresAt.isAfter(old.expiresAt)) {
                return;
            }
            byExpiry.remove(old);
        } else if (byName.size() >= capacity) {
            Entry soonest = byExpiry.poll();
            byName.remove(soonest.name);
            evictions++;
        }
        Entry e = new Entry(name, expiresAt);
        byName.put(name, e);
        byExpiry.add(e);
    }

    public synchronized boolean contains(String name) {
        Entry e = byName.get(name);
        return e != null && e.expiresAt.isAfter(clock.instant());
    }

    public synchronized int size() {
        purge(clock.instant());
        return byName.size();
    }

    /** Entries dropped before their expiry because the set was full. */
    public synchronized long evictions() {
        return evictions;
    }

    private void purge(Instant now) {
        while (!byExpiry.isEmpty() && !byExpiry.peek().expiresAt.isAfter(now)) {
            byName.remove(byExpiry.poll().name);
        }
    }
}
