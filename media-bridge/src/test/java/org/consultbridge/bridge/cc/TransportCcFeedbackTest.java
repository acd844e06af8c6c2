package org.consultbridge.bridge.cc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.consultbridge.bridge.cc.TransportCcFeedback.NOT_RECEIVED;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.junit.jupiter.api.Test;

/** The transport-cc feedback codec: published byte vectors, round trips of many patterns, malformed input. */
class TransportCcFeedbackTest {

    /** Everything a parse reported, with absolute arrival times (reference time × 64 ms + relative arrival). */
    static final class Parsed implements TransportCcFeedback.Visitor {
        long senderSsrc;
        long mediaSsrc;
        int baseSeq;
        int statusCount;
        int referenceTime;
        int feedbackCount;
        final List<Integer> seqs = new ArrayList<>();
        final List<Boolean> received = new ArrayList<>();
        final List<Long> arrivalUs = new ArrayList<>();
        final List<Long> relativeUs = new ArrayList<>();

        @Override
        public void onHeader(long senderSsrc, long mediaSsrc, int baseSeq, int statusCount, int referenceTime,
                             int feedbackCount) {
            this.senderSsrc = senderSsrc;
            this.mediaSsrc = mediaSsrc;
            this.baseSeq = baseSeq;
            this.statusCount = statusCount;
            this.referenceTime = referenceTime;
            this.feedbackCount = feedbackCount;
        }

        @Override
        public void onStatus(int seq, boolean rx, long us) {
            seqs.add(seq);
            received.add(rx);
            relativeUs.add(rx ? us : null);
            arrivalUs.add(rx ? referenceTime * TransportCcFeedback.REFERENCE_TICK_US + us : null);
        }
    }

    static ByteBuf bytes(int... b) {
        byte[] a = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            a[i] = (byte) b[i];
        }
        return Unpooled.wrappedBuffer(a);
    }

    static String hex(ByteBuf b) {
        byte[] out = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), out);
        return HexFormat.of().formatHex(out);
    }

    static Parsed parse(ByteBuf b, int off) {
        Parsed p = new Parsed();
        assertThat(TransportCcFeedback.parse(b, off, p)).as("parse at " + off).isTrue();
        return p;
    }

    // --- Published vectors -----------------------------------------------------------------------------------------

    /**
     * pion/rtcp transport_layer_cc_test.go, TestTransportLayerCC_Unmarshal "example6": a two-bit status vector with a
     * large delta and a lost packet, then a run-length chunk longer than the status count; one byte of RTCP padding.
     */
    @Test
    void decodesPionUnmarshalExample6() {
        ByteBuf b = bytes(0xaf, 0xcd, 0x0, 0x7, 0x9b, 0x74, 0xf6, 0x1f, 0x93, 0x71, 0xdc, 0xbc, 0x85, 0x3c, 0x0, 0x9,
                0x63, 0xf9, 0x16, 0xb3, 0xd5, 0x52, 0x0, 0x30, 0x9b, 0xaa, 0x6a, 0xaa, 0x7b, 0x1, 0x9, 0x1);
        Parsed p = parse(b, 0);
        assertThat(p.senderSsrc).isEqualTo(2608133663L);
        assertThat(p.mediaSsrc).isEqualTo(2473712828L);
        assertThat(p.baseSeq).isEqualTo(34108);
        assertThat(p.statusCount).isEqualTo(9);
        assertThat(p.referenceTime).isEqualTo(6551830);
        assertThat(p.feedbackCount).isEqualTo(179);
        assertThat(p.seqs).containsExactly(34108, 34109, 34110, 34111, 34112, 34113, 34114, 34115, 34116);
        assertThat(p.received).containsExactly(true, true, true, true, true, false, true, false, false);
        // deltas 38750, 42500, 26500, 42500, 30750, (lost), 66250 (large), accumulated
        assertThat(p.relativeUs).containsExactly(38750L, 81250L, 107750L, 150250L, 181000L, null, 247250L, null, null);
    }

    /**
     * A Chromium feedback packet as captured and dissected by Wireshark in olivermichel/webrtc-analysis
     * test/include/data.h ({@code twcc_pkt1}): one run-length chunk of nine small deltas, one byte of padding.
     */
    @Test
    void decodesChromiumCaptureFromWebrtcAnalysis() {
        ByteBuf b = bytes(0xaf, 0xcd, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0xdd, 0x58, 0x6e, 0xb6, 0x00, 0x01, 0x00, 0x09,
                0x5e, 0x91, 0x10, 0x00, 0x20, 0x09, 0x1c, 0x0c, 0x2c, 0x38, 0x00, 0x04, 0x00, 0x08, 0x18, 0x01);
        Parsed p = parse(b, 0);
        assertThat(p.mediaSsrc).isEqualTo(0xdd586eb6L);
        assertThat(p.baseSeq).isEqualTo(1);
        assertThat(p.referenceTime).isEqualTo(6197520);
        assertThat(p.received).containsOnly(true).hasSize(9);
        // Wireshark: 7, 3, 11, 14, 0, 1, 0, 2, 6 ms
        assertThat(p.relativeUs).containsExactly(7000L, 10000L, 21000L, 35000L, 35000L, 36000L, 36000L, 38000L, 44000L);
    }

    /** pion/rtcp TestTransportLayerCC_Marshal "example3": run-length chunks of large then small deltas. */
    @Test
    void decodesPionMarshalExample3() {
        ByteBuf b = bytes(0xaf, 0xcd, 0x0, 0x7, 0xfa, 0x17, 0xfa, 0x17, 0x19, 0x3d, 0xd8, 0xbb, 0x1, 0x74, 0x0, 0x6,
                0x45, 0xb1, 0x5a, 0x40, 0x40, 0x2, 0x20, 0x04, 0x1f, 0xfe, 0x1f, 0x9a, 0xd0, 0x0, 0xd0, 0x0);
        Parsed p = parse(b, 0);
        assertThat(p.baseSeq).isEqualTo(372);
        assertThat(p.referenceTime).isEqualTo(4567386);
        assertThat(p.feedbackCount).isEqualTo(64);
        assertThat(p.relativeUs).containsExactly(2047500L, 4070000L, 4122000L, 4122000L, 4174000L, 4174000L);
    }

    /**
     * Our writer reproduces pion/rtcp TestTransportLayerCC_Marshal "example4" (run-length chunk), "example5" and
     * "example6" (one-bit status vectors) byte for byte, padding included.
     */
    @Test
    void encodesLikePionMarshalExamples() {
        assertThat(encode(4195875351L, 423483579L, 1, 4, 1074030, 19000, 9000, 9000, 4000, 3000, 3000, 4000))
                .isEqualTo("afcd0007" + "fa17fa17" + "193dd8bb" + "00040007" + "10636e01" + "2007" + "4c2424100c0c10"
                        + "000003");
        assertThat(encode(4195875351L, 423483579L, 0, 1, 1074029, 4000, 3000, 3000, -1, 4000, -1, -1, -1, -1, -1, -1,
                -1, -1, -1)).isEqualTo("afcd0006" + "fa17fa17" + "193dd8bb" + "0001000e" + "10636d00" + "ba00"
                + "100c0c10" + "0002");
        assertThat(encode(4195875351L, 1124282272L, 0, 39956, 7701536, 48250, 15750, 14750, 15750, 20750, -1, 36000,
                14750, -1, -1, -1, -1)).isEqualTo("afcd0007" + "fa17fa17" + "43032fa0" + "9c14000c" + "75842000"
                + "bec0" + "c13f3b3f53903b" + "000003");
    }

    /** deltasUs: per sequence number, the receive delta in µs, or -1 for not received. */
    private static String encode(long sender, long media, int fbCount, int baseSeq, int refTime, long... deltasUs) {
        long[] arrivals = new long[deltasUs.length];
        long t = refTime * TransportCcFeedback.REFERENCE_TICK_US;
        for (int i = 0; i < deltasUs.length; i++) {
            if (deltasUs[i] < 0) {
                arrivals[i] = NOT_RECEIVED;
            } else {
                t += deltasUs[i];
                arrivals[i] = t;
            }
        }
        ByteBuf out = Unpooled.buffer();
        int n = new TransportCcFeedback.Writer().write(out, sender, media, fbCount, baseSeq, arrivals.length,
                s -> arrivals[(int) (s - baseSeq)], 1200);
        assertThat(n).isEqualTo(arrivals.length);
        return hex(out);
    }

    // --- Round trips -----------------------------------------------------------------------------------------------

    /**
     * Writes arrivals (index i = sequence number first + i) with the given size limit, parses every packet, and checks
     * each sequence number is reported exactly once, with its arrival to the 250 µs tick.
     *
     * @return the number of feedback packets
     */
    static int roundTrip(long first, long[] arrivals, int maxBytes) {
        ByteBuf out = Unpooled.buffer();
        TransportCcFeedback.Writer w = new TransportCcFeedback.Writer();
        long from = first;
        int left = arrivals.length;
        int packets = 0;
        List<Integer> starts = new ArrayList<>();
        while (left > 0) {
            starts.add(out.writerIndex());
            int before = out.writerIndex();
            int n = w.write(out, 1, 2, packets & 0xFF, from, left, s -> arrivals[(int) (s - first)], maxBytes);
            assertThat(n).isPositive();
            assertThat(out.writerIndex() - before).isLessThanOrEqualTo(maxBytes);
            from += n;
            left -= n;
            packets++;
        }
        assertThat(RtcpPacket.isValidCompound(out)).isTrue();
        int k = 0;
        for (int p = 0; p < starts.size(); p++) {
            int off = starts.get(p);
            int len = RtcpPacket.lengthBytes(out, off);
            assertThat(len % 4).isZero();
            assertThat(len).isLessThanOrEqualTo(maxBytes);
            Parsed parsed = parse(out, off);
            assertThat(parsed.feedbackCount).isEqualTo(p & 0xFF);
            assertThat(parsed.baseSeq).isEqualTo((int) ((first + k) & 0xFFFF));
            for (int i = 0; i < parsed.seqs.size(); i++, k++) {
                assertThat(parsed.seqs.get(i)).isEqualTo((int) ((first + k) & 0xFFFF));
                long expected = arrivals[k];
                if (expected == NOT_RECEIVED) {
                    assertThat(parsed.received.get(i)).as("seq index %d", k).isFalse();
                } else {
                    assertThat(parsed.received.get(i)).as("seq index %d", k).isTrue();
                    assertThat(parsed.arrivalUs.get(i)).as("arrival of index %d", k)
                            .isEqualTo(Math.floorDiv(expected, 250) * 250);
                }
            }
        }
        assertThat(k).isEqualTo(arrivals.length);
        return packets;
    }

    @Test
    void roundTripAllReceived() {
        long[] a = new long[500];
        for (int i = 0; i < a.length; i++) {
            a[i] = 10_000_000 + i * 1_337L;
        }
        assertThat(roundTrip(100, a, 1200)).isEqualTo(1);
    }

    @Test
    void roundTripAllLostButLast() {
        long[] a = new long[3000];
        Arrays.fill(a, NOT_RECEIVED);
        a[a.length - 1] = 5_000_123;
        assertThat(roundTrip(65_000, a, 1200)).isEqualTo(1); // sequence numbers wrap inside the packet
    }

    @Test
    void roundTripAllLost() {
        long[] a = new long[20];
        Arrays.fill(a, NOT_RECEIVED);
        assertThat(roundTrip(7, a, 1200)).isEqualTo(1);
    }

    @Test
    void roundTripAlternating() {
        long[] a = new long[301];
        for (int i = 0; i < a.length; i++) {
            a[i] = i % 2 == 0 ? 1_000_000 + i * 2_000L : NOT_RECEIVED;
        }
        roundTrip(0, a, 1200);
    }

    @Test
    void roundTripBigGaps() {
        long[] a = new long[20_000];
        Arrays.fill(a, NOT_RECEIVED);
        a[0] = 1_000;
        a[9_000] = 2_000_000;
        a[9_001] = 2_000_250;
        a[19_999] = 3_000_000;
        assertThat(roundTrip(40_000, a, 1200)).isEqualTo(1); // run-length chunks of 8191
    }

    @Test
    void roundTripReorderingNegativeDeltas() {
        long[] a = {50_000_000, 49_990_000, 50_020_000, 49_995_250, 50_030_000, 50_030_000, 50_029_999};
        roundTrip(10, a, 1200);
    }

    @Test
    void roundTripLargeDeltasAndMixedVectors() {
        Random r = new Random(7);
        long[] a = new long[1000];
        long t = 3_000_000;
        for (int i = 0; i < a.length; i++) {
            int kind = r.nextInt(10);
            if (kind == 0) {
                a[i] = NOT_RECEIVED;
                continue;
            }
            t += kind == 1 ? 70_000 + r.nextInt(1_000_000) : (kind == 2 ? -r.nextInt(40_000) : r.nextInt(3_000));
            a[i] = t;
        }
        roundTrip(12_345, a, 1200);
    }

    @Test
    void splitsWhenDeltaExceeds16Bits() {
        long[] a = {1_000_000, 1_000_000 + 8_000_000, 1_000_000 + 8_000_000 + 8_200_000, 1_000_000 + 8_000_000};
        // 8.2 s > 32767 × 250 µs: the third packet needs a new reference time; the negative jump after it too.
        assertThat(roundTrip(0, a, 1200)).isEqualTo(3);
    }

    @Test
    void splitsAtSizeLimit() {
        Random r = new Random(3);
        long[] a = new long[5000];
        long t = 0;
        for (int i = 0; i < a.length; i++) {
            t += r.nextInt(100_000);
            a[i] = r.nextBoolean() ? t : NOT_RECEIVED;
        }
        int packets = roundTrip(1, a, 1200);
        assertThat(packets).isGreaterThan(3);
        assertThat(roundTrip(1, a, 64)).isGreaterThan(packets);
    }

    @Test
    void choosesCompactChunks() {
        // 1000 received in order with small deltas: run-length chunks, about 1 byte per packet.
        long[] a = new long[1000];
        for (int i = 0; i < a.length; i++) {
            a[i] = i * 1000L;
        }
        ByteBuf out = Unpooled.buffer();
        new TransportCcFeedback.Writer().write(out, 1, 2, 0, 0, a.length, s -> a[(int) s], 1200);
        assertThat(out.readableBytes()).isEqualTo(20 + 2 + 1000 + 2); // + padding to 32 bits
        // Alternating received/lost: one-bit vectors, 14 statuses per chunk.
        long[] b = new long[140];
        for (int i = 0; i < b.length; i++) {
            b[i] = i % 2 == 0 ? i * 1000L : NOT_RECEIVED;
        }
        out.clear();
        new TransportCcFeedback.Writer().write(out, 1, 2, 0, 0, b.length, s -> b[(int) s], 1200);
        assertThat(out.getUnsignedShort(20) >> 14).isEqualTo(2); // T=1, S=0
        assertThat(out.readableBytes()).isEqualTo(20 + 2 * 10 + 70 + 2);
    }

    // --- Malformed input -------------------------------------------------------------------------------------------

    /** pion/rtcp TestTransportLayerCC_Unmarshal "example8" and "example9": deltas missing (errPacketTooShort). */
    @Test
    void rejectsPionTooShortExamples() {
        assertThat(TransportCcFeedback.parse(bytes(0xaf, 0xcd, 0x0, 0x5, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x3, 0x2f, 0xa0,
                0x0, 0x99, 0x0, 0x3, 0x3d, 0xe8, 0x2, 0x17, 0x20, 0x3, 0x94, 0x1), 0, new Parsed())).isFalse();
        assertThat(TransportCcFeedback.parse(bytes(0xaf, 0xcd, 0x0, 0x5, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x3, 0x2f, 0xa0,
                0x0, 0x99, 0x0, 0x2, 0x3d, 0xe8, 0x2, 0x17, 0x40, 0x2, 0x94, 0x1), 0, new Parsed())).isFalse();
    }

    @Test
    void rejectsTruncatedAndOverrunningPackets() {
        long[] a = new long[40];
        for (int i = 0; i < a.length; i++) {
            a[i] = i % 3 == 0 ? NOT_RECEIVED : 1_000_000 + i * 90_000L;
        }
        ByteBuf good = Unpooled.buffer();
        new TransportCcFeedback.Writer().write(good, 1, 2, 0, 0, a.length, s -> a[(int) s], 1200);
        assertThat(TransportCcFeedback.parse(good, 0, new Parsed())).isTrue();
        int len = good.readableBytes();
        for (int cut = 0; cut < len; cut++) {
            Parsed p = new Parsed();
            assertThat(TransportCcFeedback.parse(good.slice(0, cut), 0, p)).as("cut at %d", cut).isFalse();
            assertThat(p.seqs).isEmpty();
        }
        // Status count larger than the chunks and deltas can cover.
        ByteBuf more = good.copy();
        more.setShort(14, 1000);
        assertThat(TransportCcFeedback.parse(more, 0, new Parsed())).isFalse();
        // RTCP length shorter than the content.
        ByteBuf shorter = good.copy();
        shorter.setShort(2, shorter.getUnsignedShort(2) - 2);
        assertThat(TransportCcFeedback.parse(shorter, 0, new Parsed())).isFalse();
        // A reserved two-bit symbol (3).
        ByteBuf reserved = good.copy();
        reserved.setShort(20, 0xFFFF);
        assertThat(TransportCcFeedback.parse(reserved, 0, new Parsed())).isFalse();
        // Not transport-cc: a generic NACK.
        ByteBuf nack = good.copy();
        nack.setByte(0, (nack.getByte(0) & 0xE0) | 1);
        assertThat(TransportCcFeedback.parse(nack, 0, new Parsed())).isFalse();
        // Padding count larger than the payload.
        ByteBuf pad = good.copy();
        pad.setByte(0, pad.getByte(0) | 0x20);
        pad.setByte(len - 1, 200);
        assertThat(TransportCcFeedback.parse(pad, 0, new Parsed())).isFalse();
    }

    @Test
    void randomInputNeverThrows() {
        Random r = new Random(42);
        Parsed sink = new Parsed();
        int accepted = 0;
        for (int i = 0; i < 100_000; i++) {
            byte[] b = new byte[r.nextInt(64)];
            r.nextBytes(b);
            if (b.length > 4) {
                b[0] = (byte) (0x8F | (b[0] & 0x20));
                b[1] = (byte) 205;
                b[2] = 0;
                b[3] = (byte) r.nextInt(16);
            }
            int off = b.length > 0 ? r.nextInt(3) - 1 : 0;
            if (TransportCcFeedback.parse(Unpooled.wrappedBuffer(b), Math.max(off, 0), sink)) {
                accepted++;
            }
        }
        assertThat(accepted).isLessThan(100_000);
    }

    @Test
    void parsesInsideACompoundAtAnOffset() {
        long[] a = {1_000, 2_000, NOT_RECEIVED, 4_000};
        ByteBuf out = Unpooled.buffer();
        out.writeBytes(new byte[]{(byte) 0x80, (byte) 201, 0, 1, 0, 0, 0, 9}); // an empty receiver report first
        new TransportCcFeedback.Writer().write(out, 5, 6, 9, 500, a.length, s -> a[(int) (s - 500)], 1200);
        assertThat(TransportCcFeedback.isTransportCc(out, 8)).isTrue();
        Parsed p = parse(out, 8);
        assertThat(p.senderSsrc).isEqualTo(5);
        assertThat(p.received).containsExactly(true, true, false, true);
    }

    @Test
    void readsAndWritesTheSequenceNumberExtension() {
        // RTP header, one-byte extensions: id 3 (transport-cc) = 0x1234, id 1 = 0x77
        ByteBuf rtp = Unpooled.wrappedBuffer(HexFormat.of().parseHex(
                "9060" + "0001" + "00000000" + "00000001" + "bede0002" + "311234" + "1077" + "000000" + "aabb"));
        assertThat(TransportCcFeedback.readSequenceNumber(rtp, 3)).isEqualTo(0x1234);
        assertThat(TransportCcFeedback.readSequenceNumber(rtp, 1)).isEqualTo(-1); // one byte long, not 2
        assertThat(TransportCcFeedback.readSequenceNumber(rtp, 5)).isEqualTo(-1);
        assertThat(TransportCcFeedback.writeSequenceNumber(rtp, 3, 0xFFFE)).isTrue();
        assertThat(TransportCcFeedback.readSequenceNumber(rtp, 3)).isEqualTo(0xFFFE);
        assertThat(TransportCcFeedback.writeSequenceNumber(rtp, 5, 1)).isFalse();
    }
}
