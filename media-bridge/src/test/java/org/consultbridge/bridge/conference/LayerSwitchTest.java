package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.rtp.RtpRewriter;
import org.consultbridge.bridge.rtp.Vp8Payload;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A {@link Consumer}'s layer switching and rewriting, packet by packet, on the bridge's own per-packet calls
 * ({@code admit}, {@code outSeq}/{@code outTimestamp}, {@code videoSent}, as {@code Endpoint.forward} makes them):
 * switches only on the target layer's keyframe, and the receiver sees one continuous stream — sequence numbers
 * (16 bits), timestamps (32 bits), VP8 picture ids (15 or 7 bits) and TL0PICIDX (8 bits, RFC 7741 §4.2) — also
 * when any of them wraps, on the layer left, on the layer switched to, or in the output.
 */
class LayerSwitchTest {

    private static final long T0 = 1_000_000_000_000L;
    private static final long FRAME_NANOS = 33_000_000L;
    private static ConferenceFixture fixture;
    private static Endpoint room;
    private static Endpoint doctor;

    private Producer producer;
    private Consumer c;
    private long now;

    @BeforeAll
    static void startBridge() {
        fixture = new ConferenceFixture();
        room = fixture.endpoint("room");
        doctor = fixture.endpoint("doctor");
    }

    @AfterAll
    static void stopBridge() {
        fixture.close();
    }

    @BeforeEach
    void newConsumer() {
        producer = fixture.simulcastVp8(room, "q", "h", "f");
        c = ConferenceFixture.consumer(producer, doctor, 0xD0C0L);
        now = T0;
    }

    // ---------------------------------------------------------------- packets

    /** One VP8 packet (RFC 7741 §4.2): X=1, S=1, I=1 (15- or 7-bit picture id), L=1 (TL0PICIDX); no extensions. */
    static ByteBuf vp8(int seq, long ts, int pictureId, boolean sevenBitPictureId, int tl0, boolean keyframe) {
        ByteBuf b = Unpooled.buffer(40);
        b.writeByte(0x80).writeByte(96).writeShort(seq).writeInt((int) ts).writeInt(0x1234);
        b.writeByte(0x90).writeByte(0xC0);
        if (sevenBitPictureId) {
            b.writeByte(pictureId & 0x7F);
        } else {
            b.writeByte(0x80 | ((pictureId >> 8) & 0x7F)).writeByte(pictureId & 0xFF);
        }
        b.writeByte(tl0);
        // VP8 payload header (RFC 7741 §4.3): P=0 on a keyframe, then its start code; P=1 on a delta frame
        b.writeBytes(keyframe ? new byte[] {0x00, 0x02, 0x00, (byte) 0x9d, 0x01, 0x2a} : new byte[] {0x01, 0x11});
        return b;
    }

    static ByteBuf vp8(int seq, long ts, int pictureId, int tl0, boolean keyframe) {
        return vp8(seq, ts, pictureId, false, tl0, keyframe);
    }

    record Out(int seq, long ts, int pictureId, int tl0) {
        static Out of(ByteBuf b) {
            int off = RtpPacket.payloadOffset(b);
            int len = RtpPacket.payloadLength(b);
            return new Out(RtpPacket.sequenceNumber(b), RtpPacket.timestamp(b), Vp8Payload.pictureId(b, off, len),
                    Vp8Payload.tl0PicIdx(b, off, len));
        }
    }

    /** What {@code Endpoint.forward} does with a VP8 packet of layer {@code layer}: null when it is not forwarded. */
    private Out forward(int layer, ByteBuf pkt) {
        InboundStream s = producer.streams[layer];
        boolean keyframe = Vp8Payload.isKeyframe(pkt, RtpPacket.payloadOffset(pkt), RtpPacket.payloadLength(pkt));
        if (!c.admit(s, pkt, true, keyframe, now)) {
            return null;
        }
        int outSeq = c.outSeq(RtpPacket.sequenceNumber(pkt));
        long outTs = c.outTimestamp(RtpPacket.timestamp(pkt));
        ByteBuf out = Unpooled.buffer(pkt.readableBytes() + 64);
        RtpRewriter.copyRewritten(pkt, out, 96, outSeq, outTs, c.ssrc, c.extensionIdMap);
        c.videoSent(out, true, outSeq, outTs, now);
        assertThat(RtpPacket.ssrc(out)).isEqualTo(c.ssrc);
        return Out.of(out);
    }

    private long pli(int layer) {
        return producer.streams[layer].keyframeRequestsSent;
    }

    // ---------------------------------------------------------------- switching

    @Test
    void nothingIsForwardedBeforeAKeyframeOfTheTargetLayerWhichIsAskedFor() {
        assertThat(c.targetLayer).as("unconstrained at first: the top layer").isEqualTo(2);
        assertThat(forward(2, vp8(500, 9000, 40, 7, false))).as("a delta frame cannot start a decoder").isNull();
        assertThat(pli(2)).isEqualTo(1);
        assertThat(forward(0, vp8(100, 1000, 10, 3, true))).as("another layer's keyframe").isNull();
        assertThat(pli(0)).isZero();
        now += FRAME_NANOS;
        Out first = forward(2, vp8(501, 12000, 41, 8, true));
        assertThat(first).as("the first layer goes out as it came").isEqualTo(new Out(501, 12000, 41, 8));
        assertThat(c.currentLayer).isEqualTo(2);
        assertThat(c.layerSwitches).as("a start is no switch").isZero();
        assertThat(forward(2, vp8(502, 15000, 42, 9, false))).isEqualTo(new Out(502, 15000, 42, 9));
    }

    /**
     * Join time (a browser publisher): its simulcast starts without the top layer, which the new consumer targets
     * until the allocator runs. The first frame comes from the highest layer that flows, its keyframe asked for at
     * once; the switch up follows the allocator (here: the top layer starts flowing and is the target).
     */
    @Test
    void beforeTheTopLayerFlowsTheReceiverStartsOnTheHighestLayerThatDoes() {
        producer.streams[0].onPacket(1000, true, now);
        producer.streams[1].onPacket(1000, true, now);
        assertThat(c.targetLayer).isEqualTo(2);
        c.requestKeyframe(now); // what the subscribe transport's connection does
        assertThat(pli(1)).as("asked of a layer that flows").isEqualTo(1);
        assertThat(pli(2)).isZero();
        assertThat(forward(0, vp8(100, 1000, 10, 3, true))).as("not the lowest: the highest that flows").isNull();
        assertThat(forward(1, vp8(299, 2000, 19, 3, false))).as("a delta frame cannot start a decoder").isNull();
        Out first = forward(1, vp8(300, 5000, 20, 4, true));
        assertThat(first).isEqualTo(new Out(300, 5000, 20, 4));
        assertThat(c.currentLayer).isEqualTo(1);
        assertThat(forward(1, vp8(301, 8000, 21, 5, false))).isNotNull();

        now += FRAME_NANOS;
        producer.streams[2].onPacket(1000, true, now); // the top layer starts
        assertThat(forward(2, vp8(900, 20_000, 70, 9, false))).as("a switch still needs its keyframe").isNull();
        Out up = forward(2, vp8(901, 23_000, 71, 10, true));
        assertThat(up.seq()).isEqualTo(302);
        assertThat(c.currentLayer).isEqualTo(2);
    }

    @Test
    void aSwitchWaitsForTheNewLayersKeyframeAndContinuesEveryCounter() {
        c.targetLayer = 2;
        forward(2, vp8(50_000, 7_000, 30_000, 250, true));
        Out last = forward(2, vp8(50_001, 7_000, 30_000, 250, false));
        c.targetLayer = 0; // the allocator's choice (e.g. the view became small)
        now += FRAME_NANOS;
        assertThat(forward(0, vp8(100, 1_000, 10, 5, false))).as("layer 0 has no keyframe yet").isNull();
        assertThat(pli(0)).isEqualTo(1);
        Out stillOld = forward(2, vp8(50_002, 10_000, 30_001, 251, false));
        assertThat(stillOld).as("until then the old layer goes on").isEqualTo(new Out(50_002, 10_000, 30_001, 251));
        assertThat(pli(0)).as("asked again at most every 300 ms").isEqualTo(1);
        last = stillOld;

        now += 40_000_000L; // 40 ms after the old layer's last packet
        Out first = forward(0, vp8(101, 4_000, 11, 6, true));
        assertThat(first.seq()).as("next sequence number").isEqualTo(last.seq() + 1);
        assertThat(first.pictureId()).as("next picture id").isEqualTo(last.pictureId() + 1);
        assertThat(first.tl0()).as("next TL0PICIDX").isEqualTo(last.tl0() + 1);
        assertThat(first.ts() - last.ts()).as("timestamp advanced by the wall-clock gap at 90 kHz").isEqualTo(3600);
        assertThat(c.currentLayer).isZero();
        assertThat(c.layerSwitches).isEqualTo(1);

        assertThat(forward(2, vp8(50_003, 13_000, 30_002, 252, false))).as("the old layer stops").isNull();
        now += FRAME_NANOS;
        Out next = forward(0, vp8(102, 7_000, 12, 7, false));
        assertThat(next).isEqualTo(new Out(first.seq() + 1, first.ts() + 3_000, first.pictureId() + 1,
                first.tl0() + 1));
        assertThat(forward(0, vp8(100, 1_000, 10, 5, false))).as("older than the switching keyframe").isNull();
    }

    @Test
    void reorderedPacketsAreForwardedButTheNextSwitchContinuesFromTheNewest() {
        c.targetLayer = 1;
        forward(1, vp8(1000, 90_000, 500, 20, true));
        Out third = forward(1, vp8(1002, 93_000, 501, 21, false));
        Out late = forward(1, vp8(1001, 90_000, 500, 20, false));
        assertThat(late).as("late, but after the keyframe: forwarded").isEqualTo(new Out(1001, 90_000, 500, 20));
        c.targetLayer = 0;
        now += 10_000_000L;
        Out first = forward(0, vp8(7, 100, 3, 1, true));
        assertThat(first.seq()).isEqualTo(third.seq() + 1);
        assertThat(first.pictureId()).isEqualTo(third.pictureId() + 1);
        assertThat(first.tl0()).isEqualTo(third.tl0() + 1);
        assertThat(first.ts()).isEqualTo(third.ts() + 900);
    }

    @Test
    void resumingAfterSuspensionContinuesTheStream() {
        c.targetLayer = 0;
        forward(0, vp8(10, 1000, 10, 1, true));
        Out last = forward(0, vp8(11, 4000, 11, 2, false));
        c.targetLayer = -1; // what the allocator does when the link cannot carry even the lowest layer
        c.currentLayer = -1;
        now += 5_000_000_000L;
        assertThat(forward(0, vp8(12, 7000, 12, 3, true))).as("suspended: not even a keyframe").isNull();
        c.targetLayer = 0;
        assertThat(forward(0, vp8(200, 457_000, 200, 190, false))).isNull();
        Out resumed = forward(0, vp8(201, 460_000, 201, 191, true));
        assertThat(resumed.seq()).isEqualTo(last.seq() + 1);
        assertThat(resumed.pictureId()).isEqualTo(last.pictureId() + 1);
        assertThat(resumed.tl0()).isEqualTo(last.tl0() + 1);
        assertThat(resumed.ts() - last.ts()).as("5 s at 90 kHz").isEqualTo(450_000L);
    }

    // ---------------------------------------------------------------- wrap-around

    @Test
    void sequenceNumbersWrapOnTheOldLayerAndOnTheNewOne() {
        c.targetLayer = 0;
        List<Integer> seqs = new ArrayList<>();
        int pid = 1;
        for (int in : new int[] {65533, 65534, 65535, 0, 1}) {
            seqs.add(forward(0, vp8(in, 3000L * pid, pid, pid, pid == 1)).seq());
            pid++;
        }
        assertThat(seqs).as("the old layer wraps").containsExactly(65533, 65534, 65535, 0, 1);
        c.targetLayer = 1;
        now += FRAME_NANOS;
        for (int in : new int[] {65534, 65535, 0, 1}) {
            seqs.add(forward(1, vp8(in, 3000L * pid, pid, pid, in == 65534)).seq());
            pid++;
        }
        assertThat(seqs.subList(5, 9)).as("the new layer wraps, the output goes on").containsExactly(2, 3, 4, 5);
        assertThat(c.inputSeq(4)).as("a NACK maps back across the wrap").isEqualTo(0);
        assertThat(c.inputSeq(1)).as("a NACK for the old layer's packet").isEqualTo(-1);
    }

    @Test
    void theOutputWrapsAfterASwitch() {
        c.targetLayer = 0;
        forward(0, vp8(65532, 0, 1, 1, true));
        forward(0, vp8(65533, 3000, 2, 2, false));
        c.targetLayer = 1;
        now += FRAME_NANOS;
        List<Integer> seqs = new ArrayList<>();
        for (int in = 1000; in < 1004; in++) {
            seqs.add(forward(1, vp8(in, 3000L * in, in, in & 0xFF, in == 1000)).seq());
        }
        assertThat(seqs).containsExactly(65534, 65535, 0, 1);
        assertThat(c.inputSeq(0)).isEqualTo(1002);
        assertThat(c.inputSeq(65534)).as("the switching keyframe").isEqualTo(1000);
        assertThat(c.inputSeq(65533)).as("the last of the old layer").isEqualTo(-1);
    }

    @Test
    void fifteenBitPictureIdsWrapOnTheOldLayerAndOnTheNewOne() {
        c.targetLayer = 0;
        List<Integer> ids = new ArrayList<>();
        int seq = 0;
        for (int in : new int[] {32766, 32767, 0, 1}) {
            ids.add(forward(0, vp8(seq, 3000L * seq, in, 0, seq == 0)).pictureId());
            seq++;
        }
        c.targetLayer = 1;
        now += FRAME_NANOS;
        for (int in : new int[] {32767, 0, 1}) {
            ids.add(forward(1, vp8(seq, 3000L * seq, in, 0, in == 32767)).pictureId());
            seq++;
        }
        assertThat(ids).containsExactly(32766, 32767, 0, 1, 2, 3, 4);
    }

    @Test
    void fifteenBitPictureIdsWrapInTheOutputAfterASwitch() {
        c.targetLayer = 0;
        forward(0, vp8(0, 0, 32764, 0, true));
        forward(0, vp8(1, 3000, 32765, 0, false));
        c.targetLayer = 1;
        now += FRAME_NANOS;
        List<Integer> ids = new ArrayList<>();
        for (int in = 100; in < 104; in++) {
            ids.add(forward(1, vp8(in, 3000L * in, in, 0, in == 100)).pictureId());
        }
        assertThat(ids).containsExactly(32766, 32767, 0, 1);
    }

    @Test
    void sevenBitPictureIdsWrapAtTheirOwnWidth() {
        c.targetLayer = 0;
        List<Integer> ids = new ArrayList<>();
        int seq = 0;
        for (int in : new int[] {126, 127, 0}) {
            ids.add(forward(0, vp8(seq, 3000L * seq, in, true, 0, seq == 0)).pictureId());
            seq++;
        }
        c.targetLayer = 1;
        now += FRAME_NANOS;
        for (int in : new int[] {60, 61}) {
            ids.add(forward(1, vp8(seq, 3000L * seq, in, true, 0, in == 60)).pictureId());
            seq++;
        }
        assertThat(ids).as("the old layer wraps, the new one continues in 7 bits").containsExactly(126, 127, 0, 1, 2);
        List<Integer> later = new ArrayList<>();
        for (int in = 62; in < 190; in++) { // the new layer's own ids wrap 127 -> 0 on the way, and the output's
            later.add(forward(1, vp8(seq, 3000L * seq, in & 0x7F, true, 0, false)).pictureId());
            seq++;
        }
        for (int i = 0; i < later.size(); i++) {
            assertThat(later.get(i)).isEqualTo((3 + i) & 0x7F);
        }
        c.targetLayer = 0;
        now += FRAME_NANOS;
        Out first = forward(0, vp8(seq, 3000L * seq, 5, true, 0, true));
        assertThat(first.pictureId()).isEqualTo((later.getLast() + 1) & 0x7F);
    }

    @Test
    void tl0PicIdxWrapsOnTheOldLayerAndOnTheNewOne() {
        c.targetLayer = 0;
        List<Integer> tl0s = new ArrayList<>();
        int seq = 0;
        for (int in : new int[] {254, 255, 0}) {
            tl0s.add(forward(0, vp8(seq, 3000L * seq, seq, in, seq == 0)).tl0());
            seq++;
        }
        c.targetLayer = 1;
        now += FRAME_NANOS;
        for (int in : new int[] {253, 254, 255, 0, 1}) {
            tl0s.add(forward(1, vp8(seq, 3000L * seq, seq, in, in == 253)).tl0());
            seq++;
        }
        assertThat(tl0s).containsExactly(254, 255, 0, 1, 2, 3, 4, 5);
    }

    @Test
    void tl0PicIdxWrapsInTheOutputAfterASwitch() {
        c.targetLayer = 0;
        forward(0, vp8(0, 0, 0, 253, true));
        forward(0, vp8(1, 3000, 1, 254, false));
        c.targetLayer = 2;
        now += FRAME_NANOS;
        List<Integer> tl0s = new ArrayList<>();
        for (int in = 40; in < 43; in++) {
            tl0s.add(forward(2, vp8(in, 3000L * in, in, in, in == 40)).tl0());
        }
        assertThat(tl0s).containsExactly(255, 0, 1);
    }

    @Test
    void timestampsWrapOnTheOldLayerAndOnTheNewOne() {
        c.targetLayer = 0;
        List<Long> ts = new ArrayList<>();
        int seq = 0;
        for (long in : new long[] {4_294_961_296L, 4_294_964_296L, 0, 3000}) { // 2^32 - 6000, 2^32 - 3000, ...
            ts.add(forward(0, vp8(seq, in, seq, 0, seq == 0)).ts());
            seq++;
            now += FRAME_NANOS;
        }
        c.targetLayer = 1;
        now += 50_000_000L - FRAME_NANOS; // 50 ms after the old layer's last frame: 4500 ticks
        long in = 4_294_965_796L; // 2^32 - 1500: the new layer wraps after its first frame
        for (int f = 0; f < 3; f++) {
            ts.add(forward(1, vp8(seq, in, seq, 0, f == 0)).ts());
            seq++;
            in = (in + 3000) & 0xFFFF_FFFFL;
            now += FRAME_NANOS;
        }
        assertThat(ts).containsExactly(4_294_961_296L, 4_294_964_296L, 0L, 3000L, 7500L, 10_500L, 13_500L);
    }

    @Test
    void timestampsWrapInTheOutputAtTheSwitch() {
        c.targetLayer = 0;
        forward(0, vp8(0, 4_294_961_296L, 0, 0, true));
        forward(0, vp8(1, 4_294_964_296L, 1, 0, false));
        c.targetLayer = 1;
        now += 50_000_000L;
        Out first = forward(1, vp8(900, 123_456, 2, 0, true));
        now += FRAME_NANOS;
        Out next = forward(1, vp8(901, 126_456, 3, 0, false));
        assertThat(first.ts()).as("2^32 - 3000 + 4500").isEqualTo(1500L);
        assertThat(next.ts()).isEqualTo(4500L);
    }

    @Test
    void everyCounterStaysContinuousAcrossManySwitchesNearEveryWrapPoint() {
        Random random = new Random(7741);
        // three encoders, each starting just before every wrap point, sending in lock step as simulcast does
        int[] seq = new int[3];
        long[] ts = new long[3];
        int[] pid = new int[3];
        int[] tl0 = new int[3];
        for (int l = 0; l < 3; l++) {
            seq[l] = 65535 - random.nextInt(40);
            ts[l] = 0xFFFF_FFFFL - random.nextInt(300_000);
            pid[l] = 32767 - random.nextInt(40);
            tl0[l] = 255 - random.nextInt(20);
        }
        Out prev = null;
        int forwarded = 0;
        int switches = 0;
        for (int frame = 0; frame < 3000; frame++) {
            if (frame % 7 == 0) {
                int target = random.nextInt(3);
                if (target != c.targetLayer) {
                    c.targetLayer = target;
                    switches++;
                }
            }
            for (int l = 0; l < 3; l++) {
                // the target layer answers the bridge's PLI with a keyframe within a frame or two
                boolean keyframe = l == c.targetLayer && l != c.currentLayer && random.nextBoolean();
                int packets = 1 + random.nextInt(3);
                for (int p = 0; p < packets; p++) {
                    Out out = forward(l, vp8(seq[l], ts[l], pid[l], tl0[l], keyframe && p == 0));
                    seq[l] = (seq[l] + 1) & 0xFFFF;
                    if (out == null) {
                        continue;
                    }
                    forwarded++;
                    if (prev != null) {
                        assertThat(out.seq()).isEqualTo((prev.seq() + 1) & 0xFFFF);
                        boolean newFrame = p == 0;
                        assertThat(out.pictureId()).isEqualTo((prev.pictureId() + (newFrame ? 1 : 0)) & 0x7FFF);
                        assertThat(out.tl0()).isEqualTo((prev.tl0() + (newFrame ? 1 : 0)) & 0xFF);
                        long step = (out.ts() - prev.ts()) & 0xFFFF_FFFFL;
                        if (newFrame) {
                            assertThat(step).as("a later frame, by at most a few frames").isBetween(1L, 30_000L);
                        } else {
                            assertThat(step).isZero();
                        }
                    }
                    prev = out;
                }
                ts[l] = (ts[l] + 2970) & 0xFFFF_FFFFL;
                pid[l] = (pid[l] + 1) & 0x7FFF;
                tl0[l] = (tl0[l] + 1) & 0xFF;
            }
            now += FRAME_NANOS;
        }
        assertThat(switches).isGreaterThan(100);
        assertThat(c.layerSwitches).isGreaterThan(100);
        assertThat(forwarded).isGreaterThan(3000);
    }

    // ---------------------------------------------------------------- long streams, retransmissions

    @Test
    void oneLayerForwardsMoreThanHalfTheSequenceSpaceAfterTheSwitch() {
        c.targetLayer = 1;
        int in = 20_000;
        assertThat(forward(1, vp8(in, 0, 0, 0, true))).isNotNull();
        int lastOut = -1;
        for (int i = 1; i <= 70_000; i++) { // over two minutes of 720p: the 16-bit space wraps on the way
            in = (in + 1) & 0xFFFF;
            Out out = forward(1, vp8(in, 3000L * (i / 3), (i / 3) & 0x7FFF, (i / 3) & 0xFF, false));
            assertThat(out).as("packet %d after the keyframe", i).isNotNull();
            lastOut = out.seq();
        }
        assertThat(lastOut).isEqualTo(in);
        int late = (in - 100) & 0xFFFF;
        assertThat(forward(1, vp8(late, 0, 0, 0, false))).as("a late packet of the current layer").isNotNull();
        assertThat(c.inputSeq((in - 300) & 0xFFFF)).as("a NACK within the cache's reach").isEqualTo((in - 300) & 0xFFFF);
        assertThat(forward(1, vp8((in - 40_000) & 0xFFFF, 0, 0, 0, false))).as("ancient").isNull();
    }

    @Test
    void aRetransmissionIsRewrittenLikeTheOriginalWithoutMovingTheSwitchPoint() {
        c.targetLayer = 2;
        forward(2, vp8(50_000, 7_000, 30_000, 250, true));
        Out newest = forward(2, vp8(50_001, 10_000, 30_001, 251, false));
        c.targetLayer = 0;
        now += FRAME_NANOS;
        Out switched = forward(0, vp8(100, 1_000, 10, 5, true));
        forward(0, vp8(101, 1_000, 10, 5, false));
        Out latest = forward(0, vp8(102, 4_000, 11, 6, false));

        // a NACK for the switching keyframe: what Endpoint.retransmit does with the cached original
        int inSeq = c.inputSeq(switched.seq());
        assertThat(inSeq).isEqualTo(100);
        ByteBuf cached = vp8(inSeq, 1_000, 10, 5, true);
        ByteBuf rtx = Unpooled.buffer(80);
        RtpRewriter.copyRewritten(cached, rtx, 97, 7, c.outTimestamp(RtpPacket.timestamp(cached)), c.rtxSsrc,
                c.extensionIdMap);
        c.rewriteVp8(rtx, false);
        Out repaired = Out.of(rtx);
        assertThat(repaired.pictureId()).isEqualTo(switched.pictureId());
        assertThat(repaired.tl0()).isEqualTo(switched.tl0());
        assertThat(repaired.ts()).isEqualTo(switched.ts());
        assertThat(repaired.seq()).as("RTX has its own sequence space (RFC 4588 §4)").isEqualTo(7);
        assertThat(c.lastPictureIdOut).as("a retransmission leaves the newest picture id alone")
                .isEqualTo(latest.pictureId());
        assertThat(c.lastSeqOut).isEqualTo(latest.seq());
        assertThat(c.inputSeq(newest.seq())).as("the old layer's packet cannot be repaired from layer 0").isEqualTo(-1);
    }
}
