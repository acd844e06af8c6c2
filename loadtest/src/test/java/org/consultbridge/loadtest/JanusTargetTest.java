package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same load against Janus's VideoRoom: Janus (Debian's package) started by our code in a network namespace of
 * its own, two consultations through it, and media must flow both ways with the measurements a ConsultBridge run
 * gives. Needs root (the namespace) and {@code apt-get install -y janus}, as CI has.
 */
class JanusTargetTest {

    @Test
    void twoConsultationsThroughJanusVideoRoom(@TempDir Path dir) throws Exception {
        assertThat(JanusServer.installed()).as("Janus is installed (apt-get install -y janus)").isTrue();
        try (NetNs ns = NetNs.create(); JanusServer janus = JanusServer.start(ns, dir.resolve("janus"))) {
            LoadOptions o = new LoadOptions(URI.create("http://unused"), null, janus.pid(), 2, 0, 2,
                    Duration.ofSeconds(4), Duration.ofSeconds(3), 2, new int[] {100, 300, 600}, 0.0, Impairment.NONE, 0.5, 200, 5000,
                    dir.resolve("out"), ns.hostAddress().getHostAddress(), 2);
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            List<StepResult> steps;
            try (LoadRunner runner = new LoadRunner(o, new PrintStream(log, true),
                    JanusParticipant.factory(janus.wsUri()))) {
                steps = runner.run();
            }
            String why = log + "\n--- janus log ---\n" + janus.logTail();
            System.out.println(log);
            assertThat(steps).as(why).hasSize(1);
            StepResult s = steps.get(0);
            assertThat(s.participants()).isEqualTo(4);
            assertThat(s.joined()).as(why).isEqualTo(4);
            assertThat(s.failures()).as(why).isZero();
            // 50 audio + 90 video packets/s per receiver with the top layer (600 kbit/s), 30 with the lowest
            assertThat(s.receivedPps()).as("each receiver gets the top simulcast layer")
                    .isGreaterThan(s.participants() * 120.0);
            assertThat(s.receivedPps()).as(why).isGreaterThan(100);
            assertThat(s.lossPercent()).as(why).isLessThan(5.0);
            assertThat(s.latencyP50Ms()).as(why).isGreaterThan(0).isLessThan(100);
            assertThat(s.joinMaxMs()).as(why).isBetween(1L, 5000L);
            assertThat(s.pairsWithoutMedia()).as(why).isZero();
            // Janus negotiates transport-cc with subscribers: our receivers give it the feedback Chromium would
            assertThat(s.transportCcSent()).as(why).isGreaterThan((long) (s.participants() * s.seconds() * 5));
            assertThat(s.serverCpuPercent()).as("Janus's CPU, sampled by its pid").isPositive();
            assertThat(s.serverRssMb()).isPositive();
        }
    }
}
