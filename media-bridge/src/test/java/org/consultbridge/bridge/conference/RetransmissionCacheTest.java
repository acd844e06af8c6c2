package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The packet cache that answers receivers' NACKs with RTX (RFC 4588): what it holds, the misses (never stored,
 * overwritten by a slot's reuse 512 packets later, older than a second, too large), the 80 ms between two resends
 * of one packet (a duplicate NACK), and duplicates of packets it already has.
 */
class RetransmissionCacheTest {

    private static final long T0 = 1_000_000_000_000L;
    private static final long MS = 1_000_000L;
    private final RetransmissionCache cache = new RetransmissionCache(UnpooledByteBufAllocator.DEFAULT);

    @AfterEach
    void release() {
        cache.release();
    }

    /** An RTP-like packet whose bytes name its sequence number; {@code lead} bytes before the reader index. */
    private static ByteBuf packet(int seq, int size, int lead) {
        ByteBuf b = Unpooled.buffer(lead + size);
        b.writeZero(lead).readerIndex(lead);
        b.writeByte(0x80).writeByte(96).writeShort(seq);
        while (b.readableBytes() < size) {
            b.writeByte(seq + b.writerIndex());
        }
        return b;
    }

    @Test
    void aStoredPacketIsResentAsItCame() {
        ByteBuf original = packet(1234, 300, 7);
        cache.put(1234, original, T0);
        ByteBuf expected = original.copy();
        original.setByte(original.readerIndex() + 20, 0x55); // the caller reuses its buffer
        assertThat(cache.contains(1234)).isTrue();
        ByteBuf resent = cache.forResend(1234, T0 + 20 * MS);
        assertThat(resent).as("a copy of the readable bytes, taken at put").isEqualTo(expected);
    }

    @Test
    void aSequenceNumberNeverStoredIsAMiss() {
        cache.put(10, packet(10, 100, 0), T0);
        cache.put(12, packet(12, 100, 0), T0);
        assertThat(cache.contains(11)).isFalse();
        assertThat(cache.forResend(11, T0 + MS)).isNull();
        assertThat(cache.forResend(10 + RetransmissionCache.SIZE, T0 + MS)).as("same slot, other number").isNull();
        assertThat(cache.forResend(10, T0 + MS)).isNotNull();
    }

    @Test
    void aPacketOverwrittenBySlotReuseIsAMissAndItsBufferIsReleased() {
        cache.put(100, packet(100, 200, 0), T0);
        ByteBuf slot = cache.forResend(100, T0 + MS);
        assertThat(slot).isNotNull();
        int later = 100 + RetransmissionCache.SIZE;
        cache.put(later, packet(later, 250, 0), T0 + 500 * MS);
        assertThat(cache.contains(100)).isFalse();
        assertThat(cache.forResend(100, T0 + 600 * MS)).isNull();
        assertThat(slot.refCnt()).as("the overwritten copy went back to the pool").isZero();
        assertThat(cache.forResend(later, T0 + 600 * MS)).isEqualTo(packet(later, 250, 0));
    }

    @Test
    void sequenceNumbersWrapLikeAnyOther() {
        for (int i = 0; i < 20; i++) {
            int seq = (65530 + i) & 0xFFFF;
            cache.put(seq, packet(seq, 100, 0), T0 + i * MS);
        }
        assertThat(cache.forResend(65535, T0 + 30 * MS)).isEqualTo(packet(65535, 100, 0));
        assertThat(cache.forResend(0, T0 + 30 * MS)).isEqualTo(packet(0, 100, 0));
        cache.put(511, packet(511, 100, 0), T0 + 40 * MS); // 65535 + 512, wrapped: the same slot
        assertThat(cache.contains(65535)).isFalse();
        assertThat(cache.forResend(65535, T0 + 50 * MS)).isNull();
    }

    @Test
    void aPacketOlderThanASecondIsNotResentButStillKnown() {
        cache.put(7, packet(7, 100, 0), T0);
        assertThat(cache.forResend(7, T0 + 999 * MS)).isNotNull();
        cache.put(8, packet(8, 100, 0), T0);
        assertThat(cache.forResend(8, T0 + 1000 * MS)).as("useless to the receiver by now").isNull();
        assertThat(cache.contains(8)).as("until the next put or timer expires it, a late copy is a duplicate").isTrue();
    }

    @Test
    void packetsOlderThanASecondAreReleasedSoAnIdleStreamHoldsNothing() {
        cache.put(1, packet(1, 1000, 0), T0);
        ByteBuf first = cache.forResend(1, T0 + MS);
        cache.put(2, packet(2, 1000, 0), T0 + 500 * MS);
        assertThat(cache.bytes()).isEqualTo(2 * packet(1, 1000, 0).readableBytes());
        cache.expire(T0 + 1000 * MS);
        assertThat(first.refCnt()).as("released when a second old").isZero();
        assertThat(cache.contains(1)).isFalse();
        assertThat(cache.contains(2)).isTrue();
        cache.expire(T0 + 1500 * MS);
        assertThat(cache.bytes()).isZero();
        assertThat(cache.contains(2)).isFalse();
    }

    @Test
    void memoryIsBoundedInBytesWhateverTheBitrate() {
        // 400 full-size packets within 100 ms (a 48 Mbit/s burst): the oldest go first, the newest stay
        for (int i = 0; i < 400; i++) {
            cache.put(i, packet(i, 1400, 0), T0 + i * 250_000L);
        }
        assertThat(cache.bytes()).isLessThanOrEqualTo(RetransmissionCache.MAX_BYTES)
                .isGreaterThan(RetransmissionCache.MAX_BYTES - 1500);
        assertThat(cache.contains(0)).isFalse();
        assertThat(cache.forResend(399, T0 + 100 * MS)).isEqualTo(packet(399, 1400, 0));
    }

    @Test
    void onePacketIsResentAtMostEveryEightyMilliseconds() {
        cache.put(42, packet(42, 100, 0), T0);
        assertThat(cache.forResend(42, T0 + 10 * MS)).isNotNull();
        assertThat(cache.forResend(42, T0 + 10 * MS)).as("the same NACK twice in one compound").isNull();
        assertThat(cache.forResend(42, T0 + 89 * MS)).as("a duplicate NACK 79 ms later").isNull();
        assertThat(cache.forResend(42, T0 + 90 * MS)).as("80 ms later: the retransmission was lost too").isNotNull();
        assertThat(cache.forResend(42, T0 + 100 * MS)).isNull();
        assertThat(cache.forResend(43, T0 + 100 * MS)).as("never stored").isNull();
    }

    @Test
    void aPacketStoredAgainAfterItsSlotWasReusedCanBeResentAtOnce() {
        cache.put(5, packet(5, 100, 0), T0);
        assertThat(cache.forResend(5, T0 + MS)).isNotNull();
        cache.put(5 + RetransmissionCache.SIZE, packet(5 + RetransmissionCache.SIZE, 100, 0), T0 + 2 * MS);
        assertThat(cache.forResend(5 + RetransmissionCache.SIZE, T0 + 3 * MS))
                .as("the slot's resend time belongs to the packet it held before").isNotNull();
    }

    @Test
    void aDuplicateOfAStoredPacketIsRecognised() {
        // the sender's RTX answer to the bridge's own NACK arrives after the original came late after all:
        // Endpoint.onMedia drops what the cache already holds instead of forwarding it twice
        cache.put(300, packet(300, 100, 0), T0);
        assertThat(cache.contains(300)).isTrue();
        assertThat(cache.contains(301)).isFalse();
    }

    @Test
    void aPacketLargerThanASlotIsNotKept() {
        cache.put(9, packet(9, 1501, 0), T0);
        assertThat(cache.contains(9)).isFalse();
        assertThat(cache.forResend(9, T0 + MS)).isNull();
        cache.put(10, packet(10, 1500, 0), T0);
        assertThat(cache.forResend(10, T0 + MS)).isNotNull();
    }

    @Test
    void releaseFreesEverySlot() {
        RetransmissionCache other = new RetransmissionCache(UnpooledByteBufAllocator.DEFAULT);
        other.put(1, packet(1, 100, 0), T0);
        ByteBuf slot = other.forResend(1, T0 + MS);
        other.release();
        assertThat(slot.refCnt()).isZero();
    }
}
