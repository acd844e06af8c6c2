package org.consultbridge.bridge.rtp;

import io.netty.buffer.ByteBuf;

/** H.264 RTP payloads (RFC 6184 §5.6-5.8): single NAL unit, STAP-A, FU-A. */
public final class H264Payload {

    private static final int NAL_IDR = 5;
    private static final int NAL_SPS = 7;
    private static final int STAP_A = 24;
    private static final int FU_A = 28;

    private H264Payload() {
    }

    /** True when the packet starts an IDR picture or carries an SPS (a decoder can start here). */
    public static boolean isKeyframe(ByteBuf b, int off, int len) {
        if (len < 1) {
            return false;
        }
        int type = b.getUnsignedByte(off) & 0x1F;
        if (type == NAL_IDR || type == NAL_SPS) {
            return true;
        }
        if (type == FU_A) {
            if (len < 2) {
                return false;
            }
            int fu = b.getUnsignedByte(off + 1);
            return (fu & 0x80) != 0 && ((fu & 0x1F) == NAL_IDR || (fu & 0x1F) == NAL_SPS);
        }
        if (type == STAP_A) {
            int pos = off + 1;
            int end = off + len;
            while (pos + 2 < end) {
                int size = b.getUnsignedShort(pos);
                if (size == 0 || pos + 2 + size > end) {
                    return false;
                }
                int t = b.getUnsignedByte(pos + 2) & 0x1F;
                if (t == NAL_IDR || t == NAL_SPS) {
                    return true;
                }
                pos += 2 + size;
            }
        }
        return false;
    }
}
