package org.consultbridge.bridge.rtp;

import io.netty.buffer.ByteBuf;

/**
 * RTP payload for redundant audio data, RFC 2198 §3, read and rewritten in place (no allocation). The payload is a
 * list of block headers, then the blocks in the same order; the last header (F = 0) is one byte and describes the
 * primary encoding, which comes last:
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |F|   block PT  |  timestamp offset         |   block length    |   (F = 1: a redundant block)
 * |0|   block PT  |                                                   (F = 0: the primary block)
 * </pre>
 * Written by hand: no Java library parses RTP payloads on a Netty buffer without copying.
 */
public final class RedPayload {

    /** A browser sends one or two redundant blocks; more than this is refused as malformed. */
    public static final int MAX_BLOCKS = 8;

    private RedPayload() {
    }

    /**
     * Checks the block headers of the payload at {@code off}, {@code len} bytes: at most {@link #MAX_BLOCKS}, every
     * block payload type equal to {@code blockPt}, the lengths within the payload. Returns the absolute index of the
     * primary block, or -1 when malformed.
     */
    public static int primaryOffset(ByteBuf b, int off, int len, int blockPt) {
        int end = off + len;
        int pos = off;
        int data = 0;
        for (int i = 0; i <= MAX_BLOCKS; i++) {
            if (pos >= end) {
                return -1;
            }
            int h = b.getUnsignedByte(pos);
            if ((h & 0x7F) != blockPt) {
                return -1;
            }
            if ((h & 0x80) == 0) {
                int primary = pos + 1 + data;
                return primary <= end ? primary : -1;
            }
            if (pos + 4 > end) {
                return -1;
            }
            data += b.getUnsignedShort(pos + 2) & 0x03FF;
            pos += 4;
        }
        return -1;
    }

    /** Sets every block header's payload type to {@code pt}; the payload must have passed {@link #primaryOffset}. */
    public static void setBlockPayloadTypes(ByteBuf b, int off, int pt) {
        int pos = off;
        while (true) {
            int h = b.getUnsignedByte(pos);
            b.setByte(pos, (h & 0x80) | (pt & 0x7F));
            if ((h & 0x80) == 0) {
                return;
            }
            pos += 4;
        }
    }

    /**
     * Turns the RED packet {@code pkt} (header from its reader index) into a plain packet of its primary encoding,
     * in place: payload type {@code pt}, the primary block moved to the payload's start, padding removed (RFC 2198
     * §4: the primary's timestamp is the packet's). The payload must have passed {@link #primaryOffset} with the
     * same block payload type. Returns the packet's new length.
     */
    public static int toPrimary(ByteBuf pkt, int blockPt, int pt) {
        int off = RtpPacket.payloadOffset(pkt);
        int len = RtpPacket.payloadLength(pkt);
        int primary = primaryOffset(pkt, off, len, blockPt);
        int primaryLength = off + len - primary;
        for (int i = 0; i < primaryLength; i++) { // forward copy: the destination is before the source
            pkt.setByte(off + i, pkt.getByte(primary + i));
        }
        pkt.setByte(pkt.readerIndex(), pkt.getByte(pkt.readerIndex()) & ~0x20); // no padding now
        pkt.writerIndex(off + primaryLength);
        RtpPacket.setPayloadType(pkt, pt);
        return pkt.readableBytes();
    }
}
