package org.consultbridge.loadtest;

import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;

/**
 * Datagrams held back by an emulated link until their delivery time, in delivery order (a {@link
 * org.consultbridge.bridge.netem.LinkShaper} never reorders). A ring that grows by doubling up to a bound, so a
 * steady flow costs no allocation; beyond the bound datagrams are dropped (and counted by the caller). One event
 * loop only. Written by hand: a queue of (buffer, time, address) without boxing is a few lines, no library has it.
 */
final class DelayLine {

    static final int MAX = 1 << 14;
    private ByteBuf[] bufs = new ByteBuf[64];
    private long[] times = new long[64];
    private InetSocketAddress[] addresses = new InetSocketAddress[64];
    private int head;
    private int size;

    /** Takes ownership of {@code b}; false (and {@code b} released) when the line is full. */
    boolean add(ByteBuf b, long deliveryNanos, InetSocketAddress address) {
        if (size == bufs.length) {
            if (size >= MAX) {
                b.release();
                return false;
            }
            grow();
        }
        int i = (head + size) & (bufs.length - 1);
        bufs[i] = b;
        times[i] = deliveryNanos;
        addresses[i] = address;
        size++;
        return true;
    }

    private void grow() {
        int n = bufs.length;
        ByteBuf[] b = new ByteBuf[n * 2];
        long[] t = new long[n * 2];
        InetSocketAddress[] a = new InetSocketAddress[n * 2];
        for (int k = 0; k < size; k++) {
            int i = (head + k) & (n - 1);
            b[k] = bufs[i];
            t[k] = times[i];
            a[k] = addresses[i];
        }
        bufs = b;
        times = t;
        addresses = a;
        head = 0;
    }

    /** True when the oldest datagram is due at {@code nowNanos}. */
    boolean due(long nowNanos) {
        return size > 0 && times[head] - nowNanos <= 0;
    }

    /** The address stored with the oldest datagram (read before {@link #poll}). */
    InetSocketAddress peekAddress() {
        return addresses[head];
    }

    /** Removes and returns the oldest datagram (ownership passes to the caller). */
    ByteBuf poll() {
        ByteBuf b = bufs[head];
        bufs[head] = null;
        addresses[head] = null;
        head = (head + 1) & (bufs.length - 1);
        size--;
        return b;
    }

    int size() {
        return size;
    }

    /** Releases everything still held (the peer closes). */
    void clear() {
        while (size > 0) {
            poll().release();
        }
    }
}
