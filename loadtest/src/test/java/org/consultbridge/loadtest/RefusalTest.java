package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
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
 * A server that turns participants away is reported as such, with the server's codes, not as a crash of the
 * generator: a consultation that is full, a server that drains.
 */
class RefusalTest {

    private static final String SECRET = LoadGeneratorTest.SECRET;

    private static LoadOptions options(SignalingServer server, int participants, Path out) {
        return new LoadOptions(URI.create("http://127.0.0.1:" + server.port()), SECRET, 0, 2, 0, 2,
                Duration.ofSeconds(3), Duration.ZERO, participants, new int[] {100}, 0.0, Impairment.NONE, 0.5, 200,
                3000, out, "127.0.0.1", 1);
    }

    @Test
    void aFullConsultationRefusesTheThirdParticipant(@TempDir Path out) throws Exception {
        MediaBridge bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        ServerConfig c = ServerConfig.load().withHttp("127.0.0.1", 0);
        ServerConfig twoAtMost = new ServerConfig(c.httpHost(), c.httpPort(), c.publicUrl(), c.bridge(), c.tokenSecret(),
                c.tokenIssuer(), c.tokenMaxLifetime(), c.clockSkew(), c.maxMessageBytes(), 2, c.turn(), c.ops(),
                c.admission(), c.hostile(), c.clinical());
        try (SignalingServer server = SignalingServer.start(twoAtMost, tokens, bridge)) {
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            List<StepResult> steps;
            try (LoadRunner runner = new LoadRunner(options(server, 3, out), new PrintStream(log, true))) {
                steps = runner.run();
            }
            // a refusal misses the objectives, so the step is repeated once (afresh) and the repeat is what counts
            String why = log.toString();
            assertThat(steps).as(why).allSatisfy(t -> assertThat(t.refused()).isEqualTo(2));
            StepResult s = steps.get(steps.size() - 1);
            assertThat(s.refused()).as(why).isEqualTo(2);
            assertThat(s.refusedCodes()).as(why).containsEntry("consultation-full", 2L);
            assertThat(s.failures()).as("a refusal is not a generator failure").isZero();
            assertThat(s.sloMet()).isFalse();
            assertThat(s.sloFailure()).isEqualTo("refused: 2 (consultation-full x2)");
            assertThat(why).contains("MISSED: refused: 2 (consultation-full x2)");
            // the two admitted participants of each consultation still had their call
            assertThat(s.joined()).as(why).isEqualTo(4);
            assertThat(s.pairsWithoutMedia()).as(why).isZero();
        } finally {
            bridge.close();
        }
    }

    @Test
    void aDrainingServerRefusesNewConsultations(@TempDir Path out) throws Exception {
        MediaBridge bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        try (SignalingServer server = SignalingServer.start(ServerConfig.load().withHttp("127.0.0.1", 0), tokens,
                bridge)) {
            server.registry().setDraining(true);
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            List<StepResult> steps;
            try (LoadRunner runner = new LoadRunner(options(server, 2, out), new PrintStream(log, true))) {
                steps = runner.run();
            }
            StepResult s = steps.get(0);
            String why = log.toString();
            assertThat(s.refused()).as(why).isEqualTo(4);
            assertThat(s.refusedCodes()).as(why).containsOnlyKeys("draining").containsEntry("draining", 4L);
            assertThat(s.joined()).isZero();
            assertThat(s.failures()).isZero();
            assertThat(s.sloFailure()).isEqualTo("refused: 4 (draining x4)");
            Report.write(out, List.of(new Report.Run("consultbridge", options(server, 2, out), steps)));
            assertThat(java.nio.file.Files.readString(out.resolve("report.html"))).contains("draining x4");
        } finally {
            bridge.close();
        }
    }
}
