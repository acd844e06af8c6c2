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
                    0.0, Impairment.NONE, 0.5, 200, 3000, out, "127.0.0.1", 2);
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            List<StepResult> steps;
            try (LoadRunner runner = new LoadRunner(o, new PrintStream(log, true))) {
                steps = runner.run();
            }
            assertThat(steps).as(log.toString()).hasSize(2);
            for (StepResult s : steps) {
                assertThat(s.joined()).as(log.toString()).isEqualTo(s.participants());
                assertThat(s.failures()).isZero();
                assertThat(s.receivedPps()).isGreaterThan(100);
                // 50 audio + 90 video packets/s per receiver with the top layer (600 kbit/s), 30 with the lowest
                assertThat(s.receivedPps()).as("each receiver gets the top simulcast layer")
                        .isGreaterThan(s.participants() * 120.0);
                assertThat(s.lossPercent()).isLessThan(1.0);
                assertThat(s.latencyP50Ms()).isGreaterThan(0).isLessThan(100);
                assertThat(s.joinMaxMs()).isBetween(1L, 3000L);
                assertThat(s.firstFrameP50Ms()).isPositive();
                assertThat(s.serverCpuPercent()).isPositive();
            }
            assertThat(steps.get(1).consultations()).isEqualTo(3);
            assertThat(bridge.stats().rtpPacketsForwarded()).isGreaterThan(1000);
            // three simulcast layers in, one forwarded per receiver: every layer's SSRC was learnt from its rid,
            // and the bridge forwarded fewer video packets than it received
            assertThat(bridge.stats().droppedByReason().get("unknown-ssrc")).isZero();
            assertThat(bridge.stats().rtpPacketsForwarded()).isLessThan(bridge.stats().rtpPacketsReceived());

            Report.write(out, List.of(new Report.Run("consultbridge", o, steps)));
            assertThat(Files.readString(out.resolve("result.json"))).contains("\"maxConsultationsMeetingSlo\" : 3");
            assertThat(Files.readString(out.resolve("report.html"))).contains("<svg").contains("consultbridge");
        } finally {
            bridge.close();
        }
    }

    @Test
    void aRuralLinkIsSimulatedInTheGenerator() throws Exception {
        MediaBridge bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        try (SignalingServer server = SignalingServer.start(ServerConfig.load().withHttp("127.0.0.1", 0), tokens, bridge)) {
            // every room endpoint behind 5 % loss each way and 40 ms delay: loss and latency must show it
            LoadOptions o = new LoadOptions(URI.create("http://127.0.0.1:" + server.port()), SECRET, 0, 2, 0, 2,
                    Duration.ofSeconds(4), Duration.ofSeconds(6), 2, new int[] {300}, 1.0, new Impairment(5, 40, 0, 0),
                    0.5, 30, 3000, Path.of("target/impaired"), "127.0.0.1", 2);
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            List<StepResult> steps;
            try (LoadRunner runner = new LoadRunner(o, new PrintStream(log, true))) {
                steps = runner.run();
            }
            StepResult s = steps.get(0);
            assertThat(s.joined()).as(log.toString()).isEqualTo(s.participants());
            assertThat(s.lossPercent()).isBetween(2.0, 15.0);
            assertThat(s.latencyP99Ms()).isGreaterThan(40);
            assertThat(s.sloMet()).isFalse();
        } finally {
            bridge.close();
        }
    }
}
