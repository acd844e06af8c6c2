package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.Unpooled;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.consultbridge.bridge.rtcp.RtcpWriter;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.sdp.MediaDescription;
import org.consultbridge.bridge.sdp.SessionDescription;
import org.consultbridge.bridge.stun.StunMessageBuilder;
import org.consultbridge.bridge.sdp.ClientSdp;
import org.consultbridge.bridge.testpeer.TestPeer;
import org.consultbridge.bridge.transport.DropReason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The bridge over real UDP sockets on loopback with real ICE (STUN), DTLS and SRTP, driven by {@link TestPeer}s
 * that speak the same protocols as a browser.
 */
class BridgeCallTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private SfuBridge bridge;

    /** One simulated participant: a publish peer connection and a subscribe peer connection. */
    private final class Participant implements AutoCloseable {
        final TestPeer pub;
        final TestPeer sub;
        final BridgeEndpoint endpoint;
        final AtomicInteger renegotiations = new AtomicInteger();
        final long audioSsrc;
        final long videoSsrc;

        Participant(String id, long audioSsrc, long videoSsrc) throws Exception {
            this.audioSsrc = audioSsrc;
            this.videoSsrc = videoSsrc;
            pub = new TestPeer(LOOPBACK);
            sub = new TestPeer(LOOPBACK);
            endpoint = bridge.createEndpoint("consultation-1", id, new EndpointListener() {
                @Override
                public void subscribeRenegotiationNeeded() {
                    renegotiations.incrementAndGet();
                }

                @Override
                public void transportStateChanged(TransportDirection direction, TransportState state) {
                }
            });
        }

        void publish() throws Exception {
            publish(UnaryOperator.identity());
        }

        /** Publishes with {@code edit} applied to the browser-like offer; returns the bridge's answer. */
        String publish(UnaryOperator<String> edit) throws Exception {
            String answer = endpoint.acceptPublishOffer(
                    edit.apply(ClientSdp.publishOffer(pub.transport(), audioSsrc, videoSsrc, videoSsrc + 1)));
            assertThat(answer).contains("a=ice-lite").contains("a=setup:passive");
            pub.setRemoteDescription(answer);
            assertThat(pub.connectivityCheck().xorMappedAddress().getPort())
                    .isEqualTo(pub.socket().getLocalPort());
            pub.handshake();
            await().atMost(Duration.ofSeconds(3))
                    .until(() -> endpoint.stats().publishState() == TransportState.CONNECTED);
            return answer;
        }

        String subscribe() throws Exception {
            return subscribe(UnaryOperator.identity());
        }

        /** Subscribes answering with {@code edit} applied to the browser-like answer; returns the bridge's offer. */
        String subscribe(UnaryOperator<String> edit) throws Exception {
            await().atMost(Duration.ofSeconds(5)).until(() -> renegotiations.get() > 0);
            Optional<String> offer = endpoint.createSubscribeOffer();
            assertThat(offer).isPresent();
            sub.setRemoteDescription(offer.get());
            endpoint.acceptSubscribeAnswer(edit.apply(ClientSdp.subscribeAnswer(sub.transport(), offer.get())));
            sub.connectivityCheck();
            sub.handshake();
            // the client has the server's Finished; the bridge installs its keys a moment later, on its loop
            await().atMost(Duration.ofSeconds(3))
                    .until(() -> endpoint.stats().subscribeState() == TransportState.CONNECTED);
            return offer.get();
        }

        @Override
        public void close() {
            pub.close();
            sub.close();
        }
    }

    @BeforeEach
    void start() {
        bridge = SfuBridge.start(new BridgeConfig("127.0.0.1", 0, List.of()));
    }

    @AfterEach
    void stop() {
        bridge.close();
    }

    static byte[] rtp(int pt, int seq, long ts, long ssrc, byte[] payload, boolean marker) {
        ByteBuffer b = ByteBuffer.allocate(12 + payload.length);
        b.put((byte) 0x80).put((byte) ((marker ? 0x80 : 0) | pt)).putShort((short) seq).putInt((int) ts)
                .putInt((int) ssrc).put(payload);
        return b.array();
    }

    /** VP8 payload: descriptor with S=1, PID=0 (RFC 7741 §4.2), then a frame tag with P=0 (keyframe) and start code. */
    static byte[] vp8Keyframe() {
        return new byte[] {0x10, 0x50, 0x02, 0x00, (byte) 0x9d, 0x01, 0x2a, 0x40, 0x01, (byte) 0xf0, 0x00, 1, 2, 3};
    }

    static long ssrcOfMid(String offer, String kind) throws Exception {
        for (MediaDescription m : SessionDescription.parse(offer).media()) {
            if (m.kind().equals(kind) && m.port() != 0) {
                return m.ssrcs().get(0).ssrc();
            }
        }
        throw new AssertionError("no " + kind + " in offer");
    }

    @Test
    void twoParticipantsExchangeAudioAndVideoThroughTheBridge() throws Exception {
        try (Participant a = new Participant("room", 1111, 2222);
             Participant b = new Participant("doctor", 3333, 4444)) {
            a.publish();
            b.publish();
            String offerToB = b.subscribe();
            String offerToA = a.subscribe();
            assertThat(offerToB).contains("a=msid:room ");
            assertThat(offerToA).contains("a=msid:doctor ");

            long audioToB = ssrcOfMid(offerToB, "audio");
            long videoToB = ssrcOfMid(offerToB, "video");
            byte[] opus = new byte[60];
            new Random(1).nextBytes(opus);
            for (int i = 0; i < 20; i++) {
                a.pub.sendRtp(rtp(111, 100 + i, 960L * i, a.audioSsrc, opus, false));
                b.pub.sendRtp(rtp(111, 500 + i, 960L * i, b.audioSsrc, opus, false));
            }
            a.pub.sendRtp(rtp(96, 7000, 90_000, a.videoSsrc, vp8Keyframe(), true));

            boolean sawAudio = false;
            boolean sawVideo = false;
            for (int i = 0; i < 40 && !(sawAudio && sawVideo); i++) {
                byte[] got = b.sub.pollRtp(500);
                if (got == null) {
                    continue;
                }
                var buf = Unpooled.wrappedBuffer(got);
                long ssrc = RtpPacket.ssrc(buf);
                if (ssrc == audioToB) {
                    assertThat(RtpPacket.payloadType(buf)).isEqualTo(111);
                    byte[] payload = new byte[RtpPacket.payloadLength(buf)];
                    buf.getBytes(RtpPacket.payloadOffset(buf), payload);
                    assertThat(payload).isEqualTo(opus);
                    sawAudio = true;
                } else if (ssrc == videoToB) {
                    assertThat(RtpPacket.payloadType(buf)).isEqualTo(96);
                    assertThat(RtpPacket.sequenceNumber(buf)).isEqualTo(7000);
                    sawVideo = true;
                }
            }
            assertThat(sawAudio).as("doctor receives the room's audio").isTrue();
            assertThat(sawVideo).as("doctor receives the room's video keyframe").isTrue();
            assertThat(a.sub.pollRtp(2000)).as("room receives the doctor's audio").isNotNull();

            // a PLI from the doctor about the room's video reaches the room, with the room's own SSRC in it
            byte[] pli = new byte[12];
            RtcpWriter.writePli(Unpooled.wrappedBuffer(pli).clear(), 0xABCDL, videoToB);
            b.sub.sendRtcp(pli);
            await().atMost(Duration.ofSeconds(3)).until(() -> {
                byte[] r;
                while ((r = a.pub.pollRtcp(100)) != null) {
                    var rb = Unpooled.wrappedBuffer(r);
                    if (containsPli(rb, a.videoSsrc)) {
                        return true;
                    }
                }
                return false;
            });

            assertThat(a.endpoint.stats().rtpPacketsReceived()).isGreaterThanOrEqualTo(21);
            assertThat(b.endpoint.stats().rtpPacketsSent()).isGreaterThanOrEqualTo(21);
            assertThat(bridge.stats().rtpPacketsForwarded()).isGreaterThanOrEqualTo(41);

            // the room leaves: the doctor is asked to renegotiate and its offer disables the room's m-lines
            int before = b.renegotiations.get();
            a.endpoint.close();
            await().atMost(Duration.ofSeconds(3)).until(() -> b.renegotiations.get() > before);
            String offer = b.endpoint.createSubscribeOffer().orElseThrow();
            assertThat(SessionDescription.parse(offer).media()).allMatch(m -> m.port() == 0);
            assertThat(bridge.endpoint("consultation-1", "room")).isEmpty();
        }
    }

    static boolean containsPli(io.netty.buffer.ByteBuf rb, long mediaSsrc) {
        int off = rb.readerIndex();
        while (off + 4 <= rb.writerIndex()) {
            if (RtcpPacket.packetType(rb, off) == 206 && RtcpPacket.fmt(rb, off) == 1
                    && RtcpPacket.mediaSsrc(rb, off) == mediaSsrc) {
                return true;
            }
            off += RtcpPacket.lengthBytes(rb, off);
        }
        return false;
    }

    /** One redundant block (timestamp offset 960, RFC 2198 §3) and the primary, both of payload type {@code pt}. */
    static byte[] red(int pt, byte[] redundant, byte[] primary) {
        ByteBuffer b = ByteBuffer.allocate(5 + redundant.length + primary.length);
        b.put((byte) (0x80 | pt)).putShort((short) (960 << 2 | redundant.length >> 8)).put((byte) redundant.length)
                .put((byte) pt).put(redundant).put(primary);
        return b.array();
    }

    static byte[] payloadOf(byte[] packet) {
        var buf = Unpooled.wrappedBuffer(packet);
        byte[] payload = new byte[RtpPacket.payloadLength(buf)];
        buf.getBytes(RtpPacket.payloadOffset(buf), payload);
        return payload;
    }

    @Test
    void audioRedReachesSubscribersThatTookItAndThePrimaryOpusTheOthers() throws Exception {
        try (Participant room = new Participant("room", 1111, 2222);
             Participant doctor = new Participant("doctor", 3333, 4444);
             Participant guest = new Participant("guest", 5555, 6666)) {
            // a Firefox-like publisher: Opus on 109, RED on 63 around it
            String answer = room.publish(o -> o.replace("m=audio 9 UDP/TLS/RTP/SAVPF 111 0", "m=audio 9 UDP/TLS/RTP/SAVPF 109 63 0")
                    .replace("a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n",
                            "a=rtpmap:109 opus/48000/2\r\na=fmtp:109 minptime=10;useinbandfec=1\r\n"
                                    + "a=rtpmap:63 red/48000/2\r\na=fmtp:63 109/109\r\n"));
            assertThat(answer).as("RED first, so the browser sends it; Opus with FEC and DTX")
                    .contains("m=audio 9 UDP/TLS/RTP/SAVPF 63 109\r\n").contains("a=fmtp:63 109/109")
                    .contains("useinbandfec=1").contains("usedtx=1");
            String toDoctor = doctor.subscribe();
            assertThat(toDoctor).contains("a=rtpmap:63 red/48000/2").contains("a=fmtp:63 111/111");
            String toGuest = guest.subscribe(a -> a.replace("m=audio 9 UDP/TLS/RTP/SAVPF 111 63", "m=audio 9 UDP/TLS/RTP/SAVPF 111")
                    .replace("a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n", ""));
            long audioToDoctor = ssrcOfMid(toDoctor, "audio");
            long audioToGuest = ssrcOfMid(toGuest, "audio");

            byte[] previous = new byte[30];
            byte[] primary = new byte[40];
            new Random(2).nextBytes(previous);
            new Random(3).nextBytes(primary);
            room.pub.sendRtp(rtp(63, 300, 96_000, room.audioSsrc, red(109, previous, primary), false));
            byte[] atDoctor = awaitPacket(doctor.sub, audioToDoctor, -1);
            byte[] atGuest = awaitPacket(guest.sub, audioToGuest, -1);
            assertThat(atDoctor).as("RED to the doctor").isNotNull();
            assertThat(RtpPacket.payloadType(Unpooled.wrappedBuffer(atDoctor))).isEqualTo(63);
            assertThat(payloadOf(atDoctor)).as("blocks renamed to the doctor's Opus payload type")
                    .isEqualTo(red(111, previous, primary));
            assertThat(atGuest).as("primary Opus to the guest").isNotNull();
            assertThat(RtpPacket.payloadType(Unpooled.wrappedBuffer(atGuest))).isEqualTo(111);
            assertThat(RtpPacket.timestamp(Unpooled.wrappedBuffer(atGuest))).isEqualTo(96_000);
            assertThat(payloadOf(atGuest)).isEqualTo(primary);

            // block lengths beyond the payload, and a block of another codec: dropped, counted, nothing forwarded
            long before = bridge.stats().droppedByReason().getOrDefault(DropReason.RED_MALFORMED.label(), 0L);
            byte[] bad = red(109, previous, primary);
            bad[3] = (byte) 0xFF;
            room.pub.sendRtp(rtp(63, 301, 96_960, room.audioSsrc, bad, false));
            room.pub.sendRtp(rtp(63, 302, 97_920, room.audioSsrc, red(0, previous, primary), false));
            await().atMost(Duration.ofSeconds(3)).until(() ->
                    bridge.stats().droppedByReason().getOrDefault(DropReason.RED_MALFORMED.label(), 0L) == before + 2);
            assertThat(doctor.sub.pollRtp(300)).isNull();
        }
    }

    @Test
    void publishersSenderReportsReachReceiversTranslatedToTheirStream() throws Exception {
        try (Participant a = new Participant("room", 1111, 2222);
             Participant b = new Participant("doctor", 3333, 4444)) {
            a.publish();
            b.publish();
            String offerToB = b.subscribe();
            long audioToB = ssrcOfMid(offerToB, "audio");
            for (int i = 0; i < 5; i++) {
                a.pub.sendRtp(rtp(111, 100 + i, 960L * i, a.audioSsrc, new byte[40], false));
            }
            await().atMost(Duration.ofSeconds(3)).until(() -> b.sub.pollRtp(100) != null);
            byte[] sr = new byte[28];
            RtcpWriter.writeSenderReport(Unpooled.wrappedBuffer(sr).clear(), a.audioSsrc,
                    org.consultbridge.bridge.rtcp.NtpTime.nowNtp(), 123_456L, 5, 200);
            a.pub.sendRtcp(sr);
            await().atMost(Duration.ofSeconds(3)).until(() -> {
                byte[] r;
                while ((r = b.sub.pollRtcp(100)) != null) {
                    var rb = Unpooled.wrappedBuffer(r);
                    if (RtcpPacket.packetType(rb, 0) == 200 && RtcpPacket.senderSsrc(rb, 0) == audioToB) {
                        assertThat(RtcpPacket.srRtpTimestamp(rb, 0)).isEqualTo(123_456L);
                        assertThat(RtcpPacket.srPacketCount(rb, 0)).isEqualTo(5);
                        assertThat(RtcpPacket.srOctetCount(rb, 0)).isEqualTo(200);
                        return true;
                    }
                }
                return false;
            });
        }
    }

    static long rtxSsrcOf(String offer) throws Exception {
        for (MediaDescription m : SessionDescription.parse(offer).media()) {
            if (m.kind().equals("video") && m.port() != 0) {
                return m.ssrcGroups().get(0).ssrcs().get(1);
            }
        }
        throw new AssertionError("no video");
    }

    /** Polls until a packet with this SSRC (and, if >= 0, this sequence number) arrives; null after 3 s. */
    static byte[] awaitPacket(TestPeer peer, long ssrc, int seq) throws InterruptedException {
        long deadline = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < deadline) {
            byte[] p = peer.pollRtp(100);
            if (p != null && RtpPacket.ssrc(Unpooled.wrappedBuffer(p)) == ssrc
                    && (seq < 0 || RtpPacket.sequenceNumber(Unpooled.wrappedBuffer(p)) == seq)) {
                return p;
            }
        }
        return null;
    }

    static byte[] vp8Delta(int marker) {
        return new byte[] {0x00, 0x11, 0x22, 0x33, (byte) marker};
    }

    @Test
    void receiversNacksAreAnsweredWithRtxFromTheCache() throws Exception {
        try (Participant a = new Participant("room", 1111, 2222);
             Participant b = new Participant("doctor", 3333, 4444)) {
            a.publish();
            b.publish();
            String offerToB = b.subscribe();
            long videoToB = ssrcOfMid(offerToB, "video");
            long rtxToB = rtxSsrcOf(offerToB);
            a.pub.sendRtp(rtp(96, 7000, 90_000, a.videoSsrc, vp8Keyframe(), false));
            for (int i = 1; i <= 5; i++) {
                a.pub.sendRtp(rtp(96, 7000 + i, 90_000, a.videoSsrc, vp8Delta(i), i == 5));
            }
            assertThat(awaitPacket(b.sub, videoToB, 7005)).isNotNull();
            byte[] nack = new byte[16];
            RtcpWriter.writeNack(Unpooled.wrappedBuffer(nack).clear(), 0xABCDL, videoToB, new int[] {7002}, 1);
            b.sub.sendRtcp(nack);
            byte[] rtx = awaitPacket(b.sub, rtxToB, -1);
            assertThat(rtx).as("RTX answering the NACK").isNotNull();
            var rb = Unpooled.wrappedBuffer(rtx);
            assertThat(RtpPacket.payloadType(rb)).isEqualTo(97);
            int off = RtpPacket.payloadOffset(rb);
            assertThat(rb.getUnsignedShort(off)).as("original sequence number").isEqualTo(7002);
            byte[] payload = new byte[RtpPacket.payloadLength(rb) - 2];
            rb.getBytes(off + 2, payload);
            assertThat(payload).isEqualTo(vp8Delta(2));
            // the same NACK again right away is not answered twice (resend interval)
            b.sub.sendRtcp(nack);
            assertThat(awaitPacket(b.sub, rtxToB, -1)).isNull();
        }
    }

    @Test
    void upstreamLossIsNackedAndTheSendersRtxIsRestoredAndForwarded() throws Exception {
        try (Participant a = new Participant("room", 1111, 2222);
             Participant b = new Participant("doctor", 3333, 4444)) {
            a.publish();
            b.publish();
            String offerToB = b.subscribe();
            long videoToB = ssrcOfMid(offerToB, "video");
            a.pub.sendRtp(rtp(96, 8000, 90_000, a.videoSsrc, vp8Keyframe(), true));
            a.pub.sendRtp(rtp(96, 8003, 93_000, a.videoSsrc, vp8Delta(3), true)); // 8001 and 8002 lost upstream
            await().atMost(Duration.ofSeconds(3)).until(() -> {
                byte[] r;
                while ((r = a.pub.pollRtcp(100)) != null) {
                    var rb = Unpooled.wrappedBuffer(r);
                    int o = 0;
                    while (o + 4 <= rb.writerIndex()) {
                        if (RtcpPacket.packetType(rb, o) == 205 && RtcpPacket.fmt(rb, o) == 1
                                && RtcpPacket.mediaSsrc(rb, o) == a.videoSsrc && RtcpPacket.nackPid(rb, o, 0) == 8001
                                && (RtcpPacket.nackBlp(rb, o, 0) & 1) == 1) {
                            return true;
                        }
                        o += RtcpPacket.lengthBytes(rb, o);
                    }
                }
                return false;
            });
            // the sender retransmits 8001 on its RTX stream (RFC 4588): OSN + original payload
            byte[] original = vp8Delta(1);
            byte[] rtxPayload = new byte[2 + original.length];
            rtxPayload[0] = (byte) (8001 >> 8);
            rtxPayload[1] = (byte) 8001;
            System.arraycopy(original, 0, rtxPayload, 2, original.length);
            a.pub.sendRtp(rtp(97, 50, 91_500, a.videoSsrc + 1, rtxPayload, false));
            byte[] restored = awaitPacket(b.sub, videoToB, 8001);
            assertThat(restored).as("repaired packet forwarded on the media stream").isNotNull();
            var rb = Unpooled.wrappedBuffer(restored);
            assertThat(RtpPacket.payloadType(rb)).isEqualTo(96);
            byte[] payload = new byte[RtpPacket.payloadLength(rb)];
            rb.getBytes(RtpPacket.payloadOffset(rb), payload);
            assertThat(payload).isEqualTo(original);
            // a padding-only RTX (a bandwidth probe) and a duplicate are dropped and counted
            a.pub.sendRtp(rtp(97, 51, 91_500, a.videoSsrc + 1, new byte[] {0x1f, 0x41}, false));
            a.pub.sendRtp(rtp(97, 52, 91_500, a.videoSsrc + 1, rtxPayload, false));
            await().atMost(Duration.ofSeconds(3)).until(() -> bridge.stats().droppedByReason().get("rtx-padding") >= 1
                    && bridge.stats().droppedByReason().get("duplicate") >= 1);
        }
    }

    @Test
    void theWeakestReceiversLossReachesThePublisher() throws Exception {
        try (Participant a = new Participant("room", 1111, 2222);
             Participant b = new Participant("doctor", 3333, 4444)) {
            a.publish();
            b.publish();
            String offerToB = b.subscribe();
            long videoToB = ssrcOfMid(offerToB, "video");
            a.pub.sendRtp(rtp(96, 100, 90_000, a.videoSsrc, vp8Keyframe(), true));
            assertThat(awaitPacket(b.sub, videoToB, 100)).isNotNull();
            byte[] rr = new byte[32];
            var w = Unpooled.wrappedBuffer(rr).clear();
            RtcpWriter.writeReceiverReport(w, 0xABCDL, 1);
            RtcpWriter.writeReportBlock(w, videoToB, 77, 5, 100, 0, 0, 0); // the doctor's downlink loses 30 %
            b.sub.sendRtcp(rr);
            await().atMost(Duration.ofSeconds(4)).until(() -> {
                byte[] r;
                while ((r = a.pub.pollRtcp(100)) != null) {
                    var rb = Unpooled.wrappedBuffer(r);
                    if (RtcpPacket.packetType(rb, 0) == 201) {
                        for (int i = 0; i < RtcpPacket.reportBlockCount(rb, 0); i++) {
                            int o = RtcpPacket.reportBlockOffset(rb, 0, i);
                            if (RtcpPacket.rbSsrc(rb, o) == a.videoSsrc && RtcpPacket.rbFractionLost(rb, o) == 77) {
                                return true;
                            }
                        }
                    }
                }
                return false;
            });
        }
    }

    @Test
    void bridgeSendsReceiverReportsToThePublisher() throws Exception {
        try (Participant a = new Participant("room", 1111, 2222)) {
            a.publish();
            for (int i = 0; i < 10; i++) {
                a.pub.sendRtp(rtp(111, 100 + i, 960L * i, a.audioSsrc, new byte[40], false));
            }
            await().atMost(Duration.ofSeconds(4)).until(() -> {
                byte[] r;
                while ((r = a.pub.pollRtcp(100)) != null) {
                    var rb = Unpooled.wrappedBuffer(r);
                    if (RtcpPacket.packetType(rb, 0) == 201 && RtcpPacket.reportBlockCount(rb, 0) == 1
                            && RtcpPacket.rbSsrc(rb, RtcpPacket.reportBlockOffset(rb, 0, 0)) == a.audioSsrc
                            && RtcpPacket.rbExtHighestSeq(rb, RtcpPacket.reportBlockOffset(rb, 0, 0)) == 109) {
                        return true;
                    }
                }
                return false;
            });
        }
    }

    @Test
    void badInputIsDroppedAndCountedWhileTheCallGoesOn() throws Exception {
        try (Participant a = new Participant("room", 1111, 2222);
             Participant b = new Participant("doctor", 3333, 4444);
             DatagramSocket attacker = new DatagramSocket(0, LOOPBACK)) {
            a.publish();
            b.publish();
            String offerToB = b.subscribe();
            long audioToB = ssrcOfMid(offerToB, "audio");
            var target = a.pub.remote();
            Random random = new Random(42);
            // random datagrams of every first-byte class, including truncated ones
            for (int i = 0; i < 2000; i++) {
                byte[] junk = new byte[1 + random.nextInt(300)];
                random.nextBytes(junk);
                attacker.send(new DatagramPacket(junk, junk.length, target));
            }
            // STUN for a real transport with a wrong password
            byte[] badStun = StunMessageBuilder.bindingRequest(StunMessageBuilder.newTransactionId())
                    .username(bridgeUfrag(a) + ":" + a.pub.ufrag()).priority(1).useCandidate()
                    .build("wrong-password-wrong-password".getBytes(), true);
            attacker.send(new DatagramPacket(badStun, badStun.length, target));
            // DTLS and RTP from an address that never passed ICE
            byte[] dtls = new byte[] {22, (byte) 0xfe, (byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
            attacker.send(new DatagramPacket(dtls, dtls.length, target));
            byte[] plainRtp = rtp(111, 1, 1, a.audioSsrc, new byte[20], false);
            attacker.send(new DatagramPacket(plainRtp, plainRtp.length, target));
            // an SRTP packet that was tampered with, from the real peer's address
            a.pub.send(rtp(111, 1, 1, a.audioSsrc, new byte[40], false));

            await().atMost(Duration.ofSeconds(3)).until(() -> {
                Map<String, Long> d = bridge.stats().droppedByReason();
                return d.get("stun-integrity") >= 1 && d.get("unknown-address") >= 2 && d.get("srtp-auth") >= 1;
            });
            Map<String, Long> dropped = bridge.stats().droppedByReason();
            long total = dropped.values().stream().mapToLong(Long::longValue).sum();
            assertThat(total).isGreaterThanOrEqualTo(2000);

            // and the call still works
            a.pub.sendRtp(rtp(111, 200, 9600, a.audioSsrc, new byte[50], false));
            boolean got = false;
            for (int i = 0; i < 10 && !got; i++) {
                byte[] p = b.sub.pollRtp(500);
                got = p != null && RtpPacket.ssrc(Unpooled.wrappedBuffer(p)) == audioToB
                        && RtpPacket.sequenceNumber(Unpooled.wrappedBuffer(p)) == 200;
            }
            assertThat(got).isTrue();
        }
    }

    @Test
    void nackStormsAndBadFeedbackAreBoundedAndCountedWhileTheCallGoesOn() throws Exception {
        try (Participant a = new Participant("room", 1111, 2222);
             Participant b = new Participant("doctor", 3333, 4444)) {
            a.publish();
            b.publish();
            String offerToB = b.subscribe();
            long videoToB = ssrcOfMid(offerToB, "video");
            long rtxToB = rtxSsrcOf(offerToB);
            long audioToB = ssrcOfMid(offerToB, "audio");
            a.pub.sendRtp(rtp(96, 1000, 90_000, a.videoSsrc, vp8Keyframe(), false));
            for (int i = 1; i < 300; i++) {
                a.pub.sendRtp(rtp(96, 1000 + i, 90_000 + 3000L * (i / 3), a.videoSsrc, vp8Delta(i & 0xFF), i % 3 == 2));
            }
            assertThat(awaitPacket(b.sub, videoToB, 1299)).isNotNull();
            b.sub.drainRtp();
            Map<String, Long> before = bridge.stats().droppedByReason();

            // a storm: 100 NACKs, each asking for 17 cached packets, all at once (1700 requests)
            for (int i = 0; i < 100; i++) {
                byte[] nack = new byte[16];
                int pid = 1000 + (i * 17) % 280;
                RtcpWriter.writeNack(Unpooled.wrappedBuffer(nack).clear(), 0xABCDL, videoToB,
                        java.util.stream.IntStream.range(pid, pid + 17).toArray(), 17);
                b.sub.sendRtcp(nack);
            }
            // feedback about an SSRC the doctor does not receive, NACKs for sequence numbers never sent,
            // and transport-cc feedback that is garbage
            byte[] pli = new byte[12];
            RtcpWriter.writePli(Unpooled.wrappedBuffer(pli).clear(), 0xABCDL, 0x5EADBEEFL);
            b.sub.sendRtcp(pli);
            byte[] future = new byte[16];
            RtcpWriter.writeNack(Unpooled.wrappedBuffer(future).clear(), 0xABCDL, videoToB, new int[] {40_000}, 1);
            b.sub.sendRtcp(future);
            byte[] twcc = new byte[24];
            new Random(5).nextBytes(twcc);
            twcc[0] = (byte) 0x8F; // V=2, FMT 15
            twcc[1] = (byte) 205;
            twcc[2] = 0;
            twcc[3] = 5;
            b.sub.sendRtcp(twcc);

            await().atMost(Duration.ofSeconds(5)).until(() -> {
                Map<String, Long> d = bridge.stats().droppedByReason();
                return d.get("nack-rate-limited") - before.get("nack-rate-limited") > 0
                        && d.get("feedback-unknown-ssrc") > before.get("feedback-unknown-ssrc")
                        && d.get("nack-unanswered") > before.get("nack-unanswered");
            });
            Thread.sleep(300);
            int rtx = 0;
            for (byte[] p : b.sub.drainRtp()) {
                if (RtpPacket.ssrc(Unpooled.wrappedBuffer(p)) == rtxToB) {
                    rtx++;
                }
            }
            // ~300 distinct cached packets were asked for: unlimited, all would go out again
            assertThat(rtx).as("retransmissions for 1700 requests: the burst budget (and a refill of some ms)")
                    .isBetween(50, Endpoint.RTX_BURST + 50);

            // the call goes on
            a.pub.sendRtp(rtp(111, 700, 9600, a.audioSsrc, new byte[50], false));
            assertThat(awaitPacket(b.sub, audioToB, 700)).as("audio after the storm").isNotNull();
        }
    }

    @Test
    void rtpBeforeTheDtlsHandshakeIsDroppedAsNoKeys() throws Exception {
        try (Participant a = new Participant("room", 1111, 2222)) {
            String answer = a.endpoint.acceptPublishOffer(ClientSdp.publishOffer(a.pub.transport(), 1111, 2222, 2223));
            a.pub.setRemoteDescription(answer);
            a.pub.connectivityCheck();
            a.pub.send(rtp(111, 1, 1, 1111, new byte[40], false));
            await().atMost(Duration.ofSeconds(3))
                    .until(() -> bridge.stats().droppedByReason().get("no-keys") >= 1);
        }
    }

    @Test
    void malformedOfferIsRefusedWithAReason() {
        try (Participant a = new Participant("room", 1, 2)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.endpoint.acceptPublishOffer("v=0\r\nm=bogus"))
                    .isInstanceOf(org.consultbridge.bridge.sdp.SdpException.class)
                    .hasMessageNotContaining("NullPointer");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private String bridgeUfrag(Participant p) throws Exception {
        SessionDescription answer = SessionDescription.parse(
                p.endpoint.acceptPublishOffer(ClientSdp.publishOffer(p.pub.transport(), p.audioSsrc, p.videoSsrc, p.videoSsrc + 1)));
        return answer.media().get(0).iceUfrag();
    }
}
