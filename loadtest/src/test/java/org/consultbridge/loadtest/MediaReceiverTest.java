package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import org.consultbridge.bridge.cc.TransportCcFeedback;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The receiver's feedback, packet by packet: PLI when a stream starts without a keyframe, NACK for gaps and its
 * retries, recovery by RTX, giving up into a keyframe request, transport-cc feedback for every arrival.
 */
class MediaReceiverTest {

    private static final long VIDEO = 1111;
    private static final long RTX = 2222;
    private static final long AUDIO = 3333;
    private static final long MS = 1_000_000L;
    private static final String OFFER = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
            + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n"
            + "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
            + "a=rtpmap:111 opus/48000/2\r\na=ssrc:3333 cname:x\r\n"
            + "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\n"
            + "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
            + "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\n"
            + "a=fmtp:97 apt=96\r\na=ssrc-group:FID 1111 2222\r\na=ssrc:1111 cname:x\r\na=ssrc:2222 cname:x\r\n";

    private final Metrics metrics = new Metrics();
    private final List<ByteBuf> sent = new ArrayList<>();
    private final List<Integer> heard = new ArrayList<>();
    private MediaReceiver receiver;
    private int transportSeq;

    @BeforeEach
    void setUp() throws Exception {
        receiver = new MediaReceiver(metrics, 42, false, new MediaReceiver.Milestones() {
            @Override
            public void firstMedia(long nowNanos) {
            }

            @Override
            public void firstKeyframe(long nowNanos) {
            }

            @Override
            public void heard(int senderTag, boolean video) {
                heard.add(senderTag);
            }
        });
        receiver.setLayout(MediaReceiver.Layout.of(OFFER));
        receiver.attach(new RtcpSink() {
            @Override
            public ByteBuf allocate(int size) {
                return Unpooled.buffer(size);
            }

            @Override
            public void sendRtcp(ByteBuf plain) {
                sent.add(plain);
            }

            @Override
            public void flush() {
            }

            @Override
            public boolean isConnected() {
                return true;
            }
        }, 0);
    }

    /** RTP with a transport-wide sequence number (one-byte extension id 3), then a VP8 descriptor and our marker. */
    private ByteBuf video(long ssrc, int pt, int seq, boolean keyframe) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte(0x90).writeByte(pt).writeShort(seq).writeInt(seq * 3000).writeInt((int) ssrc);
        b.writeShort(0xBEDE).writeShort(1).writeByte((3 << 4) | 1).writeShort(transportSeq++).writeByte(0);
        b.writeByte(0x90).writeByte(0x80).writeByte(0x01); // X, S, PID 0; I; 7-bit picture id
        b.writeByte(keyframe ? 0x50 : 0x51).writeByte(0x02).writeByte(0x00);
        b.writeInt(SimParticipant.MAGIC).writeLong(0).writeByte(SimParticipant.FLAG_TOP_LAYER).writeInt(77);
        b.writeZero(100);
        return b;
    }

    private ByteBuf rtx(int rtxSeq, int originalSeq) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte(0x90).writeByte(97).writeShort(rtxSeq).writeInt(0).writeInt((int) RTX);
        b.writeShort(0xBEDE).writeShort(1).writeByte((3 << 4) | 1).writeShort(transportSeq++).writeByte(0);
        b.writeShort(originalSeq).writeZero(50);
        return b;
    }

    private void receive(ByteBuf rtp, long now) {
        receiver.onRtp(rtp, now);
        rtp.release();
    }

    private List<ByteBuf> take(int type, int fmt) {
        List<ByteBuf> l = sent.stream().filter(b -> RtcpPacket.packetType(b, 0) == type && RtcpPacket.fmt(b, 0) == fmt)
                .toList();
        sent.removeAll(l);
        return l;
    }

    @Test
    void aStreamThatStartsWithoutAKeyframeAsksForOneUntilItComes() {
        receive(video(VIDEO, 96, 100, false), 0);
        List<ByteBuf> plis = take(RtcpPacket.PSFB, 1);
        assertThat(plis).hasSize(1);
        assertThat(RtcpPacket.mediaSsrc(plis.get(0), 0)).isEqualTo(VIDEO);
        assertThat(RtcpPacket.senderSsrc(plis.get(0), 0)).isEqualTo(42);
        receiver.onTick(100 * MS);
        assertThat(take(RtcpPacket.PSFB, 1)).as("not again within 300 ms").isEmpty();
        receiver.onTick(350 * MS);
        assertThat(take(RtcpPacket.PSFB, 1)).as("again while still waiting").hasSize(1);
        receive(video(VIDEO, 96, 101, true), 400 * MS);
        receiver.onTick(800 * MS);
        assertThat(take(RtcpPacket.PSFB, 1)).as("the keyframe came").isEmpty();
        assertThat(heard).containsExactly(77);
        assertThat(metrics.videoFramesTopLayer.sum()).isEqualTo(2);
    }

    @Test
    void gapsAreNackedRetriedRecoveredByRtxAndFinallyGivenUpForAKeyframe() {
        receive(video(VIDEO, 96, 1, true), 0);
        receive(video(VIDEO, 96, 2, false), 1 * MS);
        receive(video(VIDEO, 96, 5, false), 2 * MS); // 3 and 4 missing
        List<ByteBuf> nacks = take(RtcpPacket.RTPFB, 1);
        assertThat(nacks).hasSize(1);
        assertThat(RtcpPacket.mediaSsrc(nacks.get(0), 0)).isEqualTo(VIDEO);
        assertThat(RtcpPacket.nackCount(nacks.get(0), 0)).isEqualTo(1);
        assertThat(RtcpPacket.nackPid(nacks.get(0), 0, 0)).isEqualTo(3);
        assertThat(RtcpPacket.nackBlp(nacks.get(0), 0, 0)).isEqualTo(1); // and 4
        assertThat(metrics.packetsExpected.sum() - metrics.packetsReceived.sum()).isEqualTo(2);

        receive(rtx(900, 3), 10 * MS); // 3 comes back as RTX
        assertThat(metrics.recovered.sum()).isEqualTo(1);
        assertThat(metrics.packetsExpected.sum() - metrics.packetsReceived.sum()).isEqualTo(1);
        receive(rtx(901, 3), 11 * MS); // a duplicate retransmission counts once
        assertThat(metrics.recovered.sum()).isEqualTo(1);

        receiver.onTick(50 * MS);
        assertThat(take(RtcpPacket.RTPFB, 1)).as("not before 100 ms").isEmpty();
        receiver.onTick(110 * MS);
        nacks = take(RtcpPacket.RTPFB, 1);
        assertThat(nacks).hasSize(1);
        assertThat(RtcpPacket.nackPid(nacks.get(0), 0, 0)).isEqualTo(4);
        assertThat(RtcpPacket.nackBlp(nacks.get(0), 0, 0)).isZero();
        for (int t = 2; t <= 9; t++) {
            receiver.onTick(t * 110 * MS);
        }
        assertThat(take(RtcpPacket.RTPFB, 1)).as("ten NACKs in all").hasSize(8);
        assertThat(take(RtcpPacket.PSFB, 1)).isEmpty();
        receiver.onTick(10 * 110 * MS);
        assertThat(take(RtcpPacket.PSFB, 1)).as("given up: the frame needs a keyframe").hasSize(1);
        assertThat(take(RtcpPacket.RTPFB, 1)).isEmpty();
    }

    @Test
    void aGapLargerThanTheNackListAsksForAKeyframeInstead() {
        receive(video(VIDEO, 96, 1, true), 0);
        receive(video(VIDEO, 96, 2 + MediaReceiver.MAX_MISSING + 1, false), MS);
        assertThat(take(RtcpPacket.RTPFB, 1)).isEmpty();
        assertThat(take(RtcpPacket.PSFB, 1)).hasSize(1);
    }

    @Test
    void transportCcFeedbackReportsEveryArrivalAndPaddingIsOnlyAcknowledged() {
        receive(video(VIDEO, 96, 1, true), 0);
        receive(video(VIDEO, 96, 2, false), 2 * MS);
        ByteBuf padding = Unpooled.buffer();
        padding.writeByte(0xB0).writeByte(97).writeShort(5).writeInt(0).writeInt((int) RTX);
        padding.writeShort(0xBEDE).writeShort(1).writeByte((3 << 4) | 1).writeShort(transportSeq++).writeByte(0);
        padding.writeZero(199).writeByte(200);
        receive(padding, 3 * MS);
        assertThat(metrics.paddingReceived.sum()).isEqualTo(1);
        receiver.onTick(50 * MS);
        List<ByteBuf> fb = take(RtcpPacket.RTPFB, TransportCcFeedback.FMT);
        assertThat(fb).hasSize(1);
        List<Boolean> statuses = new ArrayList<>();
        assertThat(TransportCcFeedback.parse(fb.get(0), 0, new TransportCcFeedback.Visitor() {
            @Override
            public void onHeader(long senderSsrc, long mediaSsrc, int baseSeq, int statusCount, int referenceTime,
                                 int feedbackCount) {
                assertThat(senderSsrc).isEqualTo(42);
                assertThat(baseSeq).isZero();
            }

            @Override
            public void onStatus(int seq, boolean received, long arrivalUs) {
                statuses.add(received);
            }
        })).isTrue();
        assertThat(statuses).containsExactly(true, true, true);
        assertThat(metrics.transportCcSent.sum()).isEqualTo(1);
        receiver.onTick(100 * MS);
        assertThat(take(RtcpPacket.RTPFB, TransportCcFeedback.FMT)).as("nothing new arrived").isEmpty();
    }

    @Test
    void audioIsNeitherNackedNorKeyframed() {
        ByteBuf a = Unpooled.buffer();
        a.writeByte(0x80).writeByte(111).writeShort(1).writeInt(0).writeInt((int) AUDIO).writeZero(80);
        receive(a, 0);
        ByteBuf b = Unpooled.buffer();
        b.writeByte(0x80).writeByte(111).writeShort(5).writeInt(960).writeInt((int) AUDIO).writeZero(80);
        receive(b, 20 * MS);
        assertThat(sent).isEmpty();
        assertThat(metrics.packetsExpected.sum() - metrics.packetsReceived.sum()).isEqualTo(3);
    }
}
