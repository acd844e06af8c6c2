package org.consultbridge.bridge.cc;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.junit.jupiter.api.Test;

/** The receive side: what it records, what its feedback says (checked with the parser), limits. */
class TransportCcReceiverTest {

    /** All statuses of a compound of feedback packets, by 16-bit sequence number, in order; null = not received. */
    static Map<Integer, Long> parseAll(ByteBuf b, List<TransportCcFeedbackTest.Parsed> headers) {
        assertThat(RtcpPacket.isValidCompound(b)).isTrue();
        Map<Integer, Long> out = new LinkedHashMap<>();
        int off = b.readerIndex();
        while (off < b.writerIndex()) {
            TransportCcFeedbackTest.Parsed p = TransportCcFeedbackTest.parse(b, off);
            headers.add(p);
            for (int i = 0; i < p.seqs.size(); i++) {
                assertThat(out).doesNotContainKey(p.seqs.get(i));
                out.put(p.seqs.get(i), p.arrivalUs.get(i));
            }
            off += RtcpPacket.lengthBytes(b, off);
        }
        return out;
    }

    @Test
    void feedbackMatchesArrivals() {
        TransportCcReceiver rx = new TransportCcReceiver();
        Random r = new Random(1);
        Map<Integer, Long> sentArrivalUs = new LinkedHashMap<>();
        long t = 1_000_000_000L; // ns
        for (int seq = 65_500; seq < 65_500 + 300; seq++) { // wraps past 65535
            t += r.nextInt(3_000_000);
            int s16 = seq & 0xFFFF;
            if (r.nextInt(10) == 0) {
                sentArrivalUs.put(s16, null);
                continue;
            }
            rx.onPacket(s16, t);
            sentArrivalUs.put(s16, t / 1000);
        }
        // The last one must be received for the feedback to cover everything.
        int last = (65_500 + 300) & 0xFFFF;
        t += 1_000_000;
        rx.onPacket(last, t);
        sentArrivalUs.put(last, t / 1000);
        // The first is where the window starts; drop a leading loss that the receiver cannot know about.
        while (sentArrivalUs.values().iterator().next() == null) {
            sentArrivalUs.remove(sentArrivalUs.keySet().iterator().next());
        }

        ByteBuf out = Unpooled.buffer();
        int n = rx.writeFeedback(out, 0x1111, 0x2222, t);
        assertThat(n).isEqualTo(out.readableBytes()).isPositive();
        List<TransportCcFeedbackTest.Parsed> headers = new ArrayList<>();
        Map<Integer, Long> got = parseAll(out, headers);
        assertThat(got.keySet()).containsExactlyElementsOf(sentArrivalUs.keySet());
        for (Map.Entry<Integer, Long> e : sentArrivalUs.entrySet()) {
            Long want = e.getValue();
            Long have = got.get(e.getKey());
            if (want == null) {
                assertThat(have).as("seq %d", e.getKey()).isNull();
            } else {
                // 24-bit reference time wraps every 2^24 × 64 ms: compare modulo that period, to the 250 µs tick.
                long expect = Math.floorMod(Math.floorDiv(want, 250) * 250, TransportCcFeedback.REFERENCE_WRAP_US);
                assertThat(have).as("seq %d", e.getKey()).isEqualTo(expect);
            }
        }
        assertThat(headers.get(0).senderSsrc).isEqualTo(0x1111);
        assertThat(headers.get(0).mediaSsrc).isEqualTo(0x2222);
        // Nothing new: nothing written.
        assertThat(rx.writeFeedback(out, 1, 2, t)).isZero();
    }

    @Test
    void successiveFeedbackContinuesWhereThePreviousEnded() {
        TransportCcReceiver rx = new TransportCcReceiver();
        for (int s = 0; s < 10; s++) {
            rx.onPacket(s, 1_000_000L * s);
        }
        ByteBuf a = Unpooled.buffer();
        rx.writeFeedback(a, 1, 2, 0);
        rx.onPacket(12, 20_000_000);
        rx.onPacket(11, 21_000_000); // reordered inside the window: still recorded
        rx.onPacket(12, 22_000_000); // duplicate: ignored
        rx.onPacket(5, 23_000_000);  // already reported: late
        ByteBuf b = Unpooled.buffer();
        rx.writeFeedback(b, 1, 2, 0);
        List<TransportCcFeedbackTest.Parsed> ha = new ArrayList<>();
        List<TransportCcFeedbackTest.Parsed> hb = new ArrayList<>();
        assertThat(parseAll(a, ha)).hasSize(10);
        Map<Integer, Long> second = parseAll(b, hb);
        assertThat(second.keySet()).containsExactly(10, 11, 12);
        assertThat(second.get(10)).isNull();
        assertThat(second.get(11)).isEqualTo(21_000);
        assertThat(second.get(12)).isEqualTo(20_000);
        assertThat(hb.get(0).feedbackCount).isEqualTo(ha.get(0).feedbackCount + 1);
        assertThat(rx.duplicates()).isEqualTo(1);
        assertThat(rx.late()).isEqualTo(1);
        assertThat(rx.packets()).isEqualTo(12);
    }

    @Test
    void feedbackCountIncrementsPerPacketAndWraps() {
        TransportCcReceiver rx = new TransportCcReceiver(64);
        ByteBuf out = Unpooled.buffer();
        int seq = 0;
        List<Integer> counts = new ArrayList<>();
        for (int round = 0; round < 150; round++) {
            for (int i = 0; i < 100; i++, seq++) {
                if (i % 2 == 0) {
                    rx.onPacket(seq & 0xFFFF, 1_000_000L * seq);
                }
            }
            rx.onPacket(seq & 0xFFFF, 1_000_000L * seq);
            seq++;
            out.clear();
            rx.writeFeedback(out, 1, 2, 0);
            List<TransportCcFeedbackTest.Parsed> headers = new ArrayList<>();
            parseAll(out, headers);
            assertThat(headers.size()).isGreaterThan(1); // 64-byte packets: split
            headers.forEach(h -> counts.add(h.feedbackCount));
            int off = 0;
            while (off < out.writerIndex()) {
                assertThat(RtcpPacket.lengthBytes(out, off)).isLessThanOrEqualTo(64);
                off += RtcpPacket.lengthBytes(out, off);
            }
        }
        assertThat(counts.size()).isGreaterThan(256);
        for (int i = 0; i < counts.size(); i++) {
            assertThat(counts.get(i)).isEqualTo(i & 0xFF);
        }
        assertThat(rx.feedbackPacketsWritten()).isEqualTo(counts.size());
    }

    @Test
    void hugeGapRestartsTheWindow() {
        TransportCcReceiver rx = new TransportCcReceiver();
        rx.onPacket(100, 1_000_000);
        rx.onPacket(101, 2_000_000);
        rx.onPacket(100 + 5_000, 3_000_000);
        rx.onPacket(100 + 5_002, 4_000_000);
        ByteBuf out = Unpooled.buffer();
        rx.writeFeedback(out, 1, 2, 0);
        Map<Integer, Long> got = parseAll(out, new ArrayList<>());
        assertThat(got.keySet()).containsExactly(5_100, 5_101, 5_102);
        assertThat(got.get(5_101)).isNull();
        assertThat(rx.windowRestarts()).isEqualTo(1);
        // A gap below the window is reported as losses.
        rx.onPacket(5_102 + 1_000, 5_000_000);
        out.clear();
        rx.writeFeedback(out, 1, 2, 0);
        got = parseAll(out, new ArrayList<>());
        assertThat(got).hasSize(1_000);
        assertThat(got.values().stream().filter(v -> v != null)).hasSize(1);
    }

    @Test
    void delayedFeedbackSplitsOnLongDelta() {
        TransportCcReceiver rx = new TransportCcReceiver();
        rx.onPacket(1, 0);
        rx.onPacket(2, 9_000_000_000L); // 9 s later: more than 32767 × 250 µs
        ByteBuf out = Unpooled.buffer();
        rx.writeFeedback(out, 1, 2, 0);
        List<TransportCcFeedbackTest.Parsed> headers = new ArrayList<>();
        Map<Integer, Long> got = parseAll(out, headers);
        assertThat(headers).hasSize(2);
        assertThat(got.get(1)).isEqualTo(0);
        assertThat(got.get(2)).isEqualTo(9_000_000);
    }

    @Test
    void packetPathDoesNotAllocate() {
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        TransportCcReceiver rx = new TransportCcReceiver();
        ByteBuf out = Unpooled.directBuffer(64 * 1024);
        long sink = 0;
        for (int i = 0; i < 50_000; i++) {
            sink += step(rx, out, i);
        }
        long before = mx.getCurrentThreadAllocatedBytes();
        for (int i = 50_000; i < 250_000; i++) {
            sink += step(rx, out, i);
        }
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        assertThat(sink).isPositive();
        assertThat(allocated).as("bytes allocated over 200k packets").isLessThan(4096);
    }

    private static long step(TransportCcReceiver rx, ByteBuf out, int i) {
        if (i % 7 != 3) {
            rx.onPacket(i & 0xFFFF, 1_000_000L * i + (i % 5) * 300_000L);
        }
        if (i % 50 == 0) {
            out.clear();
            return rx.writeFeedback(out, 1, 2, 0);
        }
        return 0;
    }
}
