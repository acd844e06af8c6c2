package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.sdp.SessionDescription;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Several workers over real UDP and TCP sockets, DTLS and SRTP: each conference lives on one worker (its event
 * loop, its ports), calls on different workers work side by side, a UDP and an ICE-TCP participant share a
 * conference on a worker other than the first, and a worker whose loop is stuck does not stop the others.
 */
class WorkerPoolTest {

    private WorkerPool pool;

    @BeforeEach
    void start() {
        pool = WorkerPool.start(new BridgeConfig("127.0.0.1", 0, List.of(), BridgeConfig.TCP_ANY_PORT, 2));
    }

    @AfterEach
    void stop() {
        pool.close();
    }

    private static long ssrcOfKind(String offer, String kind) throws Exception {
        return SessionDescription.parse(offer).media().stream().filter(m -> m.kind().equals(kind) && m.port() != 0)
                .findFirst().orElseThrow().ssrcs().get(0).ssrc();
    }

    /** The port in the first candidate of {@code transport} ("udp" or "tcp") in an SDP from the bridge. */
    private static int candidatePort(String sdp, String transport) {
        String line = sdp.lines().filter(l -> l.startsWith("a=candidate:") && l.contains(" " + transport + " "))
                .findFirst().orElseThrow();
        return Integer.parseInt(line.split(" ")[5]);
    }

    @Test
    void conferencesArePlacedOnDifferentWorkersEachWithItsOwnPortsAndBothCallsWork() throws Exception {
        assertThat(pool.workerCount()).isEqualTo(2);
        assertThat(pool.udpPorts()).hasSize(2).doesNotHaveDuplicates();
        assertThat(pool.tcpPorts()).hasSize(2).doesNotHaveDuplicates();
        try (BridgeParticipant a1 = new BridgeParticipant(pool, "a", "a-room", 1, 2, false);
             BridgeParticipant a2 = new BridgeParticipant(pool, "a", "a-doctor", 3, 4, false);
             BridgeParticipant b1 = new BridgeParticipant(pool, "b", "b-room", 5, 6, false);
             BridgeParticipant b2 = new BridgeParticipant(pool, "b", "b-doctor", 7, 8, true)) {
            int workerA = pool.workerOf("a");
            int workerB = pool.workerOf("b");
            assertThat(workerA).as("the first conference goes to the least-loaded worker").isZero();
            assertThat(workerB).as("the second to the other one").isEqualTo(1);

            String answerA = a1.publish();
            a2.publish();
            String answerB = b1.publish();
            String answerB2 = b2.publish();
            // each endpoint's candidates name its own worker's ports, so its datagrams reach that worker's loop
            assertThat(candidatePort(answerA, "udp")).isEqualTo(pool.udpPorts().get(workerA));
            assertThat(candidatePort(answerB, "udp")).isEqualTo(pool.udpPorts().get(workerB));
            assertThat(candidatePort(answerB2, "tcp")).isEqualTo(pool.tcpPorts().get(workerB));

            String toA2 = a2.subscribe();
            a1.subscribe();
            String toB2 = b2.subscribe(); // the ICE-TCP doctor
            String toB1 = b1.subscribe();

            assertThat(BridgeParticipant.audioArrives(a1, a2, ssrcOfKind(toA2, "audio"), 10)).isTrue();
            assertThat(BridgeParticipant.audioArrives(b1, b2, ssrcOfKind(toB2, "audio"), 10))
                    .as("UDP room -> ICE-TCP doctor on worker 1").isTrue();
            assertThat(BridgeParticipant.audioArrives(b2, b1, ssrcOfKind(toB1, "audio"), 500))
                    .as("ICE-TCP doctor -> UDP room on worker 1").isTrue();

            assertThat(pool.stats().conferences()).isEqualTo(2);
            assertThat(pool.stats().endpoints()).isEqualTo(4);
            assertThat(pool.workers().get(0).stats().conferences()).isEqualTo(1);
            assertThat(pool.workers().get(1).stats().conferences()).isEqualTo(1);
            assertThat(pool.qualitySnapshot().endpoints()).hasSize(4);
        }
        // every endpoint closed: the placements go, so a later consultation with the same id is placed afresh
        await().atMost(Duration.ofSeconds(2)).until(() -> pool.workerOf("a") == -1 && pool.workerOf("b") == -1);
    }

    @Test
    void aStuckWorkerDoesNotStopTheCallsOnTheOtherOne() throws Exception {
        try (BridgeParticipant a1 = new BridgeParticipant(pool, "a", "a-room", 1, 2, false);
             BridgeParticipant a2 = new BridgeParticipant(pool, "a", "a-doctor", 3, 4, false);
             BridgeParticipant b1 = new BridgeParticipant(pool, "b", "b-room", 5, 6, false);
             BridgeParticipant b2 = new BridgeParticipant(pool, "b", "b-doctor", 7, 8, false)) {
            for (BridgeParticipant p : List.of(a1, a2, b1, b2)) {
                p.publish();
            }
            a2.subscribe();
            String toB2 = b2.subscribe();
            SfuBridge stuck = pool.workers().get(pool.workerOf("a"));
            SfuBridge other = pool.workers().get(pool.workerOf("b"));
            assertThat(stuck).isNotSameAs(other);
            other.takeMaxLagNanos();

            // a bug on worker A's loop: a task that throws, then one that blocks it for 3 s
            stuck.loop().execute(() -> {
                throw new IllegalStateException("a bug in a task");
            });
            CountDownLatch blocked = new CountDownLatch(1);
            stuck.loop().execute(() -> {
                blocked.countDown();
                try {
                    Thread.sleep(3000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertThat(blocked.await(2, TimeUnit.SECONDS)).isTrue();
            long t0 = System.nanoTime();
            assertThat(BridgeParticipant.audioArrives(b1, b2, ssrcOfKind(toB2, "audio"), 10))
                    .as("worker B forwards while worker A is stuck").isTrue();
            assertThat(System.nanoTime() - t0).as("within the stuck period").isLessThan(2_500_000_000L);
            assertThat(other.takeMaxLagNanos()).as("worker B's own loop lag").isLessThan(1_000_000_000L);

            // worker A comes back (and its lag probe saw the stall)
            await().atMost(Duration.ofSeconds(5)).until(() -> stuck.takeMaxLagNanos() >= 2_000_000_000L);
            assertThat(a2.endpoint.stats().publishState()).isNotNull();
        }
    }
}
