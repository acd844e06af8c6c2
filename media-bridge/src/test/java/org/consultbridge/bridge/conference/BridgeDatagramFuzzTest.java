package org.consultbridge.bridge.conference;

import static org.awaitility.Awaitility.await;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.sdp.ClientSdp;
import org.consultbridge.bridge.testpeer.TestPeer;
import org.consultbridge.bridge.transport.DropReason;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The bridge's whole receive path on arbitrary datagrams, with a real call set up once (a room publishing audio and
 * video, a doctor receiving them, both keyed over real DTLS): the RFC 7983 demux, STUN checks, DTLS records from
 * a validated address (handed to that transport's DTLS session) and from unknown ones, and, above all, what an
 * authenticated peer can send after decryption: arbitrary RTP from the publisher (protected with its real SRTP
 * keys, on its real SSRCs or others) and arbitrary RTCP from publisher and receiver (SR, RR, NACK, PLI, FIR,
 * transport-cc). Contract: {@link SfuBridge#onPacket} never lets an exception out and never counts
 * {@link DropReason#INTERNAL_ERROR} (its catch-all for a parser that threw).
 */
class BridgeDatagramFuzzTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final long AUDIO = 1111;
    private static final long VIDEO = 2222;
    private static final long RTX = 2223;
    private static final long[] SSRCS = {AUDIO, VIDEO, RTX};
    private static SfuBridge bridge;
    private static TestPeer roomPub;
    private static TestPeer doctorPub;
    private static TestPeer doctorSub;
    private static final InetSocketAddress STRANGER = new InetSocketAddress(LOOPBACK, 9);

    @BeforeAll
    static void call() throws Exception {
        bridge = SfuBridge.start(new BridgeConfig("127.0.0.1", 0, List.of(), 0));
        roomPub = new TestPeer(LOOPBACK);
        doctorPub = new TestPeer(LOOPBACK);
        doctorSub = new TestPeer(LOOPBACK);
        AtomicInteger offers = new AtomicInteger();
        BridgeEndpoint room = bridge.createEndpoint("fuzz", "room", listener(new AtomicInteger()));
        BridgeEndpoint doctor = bridge.createEndpoint("fuzz", "doctor", listener(offers));
        publish(room, roomPub, AUDIO, VIDEO, RTX);
        publish(doctor, doctorPub, 3333, 4444, 4445);
        await().atMost(Duration.ofSeconds(5)).until(() -> offers.get() > 0);
        Optional<String> offer = doctor.createSubscribeOffer();
        doctorSub.setRemoteDescription(offer.orElseThrow());
        doctor.acceptSubscribeAnswer(ClientSdp.subscribeAnswer(doctorSub.transport(), offer.get()));
        doctorSub.connectivityCheck();
        doctorSub.handshake();
        await().atMost(Duration.ofSeconds(5)).until(() -> doctor.stats().subscribeState() == TransportState.CONNECTED);
    }

    private static void publish(BridgeEndpoint e, TestPeer peer, long audio, long video, long rtx) throws Exception {
        peer.setRemoteDescription(e.acceptPublishOffer(ClientSdp.publishOffer(peer.transport(), audio, video, rtx)));
        peer.connectivityCheck();
        peer.handshake();
        await().atMost(Duration.ofSeconds(5)).until(() -> e.stats().publishState() == TransportState.CONNECTED);
    }

    private static EndpointListener listener(AtomicInteger offers) {
        return new EndpointListener() {
            @Override
            public void subscribeRenegotiationNeeded() {
                offers.incrementAndGet();
            }

            @Override
            public void transportStateChanged(TransportDirection direction, TransportState state) {
            }
        };
    }

    @AfterAll
    static void end() {
        roomPub.close();
        doctorPub.close();
        doctorSub.close();
        bridge.close();
    }

    @FuzzTest(maxDuration = "5s")
    void datagram(FuzzedDataProvider in) {
        int mode = in.consumeInt(0, 4);
        byte[] datagram;
        InetSocketAddress from = roomPub.localAddress();
        switch (mode) {
            case 0 -> datagram = in.consumeRemainingAsBytes(); // any protocol, from a validated address
            case 1 -> {
                from = STRANGER; // any protocol, from an address that never passed a check
                datagram = in.consumeRemainingAsBytes();
            }
            case 2 -> { // RTP the room's browser could send: its keys, its SSRCs (or others)
                byte[] plain = rtpHeaderFixed(in.consumeRemainingAsBytes());
                datagram = plain == null ? null : protect(() -> roomPub.protectRtp(plain));
            }
            case 3 -> { // RTCP from the room's publish connection (SR for its streams, anything else)
                byte[] plain = rtcpHeaderFixed(in.consumeRemainingAsBytes());
                datagram = plain == null ? null : protect(() -> roomPub.protectRtcp(plain));
            }
            default -> { // RTCP from the doctor's subscribe connection (RR, NACK, PLI, FIR, transport-cc)
                from = doctorSub.localAddress();
                byte[] plain = rtcpHeaderFixed(in.consumeRemainingAsBytes());
                datagram = plain == null ? null : protect(() -> doctorSub.protectRtcp(plain));
            }
        }
        if (datagram == null) {
            return;
        }
        long bugsBefore = internalErrors();
        InetSocketAddress sender = from;
        byte[] bytes = datagram;
        bridge.onLoop(() -> {
            bridge.onPacket(Unpooled.wrappedBuffer(bytes), sender, null);
            return null;
        });
        if (internalErrors() != bugsBefore) {
            throw new AssertionError("a datagram made the bridge's code throw (mode " + mode + ")");
        }
    }

    private static long internalErrors() {
        return bridge.stats().droppedByReason().get(DropReason.INTERNAL_ERROR.label());
    }

    /** Version 2 and, if the fuzzer says so, one of the room's SSRCs, so the packet reaches the producer. */
    private static byte[] rtpHeaderFixed(byte[] p) {
        if (p.length < 12) {
            return null;
        }
        p[0] = (byte) (0x80 | (p[0] & 0x3F));
        if ((p[1] & 0x7F) >= 64 && (p[1] & 0x7F) <= 95) { // those would be RTCP with rtcp-mux (RFC 5761 §4)
            p[1] = (byte) (p[1] & 0x80 | 96);
        }
        long ssrc = SSRCS[(p[8] & 0xFF) % SSRCS.length];
        if ((p[9] & 1) == 0) {
            p[8] = (byte) (ssrc >> 24);
            p[9] = (byte) (ssrc >> 16);
            p[10] = (byte) (ssrc >> 8);
            p[11] = (byte) ssrc;
        }
        return p;
    }

    /** Version 2 and an RTCP packet type (RFC 5761 §4), so SRTCP protects it and the bridge parses it. */
    private static byte[] rtcpHeaderFixed(byte[] p) {
        if (p.length < 8) {
            return null;
        }
        p[0] = (byte) (0x80 | (p[0] & 0x3F));
        if ((p[1] & 0xFF) < 192 || (p[1] & 0xFF) > 223) {
            p[1] = (byte) (200 + (p[1] & 0x07)); // SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR
        }
        return p;
    }

    /** The test peer's own SRTP may refuse a packet it cannot protect (e.g. a CSRC count past the end). */
    private static byte[] protect(java.util.function.Supplier<byte[]> p) {
        try {
            return p.get();
        } catch (RuntimeException refused) {
            return null;
        }
    }
}
