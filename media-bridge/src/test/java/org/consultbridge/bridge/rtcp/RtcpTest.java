package org.consultbridge.bridge.rtcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** RTCP writers against layouts written out by hand from RFC 3550, 4585 and 5104, and the readers on them. */
class RtcpTest {

    static String hex(ByteBuf b) {
        byte[] out = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), out);
        return HexFormat.of().formatHex(out);
    }

    @Test
    void senderReport() {
        ByteBuf b = Unpooled.buffer();
        assertThat(RtcpWriter.writeSenderReport(b, 0x11223344L, 0x0102030405060708L, 0xAABBCCDDL, 10, 1000)).isEqualTo(28);
        assertThat(hex(b)).isEqualTo("80c80006" + "11223344" + "0102030405060708" + "aabbccdd" + "0000000a" + "000003e8");
        assertThat(RtcpPacket.isRtcp(b)).isTrue();
        assertThat(RtcpPacket.isValidCompound(b)).isTrue();
        assertThat(RtcpPacket.srNtp(b, 0)).isEqualTo(0x0102030405060708L);
        assertThat(RtcpPacket.srRtpTimestamp(b, 0)).isEqualTo(0xAABBCCDDL);
        assertThat(RtcpPacket.srPacketCount(b, 0)).isEqualTo(10);
        assertThat(RtcpPacket.srOctetCount(b, 0)).isEqualTo(1000);
    }

    @Test
    void receiverReportWithBlocks() {
        ByteBuf b = Unpooled.buffer();
        RtcpWriter.writeReceiverReport(b, 1, 1);
        RtcpWriter.writeReportBlock(b, 0xCAFEL, 25, -3, 0x10005L, 77, 0x12345678L, 0x10000L);
        assertThat(hex(b)).isEqualTo("81c90007" + "00000001" + "0000cafe" + "19" + "fffffd" + "00010005" + "0000004d"
                + "12345678" + "00010000");
        int rb = RtcpPacket.reportBlockOffset(b, 0, 0);
        assertThat(RtcpPacket.reportBlockCount(b, 0)).isEqualTo(1);
        assertThat(RtcpPacket.rbSsrc(b, rb)).isEqualTo(0xCAFEL);
        assertThat(RtcpPacket.rbFractionLost(b, rb)).isEqualTo(25);
        assertThat(RtcpPacket.rbCumulativeLost(b, rb)).isEqualTo(-3);
        assertThat(RtcpPacket.rbExtHighestSeq(b, rb)).isEqualTo(0x10005L);
        assertThat(RtcpPacket.rbJitter(b, rb)).isEqualTo(77);
        assertThat(RtcpPacket.rbLsr(b, rb)).isEqualTo(0x12345678L);
        assertThat(RtcpPacket.rbDlsr(b, rb)).isEqualTo(0x10000L);
    }

    @Test
    void pliFirAndNack() {
        ByteBuf b = Unpooled.buffer();
        RtcpWriter.writePli(b, 1, 2);
        RtcpWriter.writeFir(b, 1, 3, 7);
        RtcpWriter.writeNack(b, 1, 4, new int[] {100, 101, 103, 116, 117, 200}, 6);
        assertThat(hex(b)).isEqualTo("81ce0002 00000001 00000002".replace(" ", "")
                + "84ce0004 00000001 00000000 00000003 07000000".replace(" ", "")
                // NACK: PID 100 with BLP bits for 101 (bit 0), 103 (bit 2), 116 (bit 15); then 117; then 200
                + "81cd0005 00000001 00000004 00648005 00750000 00c80000".replace(" ", ""));
        assertThat(RtcpPacket.isValidCompound(b)).isTrue();
        int off = 0;
        assertThat(RtcpPacket.fmt(b, off)).isEqualTo(1);
        assertThat(RtcpPacket.mediaSsrc(b, off)).isEqualTo(2);
        off += RtcpPacket.lengthBytes(b, off);
        assertThat(RtcpPacket.firEntries(b, off)).isEqualTo(1);
        assertThat(RtcpPacket.firSsrc(b, off, 0)).isEqualTo(3);
        assertThat(RtcpPacket.firSeqNr(b, off, 0)).isEqualTo(7);
        off += RtcpPacket.lengthBytes(b, off);
        assertThat(RtcpPacket.nackCount(b, off)).isEqualTo(3);
        assertThat(RtcpPacket.nackPid(b, off, 0)).isEqualTo(100);
        assertThat(RtcpPacket.nackBlp(b, off, 0)).isEqualTo(0x8005);
    }

    @Test
    void sdesCnameIsPaddedToWholeWords() {
        ByteBuf b = Unpooled.buffer();
        int n = RtcpWriter.writeSdesCname(b, 0x55L, "abc");
        assertThat(n % 4).isZero();
        assertThat(hex(b)).isEqualTo("81ca0003" + "00000055" + "0103616263" + "000000");
        assertThat(RtcpPacket.isValidCompound(b)).isTrue();
    }

    @Test
    void ntpTimeAndLsr() {
        long ntp = NtpTime.fromUnixMillis(0);
        assertThat(ntp >>> 32).isEqualTo(2_208_988_800L);
        long half = NtpTime.fromUnixMillis(1500);
        assertThat(half & 0xFFFFFFFFL).isEqualTo(1L << 31);
        assertThat(NtpTime.middle32(0x0001_0002_0003_0004L)).isEqualTo(0x0002_0003L);
    }

    @Test
    void brokenCompoundsAreRejectedAndNeverThrow() {
        assertThat(RtcpPacket.isValidCompound(Unpooled.wrappedBuffer(HexFormat.of().parseHex("80c90001")))).isFalse();
        assertThat(RtcpPacket.isValidCompound(Unpooled.wrappedBuffer(HexFormat.of().parseHex("81c90001 00000001".replace(" ", ""))))).as("RR block missing").isFalse();
        Random r = new Random(4585);
        for (int i = 0; i < 200_000; i++) {
            byte[] d = new byte[r.nextInt(80)];
            r.nextBytes(d);
            if (d.length > 1) {
                d[0] = (byte) (0x80 | (d[0] & 0x1F));
                d[1] = (byte) (200 + r.nextInt(7));
                if (d.length > 3) {
                    d[2] = 0;
                    d[3] = (byte) (d.length / 4 - 1);
                }
            }
            ByteBuf b = Unpooled.wrappedBuffer(d);
            if (RtcpPacket.isValidCompound(b)) {
                int off = 0;
                while (off < d.length) {
                    for (int k = 0; k < RtcpPacket.reportBlockCount(b, off); k++) {
                        RtcpPacket.rbLsr(b, RtcpPacket.reportBlockOffset(b, off, k));
                    }
                    if (RtcpPacket.packetType(b, off) == RtcpPacket.PSFB && RtcpPacket.fmt(b, off) == 4) {
                        for (int k = 0; k < RtcpPacket.firEntries(b, off); k++) {
                            RtcpPacket.firSsrc(b, off, k);
                        }
                    }
                    off += RtcpPacket.lengthBytes(b, off);
                }
            }
        }
    }
}
