package org.consultbridge.bridge.rtp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** RTP header views, extension lookup (RFC 8285) and the forwarding copy, checked byte for byte. */
class RtpPacketTest {

    static ByteBuf hex(String s) {
        return Unpooled.wrappedBuffer(HexFormat.of().parseHex(s.replaceAll("\\s", "")));
    }

    static String hex(ByteBuf b) {
        byte[] out = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), out);
        return HexFormat.of().formatHex(out);
    }

    // V=2 X=1 CC=1 M=1 PT=96 seq=0x1234 ts=0x00010203 ssrc=0xAABBCCDD csrc=0x01020304
    // one-byte extensions: id 1 len 1 [0x55], padding byte, id 4 len 2 [0x66 0x77], then payload 'abc'
    static final String ONE_BYTE = "91e0 1234 00010203 aabbccdd 01020304 bede0002 1055 00 41 6677 0000 616263";

    @Test
    void readsHeaderFieldsAndOneByteExtensions() {
        ByteBuf p = hex(ONE_BYTE);
        assertThat(RtpPacket.isValidRtp(p)).isTrue();
        assertThat(RtpPacket.payloadType(p)).isEqualTo(96);
        assertThat(RtpPacket.marker(p)).isTrue();
        assertThat(RtpPacket.sequenceNumber(p)).isEqualTo(0x1234);
        assertThat(RtpPacket.timestamp(p)).isEqualTo(0x00010203L);
        assertThat(RtpPacket.ssrc(p)).isEqualTo(0xAABBCCDDL);
        assertThat(RtpPacket.headerLength(p)).isEqualTo(12 + 4 + 4 + 8);
        assertThat(RtpPacket.payloadLength(p)).isEqualTo(3);
        assertThat(RtpPacket.extensionLength(p, 1)).isEqualTo(1);
        assertThat((int) p.getUnsignedByte(RtpPacket.findExtension(p, 1))).isEqualTo(0x55);
        assertThat(RtpPacket.extensionLength(p, 4)).isEqualTo(2);
        assertThat((int) p.getUnsignedByte(RtpPacket.findExtension(p, 4))).isEqualTo(0x66);
        assertThat(RtpPacket.findExtension(p, 2)).isEqualTo(-1);
    }

    @Test
    void rewritesHeaderAndRemapsAndDropsExtensions() {
        ByteBuf src = hex(ONE_BYTE);
        byte[] map = new byte[256];
        map[4] = 2; // id 4 -> 2; id 1 dropped
        ByteBuf dst = Unpooled.buffer(100);
        int n = RtpRewriter.copyRewritten(src, dst, 111, 0x0102, 0x0A0B0C0DL, 0x11223344L, map);
        // X kept, PT 111 with marker, new seq/ts/ssrc, same CSRC, block of 1 word: id 2 len 2 + pad
        assertThat(hex(dst)).isEqualTo("91ef01020a0b0c0d1122334401020304bede0001216677" + "00" + "616263");
        assertThat(n).isEqualTo(dst.readableBytes());
        assertThat(RtpPacket.isValidRtp(dst)).isTrue();
    }

    @Test
    void dropsTheWholeBlockWhenNoExtensionSurvives() {
        ByteBuf dst = Unpooled.buffer(100);
        RtpRewriter.copyRewritten(hex(ONE_BYTE), dst, 96, 1, 2, 3, new byte[256]);
        assertThat(hex(dst)).isEqualTo("81e00001000000020000000301020304616263");
    }

    @Test
    void twoByteFormIsReadAndWrittenWhenNeeded() {
        // two-byte form (0x1000): id 20 len 3, then payload, and padding (P=1, 2 bytes)
        ByteBuf src = hex("b060 0001 00000001 00000002 10000002 1403aabbcc000000 ffee 0002");
        assertThat(RtpPacket.isValidRtp(src)).isTrue();
        assertThat(RtpPacket.paddingLength(src)).isEqualTo(2);
        assertThat(RtpPacket.payloadLength(src)).isEqualTo(2);
        assertThat(RtpPacket.extensionLength(src, 20)).isEqualTo(3);
        byte[] map = new byte[256];
        map[20] = 5; // fits the one-byte form
        ByteBuf dst = Unpooled.buffer(100);
        RtpRewriter.copyRewritten(src, dst, 96, 1, 1, 2, map);
        assertThat(hex(dst)).isEqualTo("b0600001000000010000000 2bede000152aabbcc ffee0002".replace(" ", ""));
        map[20] = 20; // id 20 needs the two-byte form
        ByteBuf dst2 = Unpooled.buffer(100);
        RtpRewriter.copyRewritten(src, dst2, 96, 1, 1, 2, map);
        assertThat(hex(dst2)).isEqualTo("b06000010000000100000002100000021403aabbcc000000ffee0002");
    }

    @Test
    void invalidPacketsAreRecognisedAndNeverThrow() {
        assertThat(RtpPacket.isValidRtp(hex("80"))).isFalse();
        assertThat(RtpPacket.isValidRtp(hex("40e0 0001 00000001 00000002"))).as("version 1").isFalse();
        assertThat(RtpPacket.isValidRtp(hex("82e0 0001 00000001 00000002 00000001"))).as("CSRCs past end").isFalse();
        assertThat(RtpPacket.isValidRtp(hex("90e0 0001 00000001 00000002 bede0005 10"))).as("ext past end").isFalse();
        assertThat(RtpPacket.isValidRtp(hex("a0e0 0001 00000001 00000002 0009"))).as("padding past end").isFalse();
        Random r = new Random(3550);
        byte[] map = new byte[256];
        for (int i = 1; i < 16; i++) {
            map[i] = (byte) i;
        }
        for (int i = 0; i < 200_000; i++) {
            byte[] d = new byte[r.nextInt(64)];
            r.nextBytes(d);
            if (d.length > 0 && r.nextBoolean()) {
                d[0] = (byte) (0x80 | (d[0] & 0x3F));
            }
            ByteBuf b = Unpooled.wrappedBuffer(d);
            if (RtpPacket.isValidRtp(b)) {
                RtpPacket.payloadLength(b);
                RtpPacket.findExtension(b, 1 + r.nextInt(14));
                RtpRewriter.copyRewritten(b, Unpooled.buffer(256), 96, 1, 1, 1, map);
            }
        }
    }

    @Test
    void vp8KeyframesAreDetectedFromTheDescriptorAndFrameTag() {
        // S=1 PID=0, frame tag P=0: keyframe
        assertThat(Vp8Payload.isKeyframe(hex("10 50 02 00 9d 01 2a"), 0, 7)).isTrue();
        // extended descriptor X=1 with I (15-bit picture id), L, T: 4 extra bytes
        ByteBuf ext = hex("90 e0 8123 05 40 00 9d012a");
        assertThat(Vp8Payload.descriptorLength(ext, 0, 10)).isEqualTo(6);
        assertThat(Vp8Payload.pictureId(ext, 0, 10)).isEqualTo(0x0123);
        assertThat(Vp8Payload.tl0PicIdx(ext, 0, 10)).isEqualTo(5);
        assertThat(Vp8Payload.temporalLayer(ext, 0, 10)).isEqualTo(1);
        assertThat(Vp8Payload.isKeyframe(ext, 0, 10)).isTrue();
        assertThat(Vp8Payload.isKeyframe(hex("10 51 02 00"), 0, 4)).as("P=1: interframe").isFalse();
        assertThat(Vp8Payload.isKeyframe(hex("00 50 02 00"), 0, 4)).as("not a partition start").isFalse();
        assertThat(Vp8Payload.isKeyframe(hex("90"), 0, 1)).as("truncated").isFalse();
    }

    /**
     * Issue #8: with end-to-end encryption the web client leaves the first 10 bytes of a VP8 keyframe and 3 of a
     * delta frame in the clear (RFC 6386 §9.1: frame tag, start code, size) and encrypts the rest; the payload
     * descriptor (RFC 7741 §4.2) is written by the packetizer after the transform. Keyframe detection must read
     * only those: the answer does not change whatever the encrypted bytes are, and one byte after the descriptor
     * is enough.
     */
    @Test
    void vp8KeyframeDetectionReadsOnlyBytesTheEncryptionLeavesInTheClear() {
        Random random = new Random(8);
        String descriptor = "90e081230540"; // X=1 I L T, S=1: first packet of a frame
        for (boolean key : new boolean[] {true, false}) {
            String clear = key ? "50 02 00 9d 01 2a 80 02 68 01" : "51 02 00";
            for (int i = 0; i < 200; i++) {
                byte[] cipher = new byte[1 + random.nextInt(60)];
                random.nextBytes(cipher);
                ByteBuf pkt = hex(descriptor + clear + HexFormat.of().formatHex(cipher));
                assertThat(Vp8Payload.isKeyframe(pkt, 0, pkt.readableBytes())).isEqualTo(key);
                assertThat(Vp8Payload.pictureId(pkt, 0, pkt.readableBytes())).isEqualTo(0x0123);
                assertThat(Vp8Payload.tl0PicIdx(pkt, 0, pkt.readableBytes())).isEqualTo(5);
            }
            ByteBuf firstByteOnly = hex(descriptor + clear.substring(0, 2));
            assertThat(Vp8Payload.isKeyframe(firstByteOnly, 0, firstByteOnly.readableBytes())).isEqualTo(key);
        }
        // a continuation packet (S=0) of a keyframe carries only ciphertext: never taken for a keyframe start
        for (int i = 0; i < 200; i++) {
            byte[] cipher = new byte[1 + random.nextInt(60)];
            random.nextBytes(cipher);
            ByteBuf pkt = hex("80e081230540" + HexFormat.of().formatHex(cipher));
            assertThat(Vp8Payload.isKeyframe(pkt, 0, pkt.readableBytes())).isFalse();
        }
    }

    @Test
    void h264KeyframesInSingleNalStapAAndFuA() {
        assertThat(H264Payload.isKeyframe(hex("65 88"), 0, 2)).as("IDR").isTrue();
        assertThat(H264Payload.isKeyframe(hex("41 9a"), 0, 2)).as("non-IDR slice").isFalse();
        assertThat(H264Payload.isKeyframe(hex("78 0002 6742 0002 68ce"), 0, 9)).as("STAP-A with SPS").isTrue();
        assertThat(H264Payload.isKeyframe(hex("7c 85 88"), 0, 3)).as("FU-A start of IDR").isTrue();
        assertThat(H264Payload.isKeyframe(hex("7c 05 88"), 0, 3)).as("FU-A continuation").isFalse();
        assertThat(H264Payload.isKeyframe(hex("78 00ff 67"), 0, 4)).as("STAP-A overrun").isFalse();
    }

    @Test
    void receiveStatisticsCountLossReorderingAndWrap() {
        RtpReceiveStatistics s = new RtpReceiveStatistics(90000);
        long t = 0;
        int[] seqs = {65530, 65531, 65533, 65532, 65535, 0, 1, 3, 4};
        for (int seq : seqs) {
            s.onPacket(seq, 3000L * seq, t += 33_000_000L);
        }
        // expected 65530..65540 (11 packets across the wrap), received 9: 65534 and 2 lost
        assertThat(s.extendedHighestSeq()).isEqualTo(65536 + 4);
        assertThat(s.cumulativeLost()).isEqualTo(2);
        assertThat(s.fractionLostSinceLastReport()).isEqualTo((2 * 256) / 11);
        assertThat(s.fractionLostSinceLastReport()).as("nothing new since").isEqualTo(0);
    }

    @Test
    void jitterFollowsRfc3550AppendixA8() {
        RtpReceiveStatistics s = new RtpReceiveStatistics(8000);
        // packets 20 ms apart in RTP time (160 units) arriving alternately 20 ms and 30 ms apart
        long arrivalMs = 0;
        for (int i = 0; i < 200; i++) {
            s.onPacket(i, 160L * i, arrivalMs * 1_000_000L);
            arrivalMs += (i % 2 == 0) ? 20 : 30;
        }
        // |D| alternates between 0 and 80 units (10 ms at 8 kHz) around a drift; J converges near 40..80
        assertThat(s.jitterRtpUnits()).isBetween(30L, 90L);
        assertThat(s.jitterSeconds()).isBetween(0.003, 0.012);
    }
}
