package org.consultbridge.bridge.rtcp;

import io.netty.buffer.ByteBuf;

/**
 * Zero-allocation views of RTCP packets (RFC 3550 §6.4, RFC 4585 §6, RFC 5104 §4.3.1). {@code off} is the absolute
 * index of one packet inside a compound packet; call {@link #isValidCompound} first.
 */
public final class RtcpPacket {

    public static final int SR = 200;
    public static final int RR = 201;
    public static final int SDES = 202;
    public static final int BYE = 203;
    public static final int RTPFB = 205;
    public static final int PSFB = 206;

    private RtcpPacket() {
    }

    /** RFC 5761 §4: with rtcp-mux, a second byte of 192..223 (RTP payload types 64..95) means RTCP. */
    public static boolean isRtcp(ByteBuf b) {
        if (b.readableBytes() < 4) {
            return false;
        }
        int pt = b.getUnsignedByte(b.readerIndex() + 1);
        return pt >= 192 && pt <= 223;
    }

    /** Every packet has version 2 and a length inside the buffer; the lengths add up exactly. */
    public static boolean isValidCompound(ByteBuf b) {
        int off = b.readerIndex();
        int end = b.writerIndex();
        if (end - off < 4) {
            return false;
        }
        while (off < end) {
            if (off + 4 > end || (b.getUnsignedByte(off) >> 6) != 2) {
                return false;
            }
            int len = lengthBytes(b, off);
            if (off + len > end || !validPacket(b, off, len)) {
                return false;
            }
            off += len;
        }
        return off == end;
    }

    /** Type-specific minimum sizes, so that the accessors below never read outside the packet. */
    private static boolean validPacket(ByteBuf b, int off, int len) {
        int type = packetType(b, off);
        int count = fmt(b, off);
        return switch (type) {
            case SR -> len >= 28 + 24 * count;
            case RR -> len >= 8 + 24 * count;
            case RTPFB, PSFB -> len >= 12;
            default -> true;
        };
    }

    public static int packetType(ByteBuf b, int off) {
        return b.getUnsignedByte(off + 1);
    }

    /** The 5-bit RC / FMT field. */
    public static int fmt(ByteBuf b, int off) {
        return b.getUnsignedByte(off) & 0x1F;
    }

    public static int lengthBytes(ByteBuf b, int off) {
        return (b.getUnsignedShort(off + 2) + 1) * 4;
    }

    public static long senderSsrc(ByteBuf b, int off) {
        return b.getUnsignedInt(off + 4);
    }

    public static void setSenderSsrc(ByteBuf b, int off, long v) {
        b.setInt(off + 4, (int) v);
    }

    /** Feedback messages (RFC 4585 §6.1): SSRC of the media source. */
    public static long mediaSsrc(ByteBuf b, int off) {
        return b.getUnsignedInt(off + 8);
    }

    public static void setMediaSsrc(ByteBuf b, int off, long v) {
        b.setInt(off + 8, (int) v);
    }

    // ---- SR (RFC 3550 §6.4.1)

    public static long srNtp(ByteBuf b, int off) {
        return b.getLong(off + 8);
    }

    public static long srRtpTimestamp(ByteBuf b, int off) {
        return b.getUnsignedInt(off + 16);
    }

    public static long srPacketCount(ByteBuf b, int off) {
        return b.getUnsignedInt(off + 20);
    }

    public static long srOctetCount(ByteBuf b, int off) {
        return b.getUnsignedInt(off + 24);
    }

    public static void setSrRtpTimestamp(ByteBuf b, int off, long v) {
        b.setInt(off + 16, (int) v);
    }

    public static void setSrPacketCount(ByteBuf b, int off, long v) {
        b.setInt(off + 20, (int) v);
    }

    public static void setSrOctetCount(ByteBuf b, int off, long v) {
        b.setInt(off + 24, (int) v);
    }

    // ---- report blocks (SR and RR)

    public static int reportBlockCount(ByteBuf b, int off) {
        int t = packetType(b, off);
        return t == SR || t == RR ? fmt(b, off) : 0;
    }

    public static int reportBlockOffset(ByteBuf b, int off, int i) {
        return off + (packetType(b, off) == SR ? 28 : 8) + 24 * i;
    }

    public static long rbSsrc(ByteBuf b, int rb) {
        return b.getUnsignedInt(rb);
    }

    public static int rbFractionLost(ByteBuf b, int rb) {
        return b.getUnsignedByte(rb + 4);
    }

    /** Signed 24-bit. */
    public static long rbCumulativeLost(ByteBuf b, int rb) {
        int v = b.getUnsignedMedium(rb + 5);
        return (v & 0x800000) != 0 ? v - 0x1000000 : v;
    }

    public static long rbExtHighestSeq(ByteBuf b, int rb) {
        return b.getUnsignedInt(rb + 8);
    }

    public static long rbJitter(ByteBuf b, int rb) {
        return b.getUnsignedInt(rb + 12);
    }

    public static long rbLsr(ByteBuf b, int rb) {
        return b.getUnsignedInt(rb + 16);
    }

    public static long rbDlsr(ByteBuf b, int rb) {
        return b.getUnsignedInt(rb + 20);
    }

    // ---- FIR (RFC 5104 §4.3.1): FCI entries of SSRC + seq nr + 3 reserved bytes

    public static int firEntries(ByteBuf b, int off) {
        return (lengthBytes(b, off) - 12) / 8;
    }

    public static long firSsrc(ByteBuf b, int off, int i) {
        return b.getUnsignedInt(off + 12 + 8 * i);
    }

    public static int firSeqNr(ByteBuf b, int off, int i) {
        return b.getUnsignedByte(off + 16 + 8 * i);
    }

    // ---- generic NACK (RFC 4585 §6.2.1): FCI entries of PID + BLP

    public static int nackCount(ByteBuf b, int off) {
        return (lengthBytes(b, off) - 12) / 4;
    }

    public static int nackPid(ByteBuf b, int off, int i) {
        return b.getUnsignedShort(off + 12 + 4 * i);
    }

    public static int nackBlp(ByteBuf b, int off, int i) {
        return b.getUnsignedShort(off + 14 + 4 * i);
    }
}
