package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.sdp.ClientSdp;
import org.consultbridge.bridge.sdp.SessionDescription;
import org.consultbridge.bridge.stun.StunMessageBuilder;
import org.consultbridge.bridge.testpeer.TestPeer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ICE-TCP (RFC 6544 passive candidate, RFC 4571 framing) over real TCP sockets on loopback: a participant whose
 * every packet (STUN, DTLS, SRTP, SRTCP) goes over TCP talks with one on UDP through the bridge; hostile
 * connections (garbage, lying or oversized lengths, bad STUN, slowloris, idle, floods, a receiver that stops
 * reading) are closed or throttled and counted while the call goes on.
 */
class IceTcpTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private SfuBridge bridge;

    private final class Participant extends BridgeParticipant {
        Participant(String id, long audioSsrc, long videoSsrc, boolean tcp) throws Exception {
            this("c-tcp", id, audioSsrc, videoSsrc, tcp);
        }

        Participant(String conference, String id, long audioSsrc, long videoSsrc, boolean tcp) throws Exception {
            super(bridge, conference, id, audioSsrc, videoSsrc, tcp);
        }
    }

    @BeforeEach
    void start() {
        bridge = SfuBridge.start(new BridgeConfig("127.0.0.1", 0, List.of(), BridgeConfig.TCP_ANY_PORT));
    }

    @AfterEach
    void stop() {
        bridge.close();
    }

    private long dropped(String label) {
        return bridge.stats().droppedByReason().get(label);
    }

    private InetSocketAddress tcpAddress() {
        return new InetSocketAddress(LOOPBACK, bridge.tcpPort());
    }

    private static long ssrcOfKind(String offer, String kind) throws Exception {
        return SessionDescription.parse(offer).media().stream().filter(m -> m.kind().equals(kind) && m.port() != 0)
                .findFirst().orElseThrow().ssrcs().get(0).ssrc();
    }

    @Test
    void aTcpParticipantAndAUdpParticipantExchangeAudioAndVideo() throws Exception {
        try (Participant doctor = new Participant("doctor", 3333, 4444, true);
             Participant room = new Participant("room", 1111, 2222, false)) {
            String answer = doctor.publish();
            // RFC 6544 §4.5 passive host candidate on the bridge's TCP port, below every UDP candidate (§4.2)
            String tcpLine = answer.lines().filter(l -> l.startsWith("a=candidate:") && l.contains(" tcp "))
                    .findFirst().orElseThrow();
            String udpLine = answer.lines().filter(l -> l.startsWith("a=candidate:") && l.contains(" udp "))
                    .findFirst().orElseThrow();
            assertThat(tcpLine).matches("a=candidate:tcp1 1 tcp \\d+ 127\\.0\\.0\\.1 " + bridge.tcpPort()
                    + " typ host tcptype passive");
            assertThat(Long.parseLong(tcpLine.split(" ")[3])).isLessThan(Long.parseLong(udpLine.split(" ")[3]));
            room.publish();
            String offerToDoctor = doctor.subscribe();
            String offerToRoom = room.subscribe();

            // room (UDP) -> doctor (TCP): audio byte for byte, and a video keyframe
            byte[] opus = new byte[60];
            new Random(7).nextBytes(opus);
            long audioToDoctor = ssrcOfKind(offerToDoctor, "audio");
            long videoToDoctor = ssrcOfKind(offerToDoctor, "video");
            for (int i = 0; i < 20; i++) {
                room.pub.sendRtp(BridgeCallTest.rtp(111, 100 + i, 960L * i, room.audioSsrc, opus, false));
            }
            room.pub.sendRtp(BridgeCallTest.rtp(96, 7000, 90_000, room.videoSsrc, BridgeCallTest.vp8Keyframe(), true));
            boolean sawAudio = false;
            boolean sawVideo = false;
            for (int i = 0; i < 40 && !(sawAudio && sawVideo); i++) {
                byte[] got = doctor.sub.pollRtp(500);
                if (got == null) {
                    continue;
                }
                var buf = Unpooled.wrappedBuffer(got);
                if (RtpPacket.ssrc(buf) == audioToDoctor) {
                    byte[] payload = new byte[RtpPacket.payloadLength(buf)];
                    buf.getBytes(RtpPacket.payloadOffset(buf), payload);
                    assertThat(payload).isEqualTo(opus);
                    sawAudio = true;
                } else if (RtpPacket.ssrc(buf) == videoToDoctor) {
                    assertThat(RtpPacket.sequenceNumber(buf)).isEqualTo(7000);
                    sawVideo = true;
                }
            }
            assertThat(sawAudio).as("the doctor receives the room's audio over TCP").isTrue();
            assertThat(sawVideo).as("the doctor receives the room's video over TCP").isTrue();

            // doctor (TCP) -> room (UDP)
            long videoToRoom = ssrcOfKind(offerToRoom, "video");
            doctor.pub.sendRtp(BridgeCallTest.rtp(96, 9000, 90_000, doctor.videoSsrc, BridgeCallTest.vp8Keyframe(),
                    true));
            assertThat(BridgeParticipant.audioArrives(doctor, room, ssrcOfKind(offerToRoom, "audio"), 500))
                    .as("the room receives the doctor's audio sent over TCP").isTrue();
            boolean roomSawVideo = false;
            for (int i = 0; i < 20 && !roomSawVideo; i++) {
                doctor.pub.sendRtp(BridgeCallTest.rtp(96, 9001 + i, 90_000 + 3000L * i, doctor.videoSsrc,
                        BridgeCallTest.vp8Keyframe(), true));
                byte[] got;
                while ((got = room.sub.pollRtp(50)) != null) {
                    roomSawVideo |= RtpPacket.ssrc(Unpooled.wrappedBuffer(got)) == videoToRoom;
                }
            }
            assertThat(roomSawVideo).as("the room receives the doctor's video sent over TCP").isTrue();

            assertThat(doctor.endpoint.stats().rtpPacketsReceived()).isGreaterThanOrEqualTo(2);
            assertThat(doctor.endpoint.stats().rtpPacketsSent()).isGreaterThanOrEqualTo(21);
            assertThat(bridge.onLoop(() -> bridge.iceTcp().connectionCount())).isEqualTo(2);
            for (String r : List.of("tcp-frame-too-long", "tcp-unauthenticated", "tcp-auth-timeout", "tcp-idle",
                    "tcp-rejected", "tcp-congested")) {
                assertThat(dropped(r)).as(r).isZero();
            }

            // the doctor's subscribe connection goes away: that transport loses its path, nothing is sent into
            // the void, the bridge keeps serving the rest
            doctor.sub.tcpSocket().close();
            await().atMost(Duration.ofSeconds(3)).until(() -> bridge.onLoop(() -> bridge.iceTcp().connectionCount()) == 1);
            Transport doctorSub = bridge.onLoop(() -> ((Endpoint) doctor.endpoint).subscribe);
            assertThat(bridge.onLoop(doctorSub::sendTcp)).isNull();
            assertThat(bridge.onLoop(doctorSub::sendAddress)).isNull();
            assertThat(BridgeParticipant.audioArrives(doctor, room, ssrcOfKind(offerToRoom, "audio"), 2000)).isTrue();
        }
    }

    // ---------------------------------------------------------------- hostile input

    /** Opens a raw connection to the bridge's TCP port and writes {@code bytes}. */
    private Socket rawConnection(byte[] bytes) throws IOException {
        Socket s = new Socket();
        s.connect(tcpAddress(), 2000);
        if (bytes.length > 0) {
            s.getOutputStream().write(bytes);
            s.getOutputStream().flush();
        }
        return s;
    }

    /** True when the bridge closes the connection within {@code millis} (EOF or reset on read). */
    private static boolean closedByBridge(Socket s, long millis) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        InputStream in = s.getInputStream();
        byte[] buf = new byte[4096];
        while (System.nanoTime() < deadline) {
            s.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            try {
                if (in.read(buf) < 0) {
                    return true;
                }
            } catch (SocketTimeoutException e) {
                return false;
            } catch (SocketException e) {
                return true; // reset
            }
        }
        return false;
    }

    private static byte[] frame(byte[] packet, int claimedLength) {
        byte[] f = new byte[2 + packet.length];
        f[0] = (byte) (claimedLength >> 8);
        f[1] = (byte) claimedLength;
        System.arraycopy(packet, 0, f, 2, packet.length);
        return f;
    }

    private static byte[] bindingRequest(String username, String pwd) {
        return StunMessageBuilder.bindingRequest(StunMessageBuilder.newTransactionId()).username(username)
                .priority(1L).iceControlling(1L).useCandidate().build(pwd.getBytes(StandardCharsets.UTF_8), true);
    }

    @Test
    void hostileConnectionsAreClosedAndCountedWhileACallOverTcpGoesOn() throws Exception {
        try (Participant doctor = new Participant("doctor", 3333, 4444, true);
             Participant room = new Participant("room", 1111, 2222, false)) {
            String answer = doctor.publish();
            room.publish();
            String offerToDoctor = doctor.subscribe();
            long audioToDoctor = ssrcOfKind(offerToDoctor, "audio");
            assertThat(BridgeParticipant.audioArrives(room, doctor, audioToDoctor, 100)).isTrue();
            String bridgeUfrag = SessionDescription.parse(answer).media().get(0).iceUfrag();

            // garbage: a frame that is no STUN
            byte[] garbage = new byte[100];
            Arrays.fill(garbage, (byte) 0xFF);
            try (Socket s = rawConnection(frame(garbage, garbage.length))) {
                assertThat(closedByBridge(s, 2000)).as("garbage closes").isTrue();
            }
            await().atMost(Duration.ofSeconds(2)).until(() -> dropped("tcp-unauthenticated") == 1);

            // DTLS (or SRTP) before any ICE check
            byte[] dtls = new byte[60];
            dtls[0] = 22;
            try (Socket s = rawConnection(frame(dtls, dtls.length))) {
                assertThat(closedByBridge(s, 2000)).as("DTLS before STUN closes").isTrue();
            }
            await().atMost(Duration.ofSeconds(2)).until(() -> dropped("tcp-unauthenticated") == 2);

            // a length larger than any packet the bridge takes
            try (Socket s = rawConnection(new byte[] {(byte) 0xFF, (byte) 0xFF, 0, 1, 0, 0})) {
                assertThat(closedByBridge(s, 2000)).as("oversized frame closes").isTrue();
            }
            await().atMost(Duration.ofSeconds(2)).until(() -> dropped("tcp-frame-too-long") == 1);

            // a length that lies short: a real Binding request cut by its RFC 4571 length -> malformed STUN
            byte[] good = bindingRequest(bridgeUfrag + ":" + doctor.pub.ufrag(), "wrong-password-but-long-enough");
            long malformedBefore = dropped("stun-malformed");
            try (Socket s = rawConnection(frame(good, good.length - 30))) {
                assertThat(closedByBridge(s, 2000)).as("STUN cut short by the length closes").isTrue();
            }
            await().atMost(Duration.ofSeconds(2)).until(() -> dropped("tcp-unauthenticated") == 3);
            assertThat(dropped("stun-malformed")).isGreaterThan(malformedBefore);

            // a well-formed check with the wrong password (RFC 8445 §7.3: MESSAGE-INTEGRITY fails)
            long integrityBefore = dropped("stun-integrity");
            try (Socket s = rawConnection(frame(good, good.length))) {
                assertThat(closedByBridge(s, 2000)).as("bad integrity closes").isTrue();
            }
            await().atMost(Duration.ofSeconds(2)).until(() -> dropped("tcp-unauthenticated") == 4);
            assertThat(dropped("stun-integrity")).isEqualTo(integrityBefore + 1);

            // random bytes, no framing at all
            byte[] noise = new byte[3000];
            new Random(3).nextBytes(noise);
            noise[0] = 0x00; // a plausible length ...
            noise[1] = 0x40;
            noise[2] = (byte) 0xEE; // ... of a packet that is no protocol of RFC 7983
            try (Socket s = rawConnection(noise)) {
                assertThat(closedByBridge(s, 2000)).as("noise closes").isTrue();
            }

            // the call over TCP went on all along
            assertThat(BridgeParticipant.audioArrives(room, doctor, audioToDoctor, 1000)).as("the doctor still hears the room").isTrue();
            assertThat(bridge.onLoop(() -> bridge.iceTcp().connectionCount())).isEqualTo(2);
        }
    }

    @Test
    void slowAndIdleConnectionsAreClosed() throws Exception {
        IceTcpServer server = bridge.iceTcp();
        assertThat(IceTcpServer.DEFAULT_AUTH_TIMEOUT_NANOS).isEqualTo(TimeUnit.SECONDS.toNanos(5));
        assertThat(IceTcpServer.DEFAULT_IDLE_TIMEOUT_NANOS).isEqualTo(Transport.CONSENT_TIMEOUT_NANOS);
        bridge.onLoop(() -> {
            server.authTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(1500);
            server.idleTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(2500);
            return null;
        });
        try (Participant doctor = new Participant("doctor", 3333, 4444, true)) {
            doctor.publish(); // authenticated, then silent

            // slowloris: a frame announced, then one byte at a time
            long start = System.nanoTime();
            try (Socket slow = rawConnection(new byte[] {0, 100});
                 Socket lying = rawConnection(frame(new byte[20], 500));
                 Socket silent = rawConnection(new byte[0])) {
                OutputStream out = slow.getOutputStream();
                boolean closed = false;
                for (int i = 0; i < 20 && !closed; i++) {
                    try {
                        out.write(0);
                        out.flush();
                    } catch (IOException e) {
                        closed = true;
                        break;
                    }
                    closed = closedByBridge(slow, 250);
                }
                assertThat(closed).as("slowloris closed").isTrue();
                assertThat(closedByBridge(lying, 2000)).as("a frame that never completes").isTrue();
                assertThat(closedByBridge(silent, 2000)).as("a connection that sends nothing").isTrue();
                long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertThat(elapsedMillis).isBetween(1400L, 4000L);
            }
            await().atMost(Duration.ofSeconds(2)).until(() -> dropped("tcp-auth-timeout") == 3);

            // the authenticated publish connection sends nothing after its handshake: idle, closed, path lost
            assertThat(closedByBridge(doctor.pub.tcpSocket(), 4000)).as("idle connection closed").isTrue();
            assertThat(dropped("tcp-idle")).isEqualTo(1);
            Transport publish = bridge.onLoop(() -> ((Endpoint) doctor.endpoint).publish);
            assertThat(bridge.onLoop(publish::sendTcp)).isNull();
        }
    }

    @Test
    void unauthenticatedConnectionsAreLimited() throws Exception {
        IceTcpServer server = bridge.iceTcp();
        bridge.onLoop(() -> server.maxUnauthenticated = 4);
        List<Socket> flood = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                flood.add(rawConnection(new byte[0]));
            }
            await().atMost(Duration.ofSeconds(2)).until(() -> bridge.onLoop(server::connectionCount) == 4);
            try (Socket extra1 = rawConnection(new byte[0]); Socket extra2 = rawConnection(new byte[0])) {
                assertThat(closedByBridge(extra1, 2000)).isTrue();
                assertThat(closedByBridge(extra2, 2000)).isTrue();
            }
            assertThat(dropped("tcp-rejected")).isEqualTo(2);
            assertThat(closedByBridge(flood.get(0), 100)).as("the first ones stay until their timeout").isFalse();
        } finally {
            for (Socket s : flood) {
                s.close();
            }
        }
        await().atMost(Duration.ofSeconds(2)).until(() -> bridge.onLoop(server::connectionCount) == 0);
        // once they are gone, a real participant gets in; authenticated connections do not count against the limit
        try (Participant a = new Participant("a", 1, 2, true); Participant b = new Participant("b", 3, 4, true);
             Participant c = new Participant("c", 5, 6, true)) {
            a.publish();
            b.publish();
            c.publish();
            assertThat(bridge.onLoop(server::connectionCount)).isEqualTo(3);
            assertThat(bridge.onLoop(() -> server.unauthenticated)).isZero();
        }
    }

    @Test
    void aTcpReceiverThatStopsReadingCostsDroppedPacketsNotMemory() throws Exception {
        try (Participant doctor = new Participant("doctor", 3333, 4444, true);
             Participant room = new Participant("room", 1111, 2222, false)) {
            doctor.publish();
            room.publish();
            String offerToDoctor = doctor.subscribe();
            long audioToDoctor = ssrcOfKind(offerToDoctor, "audio");
            assertThat(BridgeParticipant.audioArrives(room, doctor, audioToDoctor, 100)).isTrue();

            doctor.sub.pauseReading(true);
            byte[] payload = new byte[1000];
            int seq = 1000;
            long maxPending = 0;
            // up to 40 MB towards a reader that takes nothing: far beyond every socket buffer
            for (int burst = 0; burst < 400 && dropped("tcp-congested") == 0; burst++) {
                for (int i = 0; i < 100; i++, seq++) {
                    room.pub.sendRtp(BridgeCallTest.rtp(111, seq & 0xFFFF, 960L * seq, room.audioSsrc, payload, false));
                }
                Thread.sleep(2);
                maxPending = Math.max(maxPending, bridge.onLoop(() -> bridge.iceTcp().maxPendingWriteBytes()));
            }
            assertThat(dropped("tcp-congested")).as("packets dropped at the high-water mark").isPositive();
            for (int i = 0; i < 200; i++, seq++) {
                room.pub.sendRtp(BridgeCallTest.rtp(111, seq & 0xFFFF, 960L * seq, room.audioSsrc, payload, false));
                maxPending = Math.max(maxPending, bridge.onLoop(() -> bridge.iceTcp().maxPendingWriteBytes()));
            }
            assertThat(maxPending).as("bytes queued in the bridge for that connection")
                    .isLessThanOrEqualTo(IceTcpServer.WATER_MARK.high() + 2 * SfuBridge.MAX_DATAGRAM);

            // the receiver reads again: the connection is still usable and media flows
            doctor.sub.pauseReading(false);
            doctor.sub.drainRtp();
            await().atMost(Duration.ofSeconds(10)).until(() -> bridge.onLoop(() -> bridge.iceTcp().maxPendingWriteBytes()) == 0);
            assertThat(BridgeParticipant.audioArrives(room, doctor, audioToDoctor, seq + 10)).isTrue();
        }
    }

    /**
     * Bytes the bridge's event loop allocates per forwarded packet when one side is on TCP, against the same call
     * with both on UDP: the TCP path (framing, slices, flushes) must not allocate more than the UDP path does.
     */
    @Test
    void theTcpPathAllocatesNoMorePerPacketThanTheUdpPath() throws Exception {
        long udp = loopBytesPerPacket("c-udp", false);
        long tcp = loopBytesPerPacket("c-tcp2", true);
        System.out.printf("event-loop allocation per forwarded packet: doctor on UDP %d B, doctor on TCP %d B%n", udp, tcp);
        // the two runs differ by up to ~400 bytes of noise on a busy 2-core machine (timers, JIT, other builds); a
        // heap copy of each packet adds > 1000
        assertThat(tcp).isLessThanOrEqualTo(udp + 700);
    }

    private long loopBytesPerPacket(String conference, boolean doctorTcp) throws Exception {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long loopThread = bridge.onLoop(() -> Thread.currentThread().threadId());
        try (Participant doctor = new Participant(conference, "doctor", 3333, 4444, doctorTcp);
             Participant room = new Participant(conference, "room", 1111, 2222, false)) {
            doctor.publish();
            room.publish();
            String offerToDoctor = doctor.subscribe();
            String offerToRoom = room.subscribe();
            assertThat(BridgeParticipant.audioArrives(room, doctor, ssrcOfKind(offerToDoctor, "audio"), 100)).isTrue();
            assertThat(BridgeParticipant.audioArrives(doctor, room, ssrcOfKind(offerToRoom, "audio"), 100)).isTrue();
            byte[] payload = new byte[1000]; // large, so that a per-packet copy onto the heap would stand out
            int seq = 5000;
            long before = 0;
            long forwardedBefore = 0;
            for (int round = 0; round < 2; round++) { // the first round warms up the JIT
                if (round == 1) {
                    forwardedBefore = bridge.stats().rtpPacketsForwarded();
                    before = mx.getThreadAllocatedBytes(loopThread);
                }
                for (int i = 0; i < 4000; i++, seq++) {
                    room.pub.sendRtp(BridgeCallTest.rtp(111, seq & 0xFFFF, 960L * seq, room.audioSsrc, payload, false));
                    doctor.pub.sendRtp(BridgeCallTest.rtp(111, seq & 0xFFFF, 960L * seq, doctor.audioSsrc, payload,
                            false));
                    if (i % 5 == 0) {
                        Thread.sleep(1);
                        doctor.sub.drainRtp();
                        room.sub.drainRtp();
                    }
                }
                Thread.sleep(200);
            }
            long allocated = mx.getThreadAllocatedBytes(loopThread) - before;
            long forwarded = bridge.stats().rtpPacketsForwarded() - forwardedBefore;
            assertThat(forwarded).as("packets forwarded of 8000").isGreaterThan(4000);
            return allocated / forwarded;
        }
    }
}
