package org.consultbridge.bridge.cc;

import io.netty.buffer.ByteBuf;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.consultbridge.bridge.rtp.RtpPacket;

/**
 * Transport-wide congestion control feedback, RTPFB (PT 205) FMT 15, draft-holmer-rmcat-transport-wide-cc-extensions-01
 * §3.1. Parsing is static and allocation-free; writing needs a small amount of state for the chunk encoder, so it
 * lives in a reusable {@link Writer} (one per receiver, allocated once).
 *
 * <pre>
 * |V=2|P| FMT=15 | PT=205 | length | sender SSRC | media SSRC |
 * | base sequence number | packet status count | reference time (24) | fb pkt count (8) |
 * | packet status chunks (16 bit each) ... | recv deltas (8 or 16 bit) ... | padding |
 * </pre>
 */
public final class TransportCcFeedback {

    public static final int FMT = 15;
    /** §3.1: receive deltas are in multiples of 250 µs. */
    public static final long DELTA_TICK_US = 250;
    /** §3.1: the reference time is in multiples of 64 ms. */
    public static final long REFERENCE_TICK_US = 64_000;
    /** 2^24 reference ticks: the period after which the 24-bit reference time wraps, in µs. */
    public static final long REFERENCE_WRAP_US = (1L << 24) * REFERENCE_TICK_US;
    /** Marks a sequence number as not received in {@link Arrivals}. */
    public static final long NOT_RECEIVED = Long.MIN_VALUE;
    /** A size limit that keeps a feedback packet inside one datagram with SRTCP overhead. */
    public static final int DEFAULT_MAX_PACKET_BYTES = 1200;

    static final int HEADER_BYTES = 20;
    static final int SYMBOL_NOT_RECEIVED = 0;
    static final int SYMBOL_SMALL_DELTA = 1;
    static final int SYMBOL_LARGE_DELTA = 2;
    static final int MAX_RUN_LENGTH = 0x1FFF;
    static final int MAX_STATUS_COUNT = 0xFFFF;

    private TransportCcFeedback() {
    }

    /** Whether the RTCP packet at {@code off} is a transport-cc feedback (RTPFB, FMT 15). */
    public static boolean isTransportCc(ByteBuf b, int off) {
        return off + 4 <= b.writerIndex() && RtcpPacket.packetType(b, off) == RtcpPacket.RTPFB
                && RtcpPacket.fmt(b, off) == FMT;
    }

    /**
     * The 16-bit transport-wide sequence number of an RTP packet (draft-holmer-rmcat-transport-wide-cc-extensions-01
     * §2: a 2-byte big-endian value in the header extension), or -1 when absent.
     */
    public static int readSequenceNumber(ByteBuf rtp, int extensionId) {
        int at = RtpPacket.findExtension(rtp, extensionId);
        if (at < 0 || RtpPacket.extensionLength(rtp, extensionId) != 2) {
            return -1;
        }
        return rtp.getUnsignedShort(at);
    }

    /** Overwrites the transport-wide sequence number in place; false when the packet has no such 2-byte element. */
    public static boolean writeSequenceNumber(ByteBuf rtp, int extensionId, int seq) {
        int at = RtpPacket.findExtension(rtp, extensionId);
        if (at < 0 || RtpPacket.extensionLength(rtp, extensionId) != 2) {
            return false;
        }
        rtp.setShort(at, seq);
        return true;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Parsing

    /** What a parsed feedback packet reports. Called only for packets that passed validation. */
    public interface Visitor {
        /**
         * Once per packet, before its statuses. {@code referenceTime} is the unsigned 24-bit field (64 ms units,
         * wrapping); {@code feedbackCount} the 8-bit feedback packet count.
         */
        void onHeader(long senderSsrc, long mediaSsrc, int baseSeq, int statusCount, int referenceTime,
                      int feedbackCount);

        /**
         * Once per covered sequence number, in order. {@code arrivalUs} is the arrival time relative to the reference
         * time (reference time × 64 ms + sum of deltas so far), meaningful only when {@code received}.
         */
        void onStatus(int seq, boolean received, long arrivalUs);
    }

    /**
     * Validates the transport-cc feedback packet at absolute index {@code off} (bounded by the buffer's writer index)
     * and, only if it is well formed, reports it to {@code v}. Never throws on bad input, never allocates.
     *
     * @return false when the packet is not a transport-cc feedback or is malformed (then {@code v} saw nothing)
     */
    public static boolean parse(ByteBuf b, int off, Visitor v) {
        int end = validate(b, off);
        if (end < 0) {
            return false;
        }
        int baseSeq = b.getUnsignedShort(off + 12);
        int statusCount = b.getUnsignedShort(off + 14);
        int refTime = b.getUnsignedMedium(off + 16);
        v.onHeader(b.getUnsignedInt(off + 4), b.getUnsignedInt(off + 8), baseSeq, statusCount, refTime,
                b.getUnsignedByte(off + 19));
        // Second walk: chunks were validated, so no bound checks are needed beyond what validate() proved.
        int chunkPos = off + HEADER_BYTES;
        int nChunks = chunkCount(b, chunkPos, statusCount);
        int deltaPos = chunkPos + 2 * nChunks;
        long ticks = 0;
        int seq = baseSeq;
        int remaining = statusCount;
        while (remaining > 0) {
            int chunk = b.getUnsignedShort(chunkPos);
            chunkPos += 2;
            int n = Math.min(symbolsInChunk(chunk), remaining);
            for (int i = 0; i < n; i++) {
                int symbol = symbolAt(chunk, i);
                if (symbol == SYMBOL_SMALL_DELTA) {
                    ticks += b.getUnsignedByte(deltaPos++);
                    v.onStatus(seq, true, ticks * DELTA_TICK_US);
                } else if (symbol == SYMBOL_LARGE_DELTA) {
                    ticks += b.getShort(deltaPos);
                    deltaPos += 2;
                    v.onStatus(seq, true, ticks * DELTA_TICK_US);
                } else {
                    v.onStatus(seq, false, 0);
                }
                seq = (seq + 1) & 0xFFFF;
            }
            remaining -= n;
        }
        return true;
    }

    /** The reference time of a packet known to be valid, in µs (24-bit field × 64 ms, not unwrapped). */
    public static long referenceTimeUs(ByteBuf b, int off) {
        return b.getUnsignedMedium(off + 16) * REFERENCE_TICK_US;
    }

    /** -1 when malformed, else the end of the payload (before padding). */
    static int validate(ByteBuf b, int off) {
        int limit = b.writerIndex();
        if (off < 0 || off + 4 > limit || (b.getUnsignedByte(off) >> 6) != 2 || !isTransportCc(b, off)) {
            return -1;
        }
        int len = RtcpPacket.lengthBytes(b, off);
        if (off + len > limit || len < HEADER_BYTES) {
            return -1;
        }
        int end = off + len;
        if ((b.getUnsignedByte(off) & 0x20) != 0) { // RFC 3550 §6.4.1: the last octet counts the padding
            int pad = b.getUnsignedByte(end - 1);
            if (pad > len - HEADER_BYTES) {
                return -1;
            }
            end -= pad; // a count of 0 (P set, no padding: pion's marshal output) is tolerated as no padding
        }
        int statusCount = b.getUnsignedShort(off + 14);
        int pos = off + HEADER_BYTES;
        int remaining = statusCount;
        int deltaBytes = 0;
        while (remaining > 0) {
            if (pos + 2 > end) {
                return -1;
            }
            int chunk = b.getUnsignedShort(pos);
            pos += 2;
            int n = Math.min(symbolsInChunk(chunk), remaining);
            if ((chunk & 0x8000) == 0) { // run-length: one symbol repeated
                int symbol = (chunk >> 13) & 3;
                if (symbol == 3) {
                    return -1;
                }
                deltaBytes += symbol * n;
            } else {
                for (int i = 0; i < n; i++) {
                    int symbol = symbolAt(chunk, i);
                    if (symbol == 3) {
                        return -1;
                    }
                    deltaBytes += symbol;
                }
            }
            remaining -= n;
        }
        return pos + deltaBytes <= end ? end : -1;
    }

    private static int chunkCount(ByteBuf b, int pos, int statusCount) {
        int chunks = 0;
        int remaining = statusCount;
        while (remaining > 0) {
            remaining -= Math.min(symbolsInChunk(b.getUnsignedShort(pos)), remaining);
            pos += 2;
            chunks++;
        }
        return chunks;
    }

    /** §3.1.3 run length (13 bits), §3.1.4 status vector: 14 one-bit or 7 two-bit symbols. */
    static int symbolsInChunk(int chunk) {
        if ((chunk & 0x8000) == 0) {
            return chunk & MAX_RUN_LENGTH;
        }
        return (chunk & 0x4000) == 0 ? 14 : 7;
    }

    /** The i-th symbol of a chunk; 1-bit symbols map 0 → not received, 1 → received with a small delta. */
    static int symbolAt(int chunk, int i) {
        if ((chunk & 0x8000) == 0) {
            return (chunk >> 13) & 3;
        }
        if ((chunk & 0x4000) == 0) {
            return (chunk >> (13 - i)) & 1;
        }
        return (chunk >> (12 - 2 * i)) & 3;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Writing

    /** Arrival times of consecutive (unwrapped) sequence numbers, in µs, or {@link #NOT_RECEIVED}. */
    @FunctionalInterface
    public interface Arrivals {
        long arrivalUs(long seq);
    }

    /**
     * Encodes feedback packets. Keeps only the pending chunk (at most 14 symbols); reusable, not thread-safe.
     * Chunk choice: a run of one symbol becomes a run-length chunk (§3.1.3); mixed symbols become a one-bit status
     * vector (14 symbols, §3.1.4) unless a large delta occurs, then a two-bit vector (7 symbols).
     */
    public static final class Writer {

        private final int[] pending = new int[14];
        private int size;
        private boolean allSame;
        private boolean hasLarge;
        private int chunksEmitted;
        private ByteBuf out; // null while only counting

        /**
         * Writes one feedback packet at {@code dst}'s writer index covering as many of the {@code count} sequence
         * numbers from {@code fromSeq} as fit: it stops early when a receive delta does not fit in 16 bits (the next
         * packet starts a new reference time) or the packet would exceed {@code maxBytes}.
         *
         * @return how many sequence numbers the packet covers (0 only when {@code count} is 0); bytes written are
         *         the change of {@code dst}'s writer index
         */
        public int write(ByteBuf dst, long senderSsrc, long mediaSsrc, int feedbackCount, long fromSeq, int count,
                         Arrivals arrivals, int maxBytes) {
            if (count <= 0) {
                return 0;
            }
            count = Math.min(count, MAX_STATUS_COUNT);
            long firstUs = NOT_RECEIVED;
            for (int i = 0; i < count && firstUs == NOT_RECEIVED; i++) {
                firstUs = arrivals.arrivalUs(fromSeq + i);
            }
            long refTicks = firstUs == NOT_RECEIVED ? 0 : Math.floorDiv(firstUs, REFERENCE_TICK_US);
            long ticksPerRef = REFERENCE_TICK_US / DELTA_TICK_US; // 256

            // Pass 1: how many statuses fit, counting chunks exactly.
            int limit = maxBytes & ~3;
            reset(null);
            long prevTick = refTicks * ticksPerRef;
            int deltaBytes = 0;
            int n = 0;
            for (; n < count; n++) {
                long us = arrivals.arrivalUs(fromSeq + n);
                int symbol = SYMBOL_NOT_RECEIVED;
                long tick = prevTick;
                if (us != NOT_RECEIVED) {
                    tick = Math.floorDiv(us, DELTA_TICK_US);
                    long delta = tick - prevTick;
                    if (delta < Short.MIN_VALUE || delta > Short.MAX_VALUE) {
                        break; // §3.1.5: not representable, start a new feedback packet
                    }
                    symbol = delta >= 0 && delta <= 0xFF ? SYMBOL_SMALL_DELTA : SYMBOL_LARGE_DELTA;
                }
                // Worst case the symbol closes the pending chunk and opens another one.
                if (n > 0 && HEADER_BYTES + 2 * (chunksEmitted + 2) + deltaBytes + symbol > limit) {
                    break;
                }
                add(symbol);
                deltaBytes += symbol;
                prevTick = tick;
            }
            finish();
            int chunks = chunksEmitted;
            int raw = HEADER_BYTES + 2 * chunks + deltaBytes;
            int padding = (4 - (raw & 3)) & 3;

            // Pass 2: header and chunks, then pass 3: deltas. Same inputs, same encoder decisions.
            int len = raw + padding;
            dst.ensureWritable(len);
            dst.writeByte(0x80 | (padding > 0 ? 0x20 : 0) | FMT);
            dst.writeByte(RtcpPacket.RTPFB);
            dst.writeShort(len / 4 - 1);
            dst.writeInt((int) senderSsrc);
            dst.writeInt((int) mediaSsrc);
            dst.writeShort((int) fromSeq);
            dst.writeShort(n);
            dst.writeMedium((int) (refTicks & 0xFFFFFF));
            dst.writeByte(feedbackCount);
            reset(dst);
            prevTick = refTicks * ticksPerRef;
            for (int i = 0; i < n; i++) {
                long us = arrivals.arrivalUs(fromSeq + i);
                int symbol = SYMBOL_NOT_RECEIVED;
                if (us != NOT_RECEIVED) {
                    long tick = Math.floorDiv(us, DELTA_TICK_US);
                    long delta = tick - prevTick;
                    symbol = delta >= 0 && delta <= 0xFF ? SYMBOL_SMALL_DELTA : SYMBOL_LARGE_DELTA;
                    prevTick = tick;
                }
                add(symbol);
            }
            finish();
            out = null;
            prevTick = refTicks * ticksPerRef;
            for (int i = 0; i < n; i++) {
                long us = arrivals.arrivalUs(fromSeq + i);
                if (us != NOT_RECEIVED) {
                    long tick = Math.floorDiv(us, DELTA_TICK_US);
                    long delta = tick - prevTick;
                    if (delta >= 0 && delta <= 0xFF) {
                        dst.writeByte((int) delta);
                    } else {
                        dst.writeShort((int) delta);
                    }
                    prevTick = tick;
                }
            }
            if (padding > 0) { // libwebrtc style: zeros, then the padding count, with the P bit set
                dst.writeZero(padding - 1);
                dst.writeByte(padding);
            }
            return n;
        }

        private void reset(ByteBuf dst) {
            out = dst;
            size = 0;
            allSame = true;
            hasLarge = false;
            chunksEmitted = 0;
        }

        private void add(int symbol) {
            if (!canAdd(symbol)) {
                emit();
            }
            if (size < pending.length) {
                pending[size] = symbol;
            }
            if (size > 0 && symbol != pending[0]) {
                allSame = false;
            }
            hasLarge |= symbol == SYMBOL_LARGE_DELTA;
            size++;
        }

        private boolean canAdd(int symbol) {
            if (size == 0) {
                return true;
            }
            if (allSame && symbol == pending[0]) {
                return size < MAX_RUN_LENGTH;
            }
            if (size < 7) {
                return true;
            }
            return size < 14 && !hasLarge && symbol != SYMBOL_LARGE_DELTA;
        }

        /** Emits a full chunk; afterwards at most 6 symbols are pending, so any symbol can be added. */
        private void emit() {
            if (allSame) {
                runLength(pending[0], size);
                size = 0;
            } else if (!hasLarge && size == 14) {
                oneBitVector(14);
                size = 0;
            } else {
                twoBitVector(7);
                int left = size - 7;
                System.arraycopy(pending, 7, pending, 0, left);
                size = left;
            }
            allSame = true;
            hasLarge = false;
            for (int i = 0; i < size; i++) {
                allSame &= pending[i] == pending[0];
                hasLarge |= pending[i] == SYMBOL_LARGE_DELTA;
            }
        }

        /** The last chunk may be partly filled: symbols past the status count are ignored by readers. */
        private void finish() {
            if (size == 0) {
                return;
            }
            if (allSame) {
                runLength(pending[0], size);
            } else if (!hasLarge && size > 7) {
                oneBitVector(size);
            } else {
                twoBitVector(size);
            }
            size = 0;
        }

        private void runLength(int symbol, int length) { // §3.1.3
            chunk((symbol << 13) | length);
        }

        private void oneBitVector(int n) { // §3.1.4, S = 0
            int c = 0x8000;
            for (int i = 0; i < n; i++) {
                c |= (pending[i] & 1) << (13 - i);
            }
            chunk(c);
        }

        private void twoBitVector(int n) { // §3.1.4, S = 1
            int c = 0xC000;
            for (int i = 0; i < Math.min(n, 7); i++) {
                c |= pending[i] << (12 - 2 * i);
            }
            chunk(c);
        }

        private void chunk(int c) {
            chunksEmitted++;
            if (out != null) {
                out.writeShort(c);
            }
        }
    }
}
