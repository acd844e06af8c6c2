package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import org.consultbridge.bridge.dtls.DtlsCertificate;
import org.consultbridge.bridge.stun.StunClass;
import org.consultbridge.bridge.stun.StunMessage;
import org.consultbridge.bridge.stun.StunMessageBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The generator's peer answers a full ICE agent's connectivity checks (RFC 8445 §7.3) and only those. */
class MediaPeerFullIceTest {

    private EventLoopGroup group;
    private MediaPeer peer;
    private DatagramSocket remote;

    @BeforeEach
    void setUp() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, io.netty.channel.epoll.Epoll.isAvailable() // as LoadRunner
                ? io.netty.channel.epoll.EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        peer = new MediaPeer(group, InetAddress.getLoopbackAddress(), DtlsCertificate.generate(),
                new MediaPeer.Receiver() {
                    @Override
                    public void onRtp(io.netty.buffer.ByteBuf rtp, long nowNanos) {
                    }

                    @Override
                    public void onRtcp(io.netty.buffer.ByteBuf rtcp) {
                    }
                }, new Metrics(), Impairment.NONE);
        remote = new DatagramSocket(0, InetAddress.getLoopbackAddress());
        remote.setSoTimeout(1000);
    }

    @AfterEach
    void tearDown() {
        remote.close();
        peer.close();
        group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS);
    }

    private StunMessage check(String username, String key) throws Exception {
        byte[] tid = StunMessageBuilder.newTransactionId();
        byte[] req = StunMessageBuilder.bindingRequest(tid).username(username).priority(1_845_501_695L)
                .iceControlled(42).build(key.getBytes(StandardCharsets.UTF_8), true);
        InetSocketAddress to = peer.localAddress();
        remote.send(new DatagramPacket(req, req.length, to));
        byte[] buf = new byte[1500];
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        remote.receive(p);
        StunMessage m = StunMessage.decode(buf, 0, p.getLength());
        assertThat(m.transactionId()).isEqualTo(tid);
        return m;
    }

    @Test
    void answersAValidCheckWithTheMappedAddressSignedWithOurPassword() throws Exception {
        String pwd = peer.transport().pwd();
        StunMessage m = check(peer.transport().ufrag() + ":janus", pwd);
        assertThat(m.messageClass()).isEqualTo(StunClass.SUCCESS_RESPONSE);
        assertThat(m.checkMessageIntegrity(pwd.getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(m.checkFingerprint()).isTrue();
        assertThat(m.xorMappedAddress()).isEqualTo(remote.getLocalSocketAddress());
    }

    @Test
    void ignoresChecksForAnotherUfragOrWithAWrongPassword() throws Exception {
        for (String[] bad : new String[][] {{"someoneelse:janus", peer.transport().pwd()},
            {peer.transport().ufrag() + ":janus", "not-our-password-at-all!"}}) {
            try {
                StunMessage m = check(bad[0], bad[1]);
                throw new AssertionError("answered " + m.messageClass() + " to " + bad[0]);
            } catch (SocketTimeoutException expected) {
                // RFC 8445 §7.3: not for us, no answer
            }
        }
    }

    @Test
    void ourHostCandidateGoesIntoEveryActiveMediaSection() {
        String sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\n"
                + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\n";
        String out = JanusParticipant.withCandidate(sdp, new InetSocketAddress("10.98.3.1", 40000));
        assertThat(out.split("a=candidate:1 1 udp 2130706431 10.98.3.1 40000 typ host\r\na=end-of-candidates\r\n", -1))
                .hasSize(3);
        assertThat(out).startsWith("v=0\r\n").endsWith("m=video 0 UDP/TLS/RTP/SAVPF 96\r\n");
    }
}
