package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.sdp.ClientSdp;
import org.consultbridge.bridge.testpeer.TestPeer;
import org.consultbridge.bridge.transport.ConsentFreshness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ICE consent freshness (RFC 7675 §5.1) over real sockets on loopback with real STUN, DTLS and SRTP: the room
 * publishes audio, the doctor receives it. While the doctor's peer keeps sending Binding requests, media flows for
 * longer than the consent timeout; when its checks stop, the bridge stops sending to it after the timeout (no packet
 * sent after that reaches the doctor's socket) and counts what it held back as {@code consent-expired}; when the
 * checks come back, media resumes. Once over UDP and once with the doctor's subscribe transport on ICE-TCP
 * (RFC 6544). The consent timeout is shortened to {@value #CONSENT_MS} ms for the test
 * ({@link ConsentFreshness#TIMEOUT_PROPERTY}); every wait is a poll with a generous deadline, and the assertions
 * read sequence counters carried in the payload, not timings, so a slow machine cannot make it fail.
 */
class ConsentFreshnessCallTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    static final long CONSENT_MS = 4000;
    /** A browser checks every 2.5-5 s against 30 s; here 250 ms against 4 s keeps the same margin of many checks. */
    private static final long CHECK_INTERVAL_MS = 250;
    private static final Duration DEADLINE = Duration.ofSeconds(30);

    private SfuBridge bridge;

    @BeforeEach
    void start() {
        String before = System.getProperty(ConsentFreshness.TIMEOUT_PROPERTY);
        System.setProperty(ConsentFreshness.TIMEOUT_PROPERTY, String.valueOf(CONSENT_MS));
        try {
            bridge = SfuBridge.start(new BridgeConfig("127.0.0.1", 0, List.of(), BridgeConfig.TCP_ANY_PORT));
        } finally { // read once at start: other tests in this JVM keep the RFC's 30 s
            if (before == null) {
                System.clearProperty(ConsentFreshness.TIMEOUT_PROPERTY);
            } else {
                System.setProperty(ConsentFreshness.TIMEOUT_PROPERTY, before);
            }
        }
    }

    @AfterEach
    void stop() {
        bridge.close();
    }

    @Test
    void mediaStopsWhenTheReceiversChecksStopAndResumesWhenTheyReturnOverUdp() throws Exception {
        consentCycle(false);
    }

    @Test
    void mediaStopsWhenTheReceiversChecksStopAndResumesWhenTheyReturnOverIceTcp() throws Exception {
        consentCycle(true);
    }

    private void consentCycle(boolean doctorOnTcp) throws Exception {
        try (Participant room = new Participant("room", 1111, 2222, false);
             Participant doctor = new Participant("doctor", 3333, 4444, doctorOnTcp)) {
            room.publish();
            doctor.subscribe();
            try (ConsentKeeper roomChecks = new ConsentKeeper(room.pub);
                 ConsentKeeper doctorChecks = new ConsentKeeper(doctor.sub);
                 AudioSender audio = new AudioSender(room)) {

                // 1. checks keep consent fresh: media still flows after 1.5 consent timeouts
                long phase1End = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CONSENT_MS * 3 / 2);
                await().atMost(DEADLINE).until(() -> System.nanoTime() - phase1End > 0);
                long late = audio.next();
                await().atMost(DEADLINE).until(() -> doctor.highest.get() > late);
                assertThat(doctor.received.get()).isGreaterThan(10);
                assertThat(doctorChecks.answered.get()).as("the doctor's checks were answered").isPositive();
                assertThat(doctor.endpoint.stats().subscribeState()).isEqualTo(TransportState.CONNECTED);
                assertThat(consentDrops()).as("nothing held back while checks come").isZero();
                assertThat(doctor.events).doesNotContain("SUBSCRIBE FAILED");

                // 2. the doctor's checks stop: after the timeout the bridge sends it nothing more
                doctorChecks.paused = true;
                await().atMost(DEADLINE).until(() -> doctor.endpoint.stats().subscribeState() == TransportState.FAILED);
                long failedSeen = System.nanoTime();
                long cut = audio.next();
                long dropsAtCut = consentDrops();
                assertThat(TimeUnit.NANOSECONDS.toMillis(failedSeen - doctorChecks.lastSentNanos))
                        .as("consent lasted at least the timeout after the last check").isGreaterThanOrEqualTo(CONSENT_MS);
                assertThat(doctor.events).containsSubsequence("SUBSCRIBE consent expired", "SUBSCRIBE FAILED");
                assertThat(room.endpoint.stats().publishState()).as("the room's own checks go on")
                        .isEqualTo(TransportState.CONNECTED);
                // let the room send on for a while (100 packets, 2 s at 50/s), then wait for stragglers
                await().atMost(DEADLINE).until(() -> audio.next() > cut + 100);
                long sentWhileExpired = audio.next() - cut;
                Thread.sleep(500);
                assertThat(doctor.highest.get()).as("no packet sent after consent expired reached the doctor")
                        .isLessThanOrEqualTo(cut);
                assertThat(consentDrops() - dropsAtCut).as("held-back packets counted as consent-expired")
                        .isGreaterThanOrEqualTo(sentWhileExpired / 2);
                assertThat(bridge.qualitySnapshot().iceFailures()).as("reported to ops").isEqualTo(1);

                // 3. the checks come back (a short outage is over): media resumes at once
                long resumedAt = audio.next();
                doctorChecks.paused = false;
                await().atMost(DEADLINE).until(() -> doctor.endpoint.stats().subscribeState() == TransportState.CONNECTED);
                await().atMost(DEADLINE).until(() -> doctor.highest.get() > resumedAt);
                assertThat(doctor.events).containsSubsequence("SUBSCRIBE consent expired", "SUBSCRIBE FAILED",
                        "SUBSCRIBE consent fresh", "SUBSCRIBE CONNECTED");
                assertThat(roomChecks.answered.get()).isPositive();
            }
        }
    }

    private long consentDrops() {
        return bridge.stats().droppedByReason().get("consent-expired");
    }

    /** One participant: a publish and a subscribe peer connection (as in IceTcpTest), and what it received. */
    private final class Participant implements AutoCloseable {
        final TestPeer pub;
        final TestPeer sub;
        final BridgeEndpoint endpoint;
        final AtomicInteger renegotiations = new AtomicInteger();
        final List<String> events = new CopyOnWriteArrayList<>();
        final long audioSsrc;
        final long videoSsrc;
        /** Audio packets received on the subscribe connection, and the highest sender counter among them. */
        final AtomicLong received = new AtomicLong();
        final AtomicLong highest = new AtomicLong(-1);
        private Thread reader;
        private volatile boolean closed;

        Participant(String id, long audioSsrc, long videoSsrc, boolean tcp) throws Exception {
            this.audioSsrc = audioSsrc;
            this.videoSsrc = videoSsrc;
            pub = tcp ? TestPeer.overTcp(LOOPBACK) : new TestPeer(LOOPBACK);
            sub = tcp ? TestPeer.overTcp(LOOPBACK) : new TestPeer(LOOPBACK);
            endpoint = bridge.createEndpoint("c-consent", id, new EndpointListener() {
                @Override
                public void subscribeRenegotiationNeeded() {
                    renegotiations.incrementAndGet();
                }

                @Override
                public void transportStateChanged(TransportDirection direction, TransportState state) {
                    events.add(direction + " " + state);
                }

                @Override
                public void consentChanged(TransportDirection direction, boolean fresh) {
                    events.add(direction + " consent " + (fresh ? "fresh" : "expired"));
                }
            });
        }

        void publish() throws Exception {
            pub.setRemoteDescription(endpoint.acceptPublishOffer(
                    ClientSdp.publishOffer(pub.transport(), audioSsrc, videoSsrc, videoSsrc + 1)));
            pub.connectivityCheck();
            pub.handshake();
            await().atMost(DEADLINE).until(() -> endpoint.stats().publishState() == TransportState.CONNECTED);
        }

        void subscribe() throws Exception {
            await().atMost(DEADLINE).until(() -> renegotiations.get() > 0);
            Optional<String> offer = endpoint.createSubscribeOffer();
            assertThat(offer).isPresent();
            sub.setRemoteDescription(offer.get());
            endpoint.acceptSubscribeAnswer(ClientSdp.subscribeAnswer(sub.transport(), offer.get()));
            sub.connectivityCheck();
            sub.handshake();
            await().atMost(DEADLINE).until(() -> endpoint.stats().subscribeState() == TransportState.CONNECTED);
            reader = Thread.ofVirtual().start(this::readAudio);
        }

        /** Counts what reaches the subscribe socket: the sender's counter sits in the first 8 payload bytes. */
        private void readAudio() {
            try {
                while (!closed) {
                    byte[] got = sub.pollRtp(100);
                    if (got == null) {
                        continue;
                    }
                    ByteBuf b = Unpooled.wrappedBuffer(got);
                    if (RtpPacket.payloadLength(b) >= 8) {
                        long counter = b.getLong(RtpPacket.payloadOffset(b));
                        received.incrementAndGet();
                        highest.accumulateAndGet(counter, Math::max);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() {
            closed = true;
            if (reader != null) {
                reader.interrupt();
            }
            endpoint.close();
            pub.close();
            sub.close();
        }
    }

    /** The browser's side of consent: an authenticated Binding request on the selected pair every 250 ms. */
    private static final class ConsentKeeper implements AutoCloseable {
        final AtomicInteger answered = new AtomicInteger();
        volatile boolean paused;
        /** When the last check left (set before sending): the bridge refreshed consent no earlier. */
        volatile long lastSentNanos;
        private volatile boolean closed;
        private final Thread thread;

        ConsentKeeper(TestPeer peer) {
            thread = Thread.ofVirtual().start(() -> {
                while (!closed) {
                    if (!paused) {
                        lastSentNanos = System.nanoTime();
                        try {
                            peer.check(true, 2000); // USE-CANDIDATE, as Chromium's checks to an ICE-lite peer
                            answered.incrementAndGet();
                        } catch (Exception e) {
                            if (closed) {
                                return;
                            }
                        }
                    }
                    try {
                        Thread.sleep(CHECK_INTERVAL_MS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            thread.interrupt();
            thread.join(5000);
        }
    }

    /** The room's microphone: an Opus-sized packet every 20 ms whose payload starts with a running counter. */
    private static final class AudioSender implements AutoCloseable {
        private final AtomicLong next = new AtomicLong();
        private volatile boolean closed;
        private final Thread thread;

        AudioSender(Participant from) {
            thread = Thread.ofVirtual().start(() -> {
                byte[] payload = new byte[60];
                while (!closed) {
                    long n = next.get();
                    ByteBuffer.wrap(payload).putLong(n);
                    try {
                        from.pub.sendRtp(BridgeCallTest.rtp(111, (int) (n & 0xFFFF), 960L * n, from.audioSsrc,
                                payload, false));
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        if (closed) {
                            return;
                        }
                    }
                    next.set(n + 1); // after the send: a packet numbered above a value read later left later
                }
            });
        }

        /** Counter of the next packet; every packet numbered above it is sent after this call. */
        long next() {
            return next.get();
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            thread.interrupt();
            thread.join(5000);
        }
    }
}
