package org.consultbridge.bridge.rtp;

import io.netty.buffer.ByteBuf;

/** The VP8 RTP payload descriptor (RFC 7741 §4.2) and payload header (§4.3), read in place. */
public final class Vp8Payload {

    private Vp8Payload() {
    }

    /**
     * Length of the payload descriptor at {@code off}, or -1 when malformed. Layout: X|R|N|S|R|PID, then if X:
     * I|L|T|K, then PictureID (7 or 15 bits, M bit), TL0PICIDX, TID|Y|KEYIDX.
     */
    public static int descriptorLength(ByteBuf b, int off, int len) {
        if (len < 1) {
            return -1;
        }
        int n = 1;
        int first = b.getUnsignedByte(off);
        if ((first & 0x80) != 0) {
            if (len < 2) {
                return -1;
            }
            int x = b.getUnsignedByte(off + 1);
            n = 2;
            if ((x & 0x80) != 0) { // I: picture id
                if (len < n + 1) {
                    return -1;
                }
                n += (b.getUnsignedByte(off + n) & 0x80) != 0 ? 2 : 1;
            }
            if ((x & 0x40) != 0) { // L: TL0PICIDX
                n++;
            }
            if ((x & 0x30) != 0) { // T or K: TID/Y/KEYIDX byte
                n++;
            }
        }
        return n <= len ? n : -1;
    }

    /** Start of a keyframe: S=1, PID=0, and the payload header's P bit (inverse key frame flag) is 0. */
    public static boolean isKeyframe(ByteBuf b, int off, int len) {
        int d = descriptorLength(b, off, len);
        if (d < 0 || d >= len) {
            return false;
        }
        int first = b.getUnsignedByte(off);
        if ((first & 0x10) == 0 || (first & 0x07) != 0) {
            return false;
        }
        return (b.getUnsignedByte(off + d) & 0x01) == 0;
    }

    /** Picture id (7 or 15 bits), or -1 when absent or malformed. */
    public static int pictureId(ByteBuf b, int off, int len) {
        int pos = pictureIdPosition(b, off, len);
        return pos < 0 ? -1 : pictureIdAt(b, pos);
    }

    /** TL0PICIDX, or -1. */
    public static int tl0PicIdx(ByteBuf b, int off, int len) {
        int pos = tl0PicIdxPosition(b, off, len);
        return pos < 0 ? -1 : b.getUnsignedByte(pos);
    }

    /** Temporal layer id (TID), or -1. */
    public static int temporalLayer(ByteBuf b, int off, int len) {
        if (descriptorLength(b, off, len) < 0 || (b.getUnsignedByte(off) & 0x80) == 0) {
            return -1;
        }
        int x = b.getUnsignedByte(off + 1);
        if ((x & 0x20) == 0) {
            return -1;
        }
        int n = 2;
        if ((x & 0x80) != 0) {
            n += (b.getUnsignedByte(off + 2) & 0x80) != 0 ? 2 : 1;
        }
        if ((x & 0x40) != 0) {
            n++;
        }
        return b.getUnsignedByte(off + n) >> 6;
    }

    /** Position of the picture id field (RFC 7741 §4.2: 7 or 15 bits, M bit first), or -1 when absent or malformed. */
    public static int pictureIdPosition(ByteBuf b, int off, int len) {
        if (descriptorLength(b, off, len) < 0 || (b.getUnsignedByte(off) & 0x80) == 0
                || (b.getUnsignedByte(off + 1) & 0x80) == 0) {
            return -1;
        }
        return off + 2;
    }

    /** Position of the TL0PICIDX byte, or -1 when absent or malformed. */
    public static int tl0PicIdxPosition(ByteBuf b, int off, int len) {
        if (descriptorLength(b, off, len) < 0 || (b.getUnsignedByte(off) & 0x80) == 0) {
            return -1;
        }
        int x = b.getUnsignedByte(off + 1);
        if ((x & 0x40) == 0) {
            return -1;
        }
        int n = 2;
        if ((x & 0x80) != 0) {
            n += (b.getUnsignedByte(off + 2) & 0x80) != 0 ? 2 : 1;
        }
        return off + n;
    }

    /** The picture id at a position from {@link #pictureIdPosition}. */
    public static int pictureIdAt(ByteBuf b, int pos) {
        int p = b.getUnsignedByte(pos);
        return (p & 0x80) != 0 ? ((p & 0x7F) << 8) | b.getUnsignedByte(pos + 1) : p;
    }

    /** Writes a picture id in the width the field already has (15 bits with M=1, else 7 bits), modulo that width. */
    public static void setPictureIdAt(ByteBuf b, int pos, int pictureId) {
        if ((b.getUnsignedByte(pos) & 0x80) != 0) {
            b.setByte(pos, 0x80 | ((pictureId >> 8) & 0x7F));
            b.setByte(pos + 1, pictureId & 0xFF);
        } else {
            b.setByte(pos, pictureId & 0x7F);
        }
    }
}
