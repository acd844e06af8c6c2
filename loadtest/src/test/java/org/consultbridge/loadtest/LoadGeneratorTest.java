package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.api.QualitySnapshot;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The load generator against the real server (in this JVM, on loopback): simulated participants join over the real
 * signalling, connect with real STUN, DTLS and SRTP, and measure what the bridge forwards. A short run, to prove the
 * tool measures; capacity figures come from running it as a command (README).
 */
class LoadGeneratorTest {

    static final String SECRET = "loadtest-secret-loadtest-secret-1234567";

    @Test
    void measuresLossLatencyAndJoinTimeOfRealCalls(@TempDir Path out) throws Exception {
        MediaBridge bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        try (SignalingServer server = SignalingServer.start(ServerConfig.load().withHttp("127.0.0.1", 0), tokens, bridge)) {
            LoadOptions o = new LoadOptions(URI.create("http://127.0.0.1:" + server.port()), SECRET,
                    ProcessHandle.current().pid(), 2, 1, 3, Duration.ofSeconds(4), Duration.ofSeconds(3), 2,
                    new int[] {100, 300, 600},
                    // p99 objective wide: a busy shared machine stalls a JVM for a second now and then; loss must be 0
                    0.0, Impairment.NONE, 0.5, 3000, 3000, out, "127.0.0.1", 2);
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            List<StepResult> steps;
            QualitySnapshot quality;
            try (LoadRunner runner = new LoadRunner(o, new PrintStream(log, true))) {
                steps = runner.run();
                quality = bridge.qualitySnapshot();
            }
            assertThat(steps).as(log.toString()).hasSize(2);
            for (StepResult s : steps) {
                assertThat(s.joined()).as(log.toString()).isEqualTo(s.participants());
                assertThat(s.failures()).isZero();
                // 50 audio + 30 video packets/s per receiver with the lowest layer, 90 with the top one (600 kbit/s);
                // which layer is the bridge's choice from each receiver's transport-cc estimate (a busy machine's
                // delays lower it), but the top layer must be forwarded when the estimate allows
                assertThat(s.receivedPps()).as(log.toString()).isGreaterThan(s.participants() * 80.0);
                assertThat(s.topLayerPercent()).as(log.toString()).isPositive();
                // on loopback nothing may be lost (a packet the kernel dropped would be recovered by NACK/RTX)
                assertThat(s.lossPercent()).as(log.toString()).isZero();
                assertThat(s.pairsWithoutMedia()).as("every participant received audio and video from every other")
                        .isZero();
                assertThat(s.latencyP50Ms()).isGreaterThan(0).isLessThan(100);
                assertThat(s.joinMaxMs()).isBetween(1L, 3000L);
                assertThat(s.firstFrameP50Ms()).isPositive();
                assertThat(s.serverCpuPercent()).isPositive();
                assertThat(s.generatorCpuPercent()).isPositive();
                assertThat(s.refused()).isZero();
                // receivers send transport-cc feedback like Chromium, every 50 ms
                assertThat(s.transportCcSent()).as("transport-cc feedback sent")
                        .isGreaterThan((long) (s.participants() * s.seconds() * 5));
            }
            // the bridge estimated each receiver's downlink from that feedback
            assertThat(quality.endpoints()).filteredOn(e -> !e.conferenceId().startsWith("lt-warmup")).hasSize(6)
                    .allSatisfy(e -> {
                        assertThat(e.estimatedDownlinkBps()).as(e.endpointId()).isPositive();
                        // receiver reports arrived, with LSR/DLSR: the bridge knows each receiver's round trip
                        assertThat(e.downlinkFractionLost()).as(e.endpointId()).isGreaterThanOrEqualTo(0);
                        assertThat(e.rttMillis()).as(e.endpointId()).isGreaterThanOrEqualTo(0);
                    });
            assertThat(steps.get(1).consultations()).isEqualTo(3);
            assertThat(bridge.stats().rtpPacketsForwarded()).isGreaterThan(1000);
            // three simulcast layers in, one forwarded per receiver: every layer's SSRC was learnt from its rid,
            // and the bridge forwarded fewer video packets than it received
            assertThat(bridge.stats().droppedByReason().get("unknown-ssrc")).isZero();
            assertThat(bridge.stats().rtpPacketsForwarded()).isLessThan(bridge.stats().rtpPacketsReceived());

            Report.write(out, List.of(new Report.Run("consultbridge", o, steps)));
            assertThat(Files.readString(out.resolve("result.json"))).contains("\"maxConsultationsMeetingSlo\" : 3");
            assertThat(Files.readString(out.resolve("report.html"))).contains("<svg").contains("consultbridge");
            assertThat(Files.readString(out.resolve("capacity.md"))).startsWith("| server |")
                    .contains("| ConsultBridge | 3 |");
        } finally {
            bridge.close();
        }
    }

    @Test
    void aRuralLinkIsSimulatedInTheGenerator() throws Exception {
        MediaBridge bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        try (SignalingServer server = SignalingServer.start(ServerConfig.load().withHttp("127.0.0.1", 0), tokens, bridge)) {
            // every room endpoint behind the project's link emulator, 5 % loss each way and 40 ms delay: its streams
            // must show it, measured apart; doctor and guest talk over clean loopback and must meet the objectives
            LoadOptions o = new LoadOptions(URI.create("http://127.0.0.1:" + server.port()), SECRET, 0, 2, 0, 2,
                    Duration.ofSeconds(5), Duration.ofSeconds(8), 3, new int[] {300}, 1.0,
                    Impairment.parse("loss=5,delay=40"), 0.5, 30, 3000, Path.of("target/impaired"), "127.0.0.1", 2);
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            List<StepResult> steps;
            try (LoadRunner runner = new LoadRunner(o, new PrintStream(log, true))) {
                steps = runner.run();
            }
            StepResult s = steps.get(0);
            String why = log.toString();
            assertThat(s.joined()).as(why).isEqualTo(s.participants());
            assertThat(s.pairsWithoutMedia()).as(why).isZero();
            assertThat(s.impairedLossPercent()).as(why).isBetween(0.5, 15.0);
            // the emulated 40 ms come on top of whatever the (shared, busy) machine adds to every stream
            assertThat(s.impairedLatencyP99Ms()).as(why).isGreaterThan(40);
            assertThat(s.latencyP50Ms()).as(why).isLessThan(s.impairedLatencyP99Ms());
            assertThat(s.lossPercent()).as("doctor and guest on clean links: " + why).isLessThan(0.5);
            // gaps were asked for again (NACK) and some came back as RTX from the bridge's cache
            assertThat(s.nacksSent()).as(why).isPositive();
            assertThat(s.recovered()).as(why).isPositive();
        } finally {
            bridge.close();
        }
    }
}
