package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report of an alternating run, from made-up steps: the new per-step figures and the repeat are shown. */
class ReportTest {

    private static StepResult step(int consultations, double pps, double cpuPercent, double micros, double steal,
                                   double others, double neighbour, boolean repeat, boolean met) {
        return new StepResult(consultations, 2 * consultations, 2 * consultations, 8, pps, pps, met ? 0 : 2, 1, 5, 9,
                100, 200, 300, 400, 0, 0, 0, Map.of(), 0, Map.of(), Map.of(), -1, -1, 90, 0, 0, 0, 0, 0, cpuPercent,
                120, cpuPercent / consultations, 30, false, others, 1, steal, 0.5, neighbour, 0.4, cpuPercent / 100 * 8,
                (long) (pps * 8), micros, false, repeat, met, met ? "" : "loss 2.000% > 0.500%");
    }

    @Test
    void alternatingStepsWithTheirCpuPerPacketStealAndRepeats(@TempDir Path dir) throws Exception {
        LoadOptions o = new LoadOptions(URI.create("http://127.0.0.1:1"), "s", 1, 10, 10, 20, Duration.ofSeconds(8),
                Duration.ofSeconds(5), 2, new int[] {150, 500, 1500}, 0, Impairment.NONE, 0.5, 30, 3000, dir,
                "127.0.0.1", 1, new CpuPinning("0", "1"), 20);
        Report.Run ours = new Report.Run("consultbridge", o, List.of(
                step(10, 4000, 20, 6.25, 0, 21, 20, false, true),
                step(20, 8000, 40, 6.5, 1, 22, 20, false, true)));
        Report.Run janus = new Report.Run("janus", o.withServer(2, "10.98.1.1"), List.of(
                step(10, 4000, 30, 9.4, 0, 23, 20, false, true),
                step(20, 8000, 60, 9.1, 2, 24, 20, false, false),
                step(20, 8000, 61, 9.2, 3, 25, 20, true, false)));
        Report.write(dir, List.of(ours, janus));

        String md = Files.readString(dir.resolve("capacity.md"));
        assertThat(md).contains("server CPU µs / forwarded packet").contains("| ConsultBridge | 20 |")
                .contains("| Janus 1.1.2 VideoRoom | 10 |").contains("Noisy neighbour: a process busy 20 ms of every "
                        + "100 ms (20 % of one core) on the server's core(s) 0");
        // every step, in the order they ran: both at 10, then both at 20, Janus's miss repeated
        List<String> rows = md.lines().filter(l -> l.matches("\\| (ConsultBridge|Janus 1.1.2 VideoRoom) \\| \\d+ \\| "
                + "(1st|repeat) .*")).toList();
        assertThat(rows).hasSize(5);
        assertThat(rows.get(0)).startsWith("| ConsultBridge | 10 | 1st | 4000 | 20 | 6.3 | 0 / 1 | 21 / 1 | 0.4 | 20 |");
        assertThat(rows.get(1)).startsWith("| Janus 1.1.2 VideoRoom | 10 | 1st |");
        assertThat(rows.get(2)).startsWith("| ConsultBridge | 20 | 1st |");
        assertThat(rows.get(3)).startsWith("| Janus 1.1.2 VideoRoom | 20 | 1st |").endsWith("(repeated) |");
        assertThat(rows.get(4)).startsWith("| Janus 1.1.2 VideoRoom | 20 | repeat | 8000 | 61 | 9.2 | 3 / 1 |");

        String html = Files.readString(dir.resolve("report.html"));
        assertThat(html).contains("server CPU µs / forwarded pkt").contains("steal on the cores")
                .contains("noisy neighbour CPU %").contains("idle other server CPU %").contains("took turns step by step")
                .contains("<td>repeat</td>")
                .contains("(repeated)");
        String json = Files.readString(dir.resolve("result.json"));
        assertThat(json).contains("\"cpuMicrosPerPacket\" : 6.25").contains("\"serverCoresStealPercent\"")
                .contains("\"repeat\" : true").contains("\"noisyNeighbourPercent\" : 20")
                .contains("\"alternatingWith\" : \"janus\"").contains("\"otherServerCpuPercent\" : 0.4");
    }
}
