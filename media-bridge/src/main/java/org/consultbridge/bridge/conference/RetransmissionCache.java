package org.consultbridge.bridge.conference;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The last packets of one video stream that were forwarded, kept so that receivers' NACKs can be answered with RTX
 * (RFC 4588) without asking the sender: on a lossy rural downlink the repair then costs one bridge-to-receiver round
 * trip instead of a round trip to the sender. Owned by the bridge's event loop.
 *
 * <p>Bounded in bytes and in time, not in slots: each packet is copied into a pooled buffer of its own size and
 * released once it is older than {@link #MAX_AGE_NANOS} (a receiver's NACK comes within an RTT, and a packet a
 * second late is useless to a jitter buffer) or when the stream holds more than {@link #MAX_BYTES}. A simulcast
 * layer nobody receives is not kept at all (the caller puts only packets it forwarded). Before, every stream kept
 * 512 slots of 1500 bytes for ever: 40 publishers with three layers held ~120 MiB of heap.
 */
final class RetransmissionCache {

    /** Slots indexed by sequence number: 512 packets is about two seconds of 2.5 Mbit/s video. */
    static final int SIZE = 512;
    private static final int MASK = SIZE - 1;
    static final long MAX_AGE_NANOS = 1_000_000_000L;
    /** At most this many bytes per stream: one second of 3 Mbit/s video. */
    static final int MAX_BYTES = 384 * 1024;
    /** A packet is sent again at most this often, however many NACKs ask for it. */
    private static final long RESEND_INTERVAL_NANOS = 80_000_000L;
    private static final int MAX_PACKET = 1500;

    private final ByteBufAllocator alloc;
    private final ByteBuf[] slots = new ByteBuf[SIZE];
    private final int[] seqs = new int[SIZE];
    private final long[] arrival = new long[SIZE];
    private final long[] lastResent = new long[SIZE];
    /** Which put filled a slot: the insertion ring below refers to entries by it, so overwritten ones are skipped. */
    private final long[] putNumber = new long[SIZE];
    /** Slots in the order they were filled (a ring of {@link #SIZE}), from {@link #oldest} to {@link #puts}. */
    private final int[] orderSlot = new int[SIZE];
    private final long[] orderPut = new long[SIZE];
    private long puts;
    private long oldest;
    private int bytes;

    RetransmissionCache(ByteBufAllocator alloc) {
        this.alloc = alloc;
        java.util.Arrays.fill(seqs, -1);
    }

    /** Keeps a copy of a decrypted RTP packet (readable bytes). */
    void put(int seq, ByteBuf packet, long nowNanos) {
        int n = packet.readableBytes();
        if (n > MAX_PACKET) {
            return;
        }
        expire(nowNanos);
        if (puts - oldest == SIZE) {
            evictOldest();
        }
        int i = seq & MASK;
        if (slots[i] != null) {
            free(i);
        }
        ByteBuf copy = alloc.heapBuffer(n, n);
        copy.writeBytes(packet, packet.readerIndex(), n);
        slots[i] = copy;
        seqs[i] = seq;
        arrival[i] = nowNanos;
        lastResent[i] = 0;
        putNumber[i] = puts;
        int k = (int) (puts & MASK);
        orderSlot[k] = i;
        orderPut[k] = puts;
        puts++;
        bytes += n;
        while (bytes > MAX_BYTES) {
            evictOldest();
        }
    }

    /**
     * Whether the packet with {@code seq} is here: a retransmission of it (the sender's NACK answer, or libwebrtc's
     * probing with old packets on RTX) must not be forwarded a second time.
     */
    boolean contains(int seq) {
        int i = seq & MASK;
        return seqs[i] == seq && slots[i] != null;
    }

    /** The cached packet for {@code seq} if it is fresh and was not just resent; null otherwise. */
    ByteBuf forResend(int seq, long nowNanos) {
        int i = seq & MASK;
        if (seqs[i] != seq || slots[i] == null || nowNanos - arrival[i] >= MAX_AGE_NANOS
                || (lastResent[i] != 0 && nowNanos - lastResent[i] < RESEND_INTERVAL_NANOS)) {
            return null;
        }
        lastResent[i] = nowNanos;
        return slots[i];
    }

    /** Bytes held (tests, statistics). */
    int bytes() {
        return bytes;
    }

    /** Releases what has grown too old; the caller's timer calls it too, so an idle stream holds nothing. */
    void expire(long nowNanos) {
        while (oldest < puts) {
            int k = (int) (oldest & MASK);
            int i = orderSlot[k];
            if (slots[i] != null && putNumber[i] == orderPut[k]) {
                if (nowNanos - arrival[i] < MAX_AGE_NANOS) {
                    return;
                }
                free(i);
            }
            oldest++;
        }
    }

    private void evictOldest() {
        int k = (int) (oldest & MASK);
        int i = orderSlot[k];
        if (slots[i] != null && putNumber[i] == orderPut[k]) {
            free(i);
        }
        oldest++;
    }

    private void free(int i) {
        bytes -= slots[i].readableBytes();
        slots[i].release();
        slots[i] = null;
        seqs[i] = -1;
    }

    void release() {
        for (int i = 0; i < SIZE; i++) {
            if (slots[i] != null) {
                free(i);
            }
        }
        oldest = puts;
    }
}
