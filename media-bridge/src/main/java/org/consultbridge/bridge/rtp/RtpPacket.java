package org.consultbridge.bridge.rtp;

import io.netty.buffer.ByteBuf;

/**
 * Zero-allocation views of an RTP packet (RFC 3550 §5.1) held in a {@link ByteBuf} from its reader index to its
 * writer index. Call {@link #isValidRtp} first: the other accessors assume a valid packet.
 */
public final class RtpPacket {

    public static final int FIXED_HEADER = 12;
    /** RFC 8285 §4.2 one-byte form and §4.3 two-byte form profile markers. */
    public static final int ONE_BYTE_PROFILE = 0xBEDE;
    public static final int TWO_BYTE_PROFILE_MASK = 0xFFF0;
    public static final int TWO_BYTE_PROFILE = 0x1000;

    private RtpPacket() {
    }

    /** Version 2, and CSRC list, extension block and padding all inside the packet. */
    public static boolean isValidRtp(ByteBuf b) {
        int r = b.readerIndex();
        int n = b.writerIndex() - r;
        if (n < FIXED_HEADER) {
            return false;
        }
        int b0 = b.getUnsignedByte(r);
        if ((b0 >> 6) != 2) {
            return false;
        }
        int header = FIXED_HEADER + (b0 & 0x0F) * 4;
        if ((b0 & 0x10) != 0) {
            if (header + 4 > n) {
                return false;
            }
            header += 4 + b.getUnsignedShort(r + header + 2) * 4;
        }
        if (header > n) {
            return false;
        }
        if ((b0 & 0x20) != 0) {
            int pad = b.getUnsignedByte(r + n - 1);
            return pad > 0 && header + pad <= n;
        }
        return true;
    }

    public static int payloadType(ByteBuf b) {
        return b.getUnsignedByte(b.readerIndex() + 1) & 0x7F;
    }

    public static boolean marker(ByteBuf b) {
        return (b.getUnsignedByte(b.readerIndex() + 1) & 0x80) != 0;
    }

    public static int sequenceNumber(ByteBuf b) {
        return b.getUnsignedShort(b.readerIndex() + 2);
    }

    public static long timestamp(ByteBuf b) {
        return b.getUnsignedInt(b.readerIndex() + 4);
    }

    public static long ssrc(ByteBuf b) {
        return b.getUnsignedInt(b.readerIndex() + 8);
    }

    public static int csrcCount(ByteBuf b) {
        return b.getUnsignedByte(b.readerIndex()) & 0x0F;
    }

    public static boolean hasExtension(ByteBuf b) {
        return (b.getUnsignedByte(b.readerIndex()) & 0x10) != 0;
    }

    public static boolean hasPadding(ByteBuf b) {
        return (b.getUnsignedByte(b.readerIndex()) & 0x20) != 0;
    }

    public static void setPayloadType(ByteBuf b, int pt) {
        int i = b.readerIndex() + 1;
        b.setByte(i, (b.getUnsignedByte(i) & 0x80) | (pt & 0x7F));
    }

    public static void setMarker(ByteBuf b, boolean marker) {
        int i = b.readerIndex() + 1;
        b.setByte(i, (b.getUnsignedByte(i) & 0x7F) | (marker ? 0x80 : 0));
    }

    public static void setSequenceNumber(ByteBuf b, int seq) {
        b.setShort(b.readerIndex() + 2, seq);
    }

    public static void setTimestamp(ByteBuf b, long ts) {
        b.setInt(b.readerIndex() + 4, (int) ts);
    }

    public static void setSsrc(ByteBuf b, long ssrc) {
        b.setInt(b.readerIndex() + 8, (int) ssrc);
    }

    /** Absolute index of the extension block header (profile, length), or -1. */
    static int extensionBlockOffset(ByteBuf b) {
        if (!hasExtension(b)) {
            return -1;
        }
        return b.readerIndex() + FIXED_HEADER + csrcCount(b) * 4;
    }

    /** 12 + CSRCs + extension block. */
    public static int headerLength(ByteBuf b) {
        int h = FIXED_HEADER + csrcCount(b) * 4;
        if (hasExtension(b)) {
            h += 4 + b.getUnsignedShort(b.readerIndex() + h + 2) * 4;
        }
        return h;
    }

    public static int paddingLength(ByteBuf b) {
        return hasPadding(b) ? b.getUnsignedByte(b.writerIndex() - 1) : 0;
    }

    /** Absolute index of the payload. */
    public static int payloadOffset(ByteBuf b) {
        return b.readerIndex() + headerLength(b);
    }

    public static int payloadLength(ByteBuf b) {
        return b.writerIndex() - payloadOffset(b) - paddingLength(b);
    }

    /** Absolute index of the data of header extension {@code id} (RFC 8285), or -1. */
    public static int findExtension(ByteBuf b, int id) {
        long found = locateExtension(b, id);
        return found < 0 ? -1 : (int) (found >>> 16);
    }

    /** Length of the data of header extension {@code id}, or -1. */
    public static int extensionLength(ByteBuf b, int id) {
        long found = locateExtension(b, id);
        return found < 0 ? -1 : (int) (found & 0xFFFF);
    }

    /** (offset << 16 | length) of extension {@code id}, or -1; tolerates malformed blocks by stopping early. */
    private static long locateExtension(ByteBuf b, int id) {
        int block = extensionBlockOffset(b);
        if (block < 0 || id <= 0) {
            return -1;
        }
        int profile = b.getUnsignedShort(block);
        int end = block + 4 + b.getUnsignedShort(block + 2) * 4;
        int pos = block + 4;
        if (profile == ONE_BYTE_PROFILE) {
            while (pos < end) {
                int h = b.getUnsignedByte(pos);
                if (h == 0) { // padding byte
                    pos++;
                    continue;
                }
                int extId = h >> 4;
                if (extId == 15) { // RFC 8285 §4.2: stop parsing
                    return -1;
                }
                int len = (h & 0x0F) + 1;
                if (pos + 1 + len > end) {
                    return -1;
                }
                if (extId == id) {
                    return ((long) (pos + 1) << 16) | len;
                }
                pos += 1 + len;
            }
        } else if ((profile & TWO_BYTE_PROFILE_MASK) == TWO_BYTE_PROFILE) {
            while (pos < end) {
                int extId = b.getUnsignedByte(pos);
                if (extId == 0) {
                    pos++;
                    continue;
                }
                if (pos + 2 > end) {
                    return -1;
                }
                int len = b.getUnsignedByte(pos + 1);
                if (pos + 2 + len > end) {
                    return -1;
                }
                if (extId == id) {
                    return ((long) (pos + 2) << 16) | len;
                }
                pos += 2 + len;
            }
        }
        return -1;
    }
}
