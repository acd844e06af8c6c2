package org.consultbridge.bridge.rtp;

import io.netty.buffer.ByteBuf;

/**
 * The per-consumer copy of a forwarded RTP packet: header fields rewritten for the receiver and the header
 * extensions renumbered to the ids the receiver negotiated (RFC 8285), in one pass, without allocation.
 */
public final class RtpRewriter {

    private RtpRewriter() {
    }

    /**
     * Writes into {@code dst} a copy of the valid RTP packet {@code src} with new payload type, sequence number,
     * timestamp and SSRC; marker, CSRCs, payload and padding unchanged; extensions re-encoded with ids mapped by
     * {@code extIdMap[srcId]} (0 drops the extension). Uses the one-byte form when every surviving extension fits it
     * (id 1..14, 1..16 bytes), else the two-byte form. Returns the bytes written.
     */
    public static int copyRewritten(ByteBuf src, ByteBuf dst, int newPt, int newSeq, long newTs, long newSsrc,
                                    byte[] extIdMap) {
        return copyRewritten(src, dst, newPt, newSeq, newTs, newSsrc, extIdMap, 0, 0);
    }

    /**
     * As above, and adds one two-byte element {@code extraId} = {@code extraValue} (a per-hop extension the bridge
     * writes itself: the transport-wide sequence number of draft-holmer-rmcat-transport-wide-cc-extensions-01
     * §2); {@code extraId} 0 adds nothing.
     */
    public static int copyRewritten(ByteBuf src, ByteBuf dst, int newPt, int newSeq, long newTs, long newSsrc,
                                    byte[] extIdMap, int extraId, int extraValue) {
        int start = dst.writerIndex();
        int r = src.readerIndex();
        int b0 = src.getUnsignedByte(r);
        int csrcs = b0 & 0x0F;
        int block = r + RtpPacket.FIXED_HEADER + csrcs * 4;
        boolean hadExtension = (b0 & 0x10) != 0;
        int payload = block;
        if (hadExtension) {
            payload = block + 4 + src.getUnsignedShort(block + 2) * 4;
        }
        // fixed header (X bit fixed up below) and CSRCs
        dst.writeByte(b0 & ~0x10);
        dst.writeByte((src.getUnsignedByte(r + 1) & 0x80) | (newPt & 0x7F));
        dst.writeShort(newSeq);
        dst.writeInt((int) newTs);
        dst.writeInt((int) newSsrc);
        if (csrcs > 0) {
            dst.writeBytes(src, r + RtpPacket.FIXED_HEADER, csrcs * 4);
        }
        if (hadExtension || extraId != 0) {
            int written = writeExtensions(src, block, hadExtension ? payload : block, dst, extIdMap, hadExtension,
                    extraId, extraValue);
            if (written > 0) {
                dst.setByte(start, dst.getUnsignedByte(start) | 0x10);
            }
        }
        dst.writeBytes(src, payload, src.writerIndex() - payload);
        return dst.writerIndex() - start;
    }

    /**
     * The next extension element at or after {@code pos} (RFC 8285 §4.2 one-byte or §4.3 two-byte form), skipping
     * padding bytes: packed as {@code dataAt << 24 | length << 8 | id}, or -1 at the end, at id 15 (one-byte "stop")
     * or at an element that overruns the block. Packed into a long so that walking the block allocates nothing.
     */
    private static long nextElement(ByteBuf src, int pos, int end, boolean oneByte) {
        while (pos < end && src.getUnsignedByte(pos) == 0) {
            pos++;
        }
        if (pos >= end) {
            return -1;
        }
        int id;
        int len;
        int dataAt;
        if (oneByte) {
            int h = src.getUnsignedByte(pos);
            id = h >> 4;
            if (id == 15) {
                return -1;
            }
            len = (h & 0x0F) + 1;
            dataAt = pos + 1;
        } else {
            if (pos + 2 > end) {
                return -1;
            }
            id = src.getUnsignedByte(pos);
            len = src.getUnsignedByte(pos + 1);
            dataAt = pos + 2;
        }
        if (dataAt + len > end) {
            return -1;
        }
        return ((long) dataAt << 24) | ((long) len << 8) | id;
    }

    /** Returns the bytes of the extension block written (0 when no extension survives: nothing written). */
    private static int writeExtensions(ByteBuf src, int block, int end, ByteBuf dst, byte[] map, boolean hadBlock,
                                       int extraId, int extraValue) {
        boolean srcOneByte = true;
        if (hadBlock) {
            int profile = src.getUnsignedShort(block);
            srcOneByte = profile == RtpPacket.ONE_BYTE_PROFILE;
            boolean srcTwoByte = (profile & RtpPacket.TWO_BYTE_PROFILE_MASK) == RtpPacket.TWO_BYTE_PROFILE;
            if (!srcOneByte && !srcTwoByte) {
                hadBlock = false; // a profile-specific extension we do not understand is not forwarded
            }
        }
        // first pass: which form, how many bytes
        boolean oneByteFits = extraId <= 14;
        int count = extraId != 0 ? 1 : 0;
        int dataBytes = extraId != 0 ? 2 : 0;
        for (long e = hadBlock ? nextElement(src, block + 4, end, srcOneByte) : -1; e >= 0;
             e = nextElement(src, (int) (e >>> 24) + (int) ((e >>> 8) & 0xFFFF), end, srcOneByte)) {
            int mapped = map[(int) (e & 0xFF)] & 0xFF;
            int len = (int) ((e >>> 8) & 0xFFFF);
            if (mapped != 0) {
                count++;
                dataBytes += len;
                if (mapped > 14 || len == 0 || len > 16) {
                    oneByteFits = false;
                }
            }
        }
        if (count == 0) {
            return 0;
        }
        int body = dataBytes + count * (oneByteFits ? 1 : 2);
        int words = (body + 3) / 4;
        int blockStart = dst.writerIndex();
        dst.writeShort(oneByteFits ? RtpPacket.ONE_BYTE_PROFILE : RtpPacket.TWO_BYTE_PROFILE);
        dst.writeShort(words);
        // second pass: copy
        if (extraId != 0) {
            if (oneByteFits) {
                dst.writeByte((extraId << 4) | 1);
            } else {
                dst.writeByte(extraId);
                dst.writeByte(2);
            }
            dst.writeShort(extraValue);
        }
        for (long e = hadBlock ? nextElement(src, block + 4, end, srcOneByte) : -1; e >= 0;
             e = nextElement(src, (int) (e >>> 24) + (int) ((e >>> 8) & 0xFFFF), end, srcOneByte)) {
            int mapped = map[(int) (e & 0xFF)] & 0xFF;
            int len = (int) ((e >>> 8) & 0xFFFF);
            if (mapped != 0) {
                if (oneByteFits) {
                    dst.writeByte((mapped << 4) | (len - 1));
                } else {
                    dst.writeByte(mapped);
                    dst.writeByte(len);
                }
                dst.writeBytes(src, (int) (e >>> 24), len);
            }
        }
        for (int i = body; i < words * 4; i++) {
            dst.writeByte(0);
        }
        return dst.writerIndex() - blockStart;
    }
}
