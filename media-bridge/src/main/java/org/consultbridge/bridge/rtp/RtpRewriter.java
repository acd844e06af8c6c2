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
        if (hadExtension) {
            int written = writeExtensions(src, block, payload, dst, extIdMap);
            if (written > 0) {
                dst.setByte(start, dst.getUnsignedByte(start) | 0x10);
            }
        }
        dst.writeBytes(src, payload, src.writerIndex() - payload);
        return dst.writerIndex() - start;
    }

    /** Returns the bytes of the extension block written (0 when no extension survives: nothing written). */
    private static int writeExtensions(ByteBuf src, int block, int end, ByteBuf dst, byte[] map) {
        int profile = src.getUnsignedShort(block);
        boolean srcOneByte = profile == RtpPacket.ONE_BYTE_PROFILE;
        boolean srcTwoByte = (profile & RtpPacket.TWO_BYTE_PROFILE_MASK) == RtpPacket.TWO_BYTE_PROFILE;
        if (!srcOneByte && !srcTwoByte) {
            return 0; // a profile-specific extension we do not understand is not forwarded
        }
        // first pass: which form, how many bytes
        boolean oneByteFits = true;
        int count = 0;
        int dataBytes = 0;
        int pos = block + 4;
        while (pos < end) {
            int id;
            int len;
            int dataAt;
            if (srcOneByte) {
                int h = src.getUnsignedByte(pos);
                if (h == 0) {
                    pos++;
                    continue;
                }
                id = h >> 4;
                if (id == 15) {
                    break;
                }
                len = (h & 0x0F) + 1;
                dataAt = pos + 1;
            } else {
                id = src.getUnsignedByte(pos);
                if (id == 0) {
                    pos++;
                    continue;
                }
                if (pos + 2 > end) {
                    break;
                }
                len = src.getUnsignedByte(pos + 1);
                dataAt = pos + 2;
            }
            if (dataAt + len > end) {
                break;
            }
            int mapped = map[id] & 0xFF;
            if (mapped != 0) {
                count++;
                dataBytes += len;
                if (mapped > 14 || len == 0 || len > 16) {
                    oneByteFits = false;
                }
            }
            pos = dataAt + len;
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
        pos = block + 4;
        while (pos < end) {
            int id;
            int len;
            int dataAt;
            if (srcOneByte) {
                int h = src.getUnsignedByte(pos);
                if (h == 0) {
                    pos++;
                    continue;
                }
                id = h >> 4;
                if (id == 15) {
                    break;
                }
                len = (h & 0x0F) + 1;
                dataAt = pos + 1;
            } else {
                id = src.getUnsignedByte(pos);
                if (id == 0) {
                    pos++;
                    continue;
                }
                if (pos + 2 > end) {
                    break;
                }
                len = src.getUnsignedByte(pos + 1);
                dataAt = pos + 2;
            }
            if (dataAt + len > end) {
                break;
            }
            int mapped = map[id] & 0xFF;
            if (mapped != 0) {
                if (oneByteFits) {
                    dst.writeByte((mapped << 4) | (len - 1));
                } else {
                    dst.writeByte(mapped);
                    dst.writeByte(len);
                }
                dst.writeBytes(src, dataAt, len);
            }
            pos = dataAt + len;
        }
        for (int i = body; i < words * 4; i++) {
            dst.writeByte(0);
        }
        return dst.writerIndex() - blockStart;
    }
}
