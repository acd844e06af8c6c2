package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.sdp.ClientSdp;
import org.consultbridge.bridge.testpeer.TestPeer;

/**
 * A participant of a bridge test over real sockets: a publish and a subscribe {@link TestPeer} (UDP, or ICE-TCP
 * with RFC 4571 framing) and its endpoint on the bridge, with the negotiation steps a browser would take.
 */
class BridgeParticipant implements AutoCloseable {
    final TestPeer pub;
    final TestPeer sub;
    final BridgeEndpoint endpoint;
    final AtomicInteger renegotiations = new AtomicInteger();
    final long audioSsrc;
    final long videoSsrc;

    BridgeParticipant(MediaBridge bridge, String conference, String id, long audioSsrc, long videoSsrc, boolean tcp)
            throws Exception {
        this.audioSsrc = audioSsrc;
        this.videoSsrc = videoSsrc;
        pub = tcp ? TestPeer.overTcp(InetAddress.getLoopbackAddress()) : new TestPeer(InetAddress.getLoopbackAddress());
        sub = tcp ? TestPeer.overTcp(InetAddress.getLoopbackAddress()) : new TestPeer(InetAddress.getLoopbackAddress());
        endpoint = bridge.createEndpoint(conference, id, new EndpointListener() {
            @Override
            public void subscribeRenegotiationNeeded() {
                renegotiations.incrementAndGet();
            }

            @Override
            public void transportStateChanged(TransportDirection direction, TransportState state) {
            }
        });
    }

    String publish() throws Exception {
        String answer = endpoint.acceptPublishOffer(ClientSdp.publishOffer(pub.transport(), audioSsrc, videoSsrc,
                videoSsrc + 1));
        pub.setRemoteDescription(answer);
        // the XOR-MAPPED-ADDRESS is the peer's own end of the path the check came on (UDP or the TCP connection)
        assertThat(pub.connectivityCheck().xorMappedAddress()).isEqualTo(pub.localAddress());
        pub.handshake();
        await().atMost(Duration.ofSeconds(3))
                .until(() -> endpoint.stats().publishState() == TransportState.CONNECTED);
        return answer;
    }

    String subscribe() throws Exception {
        await().atMost(Duration.ofSeconds(5)).until(() -> renegotiations.get() > 0);
        Optional<String> offer = endpoint.createSubscribeOffer();
        assertThat(offer).isPresent();
        sub.setRemoteDescription(offer.get());
        endpoint.acceptSubscribeAnswer(ClientSdp.subscribeAnswer(sub.transport(), offer.get()));
        sub.connectivityCheck();
        sub.handshake();
        await().atMost(Duration.ofSeconds(3))
                .until(() -> endpoint.stats().subscribeState() == TransportState.CONNECTED);
        return offer.get();
    }

    @Override
    public void close() {
        endpoint.close();
        pub.close();
        sub.close();
    }

    /** Sends audio from {@code from} until {@code to} receives a packet with {@code ssrc}; false after 3 s. */
    static boolean audioArrives(BridgeParticipant from, BridgeParticipant to, long ssrc, int firstSeq) throws Exception {
        byte[] opus = new byte[60];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        for (int seq = firstSeq; System.nanoTime() < deadline; seq++) {
            from.pub.sendRtp(BridgeCallTest.rtp(111, seq & 0xFFFF, 960L * seq, from.audioSsrc, opus, false));
            byte[] got;
            while ((got = to.sub.pollRtp(20)) != null) {
                if (RtpPacket.ssrc(Unpooled.wrappedBuffer(got)) == ssrc) {
                    return true;
                }
            }
        }
        return false;
    }
}
