package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.sdp.ClientSdp;
import org.consultbridge.bridge.sdp.MediaDescription;
import org.consultbridge.bridge.sdp.SessionDescription;
import org.consultbridge.bridge.testpeer.TestPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ICE restart (RFC 8445 §9) over real UDP with {@link TestPeer}s: new credentials on both sides, the old ones answered
 * until the peer checks with the new ones and refused after, DTLS and SRTP going on without a new handshake.
 */
class IceRestartTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private SfuBridge bridge;

    @BeforeEach
    void start() {
        bridge = SfuBridge.start(new BridgeConfig("127.0.0.1", 0, List.of()));
    }

    @AfterEach
    void stop() {
        bridge.close();
    }

    private static String[] credentials(String sdp) throws Exception {
        MediaDescription m = SessionDescription.parse(sdp).media().stream().filter(x -> x.port() != 0).findFirst()
                .orElseThrow();
        return new String[] {m.iceUfrag(), m.icePwd()};
    }

    private BridgeEndpoint endpoint(String id, AtomicInteger renegotiations) {
        return bridge.createEndpoint("c-restart", id, new EndpointListener() {
            @Override
            public void subscribeRenegotiationNeeded() {
                renegotiations.incrementAndGet();
            }

            @Override
            public void transportStateChanged(TransportDirection direction, TransportState state) {
            }
        });
    }

    private static void connectPublish(BridgeEndpoint e, TestPeer pub, long audio, long video) throws Exception {
        pub.setRemoteDescription(e.acceptPublishOffer(ClientSdp.publishOffer(pub.transport(), audio, video,
                video + 1)));
        pub.connectivityCheck();
        pub.handshake();
        await().atMost(Duration.ofSeconds(3)).until(() -> e.stats().publishState() == TransportState.CONNECTED);
    }

    @Test
    void aPublishOfferWithNewCredentialsRestartsIceAndMediaGoesOnWithoutANewHandshake() throws Exception {
        AtomicInteger renegotiations = new AtomicInteger();
        BridgeEndpoint e = endpoint("room", renegotiations);
        try (TestPeer pub = new TestPeer(LOOPBACK)) {
            String first = e.acceptPublishOffer(ClientSdp.publishOffer(pub.transport(), 1111, 2222, 2223));
            pub.setRemoteDescription(first);
            pub.connectivityCheck();
            pub.handshake();
            await().atMost(Duration.ofSeconds(3)).until(() -> e.stats().publishState() == TransportState.CONNECTED);
            String[] before = credentials(first);

            // the browser restarts: same offer, new ufrag and password; the bridge answers with new ones too
            String oldUfrag = pub.ufrag();
            pub.restartIce();
            assertThat(pub.ufrag()).isNotEqualTo(oldUfrag);
            String second = e.acceptPublishOffer(ClientSdp.publishOffer(pub.transport(), 1111, 2222, 2223));
            String[] after = credentials(second);
            assertThat(after[0]).isNotEqualTo(before[0]);
            assertThat(after[1]).isNotEqualTo(before[1]);
            // checks with the new credentials on both sides are answered; DTLS and SRTP are those of before
            pub.setRemoteDescription(second);
            assertThat(pub.connectivityCheck().xorMappedAddress().getPort()).isEqualTo(pub.socket().getLocalPort());
            long received = e.stats().rtpPacketsReceived();
            for (int i = 0; i < 10; i++) {
                pub.sendRtp(BridgeCallTest.rtp(111, 10 + i, 960L * i, 1111, new byte[40], false));
            }
            await().atMost(Duration.ofSeconds(3)).until(() -> e.stats().rtpPacketsReceived() >= received + 10);
            assertThat(e.stats().publishState()).isEqualTo(TransportState.CONNECTED);
            // once the new credentials were used, the old ones are answered no more
            pub.setRemoteDescription(first);
            assertThatThrownBy(pub::connectivityCheck).isInstanceOf(TimeoutException.class);
        }
    }

    @Test
    void restartIceGivesANewSubscribeOfferWhoseOldCredentialsWorkUntilTheNewAreUsed() throws Exception {
        AtomicInteger roomRenegotiations = new AtomicInteger();
        AtomicInteger doctorRenegotiations = new AtomicInteger();
        BridgeEndpoint room = endpoint("room", roomRenegotiations);
        BridgeEndpoint doctor = endpoint("doctor", doctorRenegotiations);
        try (TestPeer roomPub = new TestPeer(LOOPBACK); TestPeer doctorSub = new TestPeer(LOOPBACK)) {
            connectPublish(room, roomPub, 1111, 2222);
            await().atMost(Duration.ofSeconds(5)).until(() -> doctorRenegotiations.get() > 0);
            String offer = doctor.createSubscribeOffer().orElseThrow();
            doctorSub.setRemoteDescription(offer);
            doctor.acceptSubscribeAnswer(ClientSdp.subscribeAnswer(doctorSub.transport(), offer));
            doctorSub.connectivityCheck();
            doctorSub.handshake();
            await().atMost(Duration.ofSeconds(3))
                    .until(() -> doctor.stats().subscribeState() == TransportState.CONNECTED);
            long audioToDoctor = BridgeCallTest.ssrcOfMid(offer, "audio");

            int before = doctorRenegotiations.get();
            doctor.restartIce();
            await().atMost(Duration.ofSeconds(3)).until(() -> doctorRenegotiations.get() > before);
            Optional<String> restarted = doctor.createSubscribeOffer();
            assertThat(restarted).isPresent();
            assertThat(credentials(restarted.get())[0]).isNotEqualTo(credentials(offer)[0]);
            assertThat(credentials(restarted.get())[1]).isNotEqualTo(credentials(offer)[1]);
            // the old credentials still work while the browser has not applied the offer
            doctorSub.connectivityCheck();
            // an outstanding offer is superseded by another restart (its answer may never come)
            doctor.restartIce();
            await().atMost(Duration.ofSeconds(3)).until(() -> doctorRenegotiations.get() > before + 1);
            String latest = doctor.createSubscribeOffer().orElseThrow();
            assertThat(credentials(latest)[0]).isNotEqualTo(credentials(restarted.get())[0]);
            doctorSub.connectivityCheck(); // still the credentials the browser has: those of the first offer

            doctorSub.restartIce();
            doctorSub.setRemoteDescription(latest);
            doctor.acceptSubscribeAnswer(ClientSdp.subscribeAnswer(doctorSub.transport(), latest));
            doctorSub.connectivityCheck();
            // media to the doctor goes on under the keys of the first handshake
            for (int i = 0; i < 20; i++) {
                roomPub.sendRtp(BridgeCallTest.rtp(111, 100 + i, 960L * i, 1111, new byte[40], false));
            }
            boolean got = false;
            for (int i = 0; i < 20 && !got; i++) {
                byte[] p = doctorSub.pollRtp(250);
                got = p != null && org.consultbridge.bridge.rtp.RtpPacket.ssrc(io.netty.buffer.Unpooled.wrappedBuffer(p))
                        == audioToDoctor;
            }
            assertThat(got).as("the doctor receives the room's audio after the restart").isTrue();
            assertThat(doctor.stats().subscribeState()).isEqualTo(TransportState.CONNECTED);
        }
    }
}
