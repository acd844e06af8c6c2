package org.consultbridge.bridge.rtcp;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/** Writes RTCP packets at a buffer's writer index; each method returns the bytes written. No allocation. */
public final class RtcpWriter {

    private RtcpWriter() {
    }

    private static void header(ByteBuf dst, int count, int type, int lengthBytes) {
        dst.writeByte(0x80 | (count & 0x1F));
        dst.writeByte(type);
        dst.writeShort(lengthBytes / 4 - 1);
    }

    /** RFC 3550 §6.4.1, without report blocks. */
    public static int writeSenderReport(ByteBuf dst, long ssrc, long ntp64, long rtpTs, long packetCount,
                                        long octetCount) {
        header(dst, 0, RtcpPacket.SR, 28);
        dst.writeInt((int) ssrc);
        dst.writeLong(ntp64);
        dst.writeInt((int) rtpTs);
        dst.writeInt((int) packetCount);
        dst.writeInt((int) octetCount);
        return 28;
    }

    /** RFC 3550 §6.4.2 header; follow with exactly {@code blockCount} {@link #writeReportBlock} calls. */
    public static int writeReceiverReport(ByteBuf dst, long senderSsrc, int blockCount) {
        header(dst, blockCount, RtcpPacket.RR, 8 + 24 * blockCount);
        dst.writeInt((int) senderSsrc);
        return 8;
    }

    public static int writeReportBlock(ByteBuf dst, long ssrc, int fractionLost, long cumulativeLost,
                                       long extHighestSeq, long jitter, long lsr, long dlsr) {
        dst.writeInt((int) ssrc);
        dst.writeByte(fractionLost);
        dst.writeMedium((int) (cumulativeLost & 0xFFFFFF));
        dst.writeInt((int) extHighestSeq);
        dst.writeInt((int) jitter);
        dst.writeInt((int) lsr);
        dst.writeInt((int) dlsr);
        return 24;
    }

    /** RFC 4585 §6.3.1: Picture Loss Indication (PSFB, FMT 1). */
    public static int writePli(ByteBuf dst, long senderSsrc, long mediaSsrc) {
        header(dst, 1, RtcpPacket.PSFB, 12);
        dst.writeInt((int) senderSsrc);
        dst.writeInt((int) mediaSsrc);
        return 12;
    }

    /** RFC 5104 §4.3.1: Full Intra Request (PSFB, FMT 4); media SSRC field is 0, the target is in the FCI. */
    public static int writeFir(ByteBuf dst, long senderSsrc, long mediaSsrc, int seqNr) {
        header(dst, 4, RtcpPacket.PSFB, 20);
        dst.writeInt((int) senderSsrc);
        dst.writeInt(0);
        dst.writeInt((int) mediaSsrc);
        dst.writeByte(seqNr);
        dst.writeMedium(0);
        return 20;
    }

    /** RFC 4585 §6.2.1: generic NACK, lost sequence numbers packed into PID + BLP pairs. */
    public static int writeNack(ByteBuf dst, long senderSsrc, long mediaSsrc, int[] lostSeqs, int count) {
        int start = dst.writerIndex();
        dst.writeZero(12);
        int pairs = 0;
        int i = 0;
        while (i < count) {
            int pid = lostSeqs[i] & 0xFFFF;
            int blp = 0;
            i++;
            while (i < count) {
                int d = (lostSeqs[i] - pid) & 0xFFFF;
                if (d < 1 || d > 16) {
                    break;
                }
                blp |= 1 << (d - 1);
                i++;
            }
            dst.writeShort(pid);
            dst.writeShort(blp);
            pairs++;
        }
        int len = 12 + 4 * pairs;
        dst.setByte(start, 0x80 | 1);
        dst.setByte(start + 1, RtcpPacket.RTPFB);
        dst.setShort(start + 2, len / 4 - 1);
        dst.setInt(start + 4, (int) senderSsrc);
        dst.setInt(start + 8, (int) mediaSsrc);
        return len;
    }

    /** RFC 3550 §6.5: SDES with one chunk carrying a CNAME item, padded to 32 bits. */
    public static int writeSdesCname(ByteBuf dst, long ssrc, String cname) {
        byte[] name = cname.getBytes(StandardCharsets.UTF_8);
        int items = 2 + Math.min(name.length, 255) + 1; // type, length, text, end-of-list
        int chunk = 4 + ((items + 3) & ~3);
        header(dst, 1, RtcpPacket.SDES, 4 + chunk);
        dst.writeInt((int) ssrc);
        dst.writeByte(1);
        dst.writeByte(Math.min(name.length, 255));
        dst.writeBytes(name, 0, Math.min(name.length, 255));
        dst.writeZero(chunk - 4 - 2 - Math.min(name.length, 255));
        return 4 + chunk;
    }
}
