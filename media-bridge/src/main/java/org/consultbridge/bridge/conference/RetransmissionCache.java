package org.consultbridge.bridge.conference;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The last packets of one video producer, kept so that receivers' NACKs can be answered with RTX (RFC 4588) without
 * asking the sender: on a lossy rural downlink the repair then costs one bridge-to-receiver round trip instead of
 * a round trip to the sender. A ring indexed by sequence number; slot buffers are allocated once and reused, so the
 * packet path does not allocate. Owned by the bridge's event loop.
 */
final class RetransmissionCache {

    /** Enough for about a second of 2.5 Mbit/s video; older packets are useless to a receiver anyway. */
    static final int SIZE = 512;
    private static final long MAX_AGE_NANOS = 1_000_000_000L;
    /** A packet is sent again at most this often, however many NACKs ask for it. */
    private static final long RESEND_INTERVAL_NANOS = 80_000_000L;
    private static final int SLOT_CAPACITY = 1500;

    private final ByteBufAllocator alloc;
    private final ByteBuf[] slots = new ByteBuf[SIZE];
    private final int[] seqs = new int[SIZE];
    private final long[] arrival = new long[SIZE];
    private final long[] lastResent = new long[SIZE];

    RetransmissionCache(ByteBufAllocator alloc) {
        this.alloc = alloc;
        java.util.Arrays.fill(seqs, -1);
    }

    /** Keeps a copy of a decrypted RTP packet (readable bytes). */
    void put(int seq, ByteBuf packet, long nowNanos) {
        int n = packet.readableBytes();
        if (n > SLOT_CAPACITY) {
            return;
        }
        int i = seq & (SIZE - 1);
        ByteBuf slot = slots[i];
        if (slot == null) {
            slot = alloc.heapBuffer(SLOT_CAPACITY, SLOT_CAPACITY);
            slots[i] = slot;
        }
        slot.clear();
        slot.writeBytes(packet, packet.readerIndex(), n);
        seqs[i] = seq;
        arrival[i] = nowNanos;
        lastResent[i] = 0;
    }

    /**
     * Whether the packet with {@code seq} is here, however old: a retransmission of it (the sender's NACK answer, or
     * libwebrtc's probing with old packets on RTX) must not be forwarded a second time.
     */
    boolean contains(int seq) {
        return seqs[seq & (SIZE - 1)] == seq;
    }

    /** The cached packet for {@code seq} if it is fresh and was not just resent; null otherwise. */
    ByteBuf forResend(int seq, long nowNanos) {
        int i = seq & (SIZE - 1);
        if (seqs[i] != seq || nowNanos - arrival[i] >= MAX_AGE_NANOS
                || (lastResent[i] != 0 && nowNanos - lastResent[i] < RESEND_INTERVAL_NANOS)) {
            return null;
        }
        lastResent[i] = nowNanos;
        return slots[i];
    }

    void release() {
        for (int i = 0; i < SIZE; i++) {
            if (slots[i] != null) {
                slots[i].release();
                slots[i] = null;
            }
        }
    }
}
