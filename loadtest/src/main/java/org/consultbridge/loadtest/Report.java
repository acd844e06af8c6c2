package org.consultbridge.loadtest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/** The result of a run: {@code result.json} for machines, {@code report.html} (inline SVG, no CDN) for people. */
final class Report {

    private Report() {
    }

    record Run(String target, LoadOptions options, List<StepResult> steps) {
        /** The largest load at which every objective held, or 0. */
        int maxConsultations() {
            int max = 0;
            for (StepResult s : steps) {
                if (s.sloMet()) {
                    max = Math.max(max, s.consultations());
                }
            }
            return max;
        }
    }

    /** The machine's cores (/proc/stat), not this JVM's: pinned to the generator's core, the JVM sees only those. */
    static int machineCores() {
        try (var lines = Files.lines(Path.of("/proc/stat"))) {
            int n = (int) lines.filter(l -> l.length() > 3 && l.startsWith("cpu") && Character.isDigit(l.charAt(3)))
                    .count();
            return n > 0 ? n : Runtime.getRuntime().availableProcessors();
        } catch (IOException | RuntimeException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    static void write(Path dir, List<Run> runs) throws IOException {
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.put("generatedAt", Instant.now().toString());
        root.put("cores", machineCores());
        var arr = root.putArray("runs");
        for (Run r : runs) {
            ObjectNode n = arr.addObject();
            n.put("target", r.target());
            n.put("maxConsultationsMeetingSlo", r.maxConsultations());
            ObjectNode slo = n.putObject("slo");
            slo.put("maxLossPercent", r.options().maxLossPercent());
            slo.put("maxP99LatencyMs", r.options().maxP99Millis());
            slo.put("maxJoinMs", r.options().maxJoinMillis());
            ObjectNode load = n.putObject("load");
            load.put("participantsPerConsultation", r.options().participantsPerConsultation());
            ArrayNode layers = load.putArray("videoKbps");
            for (int k : r.options().videoKbps()) {
                layers.add(k);
            }
            load.put("impairedShare", r.options().impairedShare());
            load.put("impairment", r.options().impairment().toString());
            load.put("stepSeconds", r.options().stepDuration().toSeconds());
            ObjectNode cores = n.putObject("cores");
            cores.put("server", r.options().pinning().serverCpus() == null ? "unpinned"
                    : r.options().pinning().serverCpus());
            cores.put("generator", r.options().pinning().generatorCpus() == null ? "unpinned"
                    : r.options().pinning().generatorCpus());
            cores.put("generatorCapacityPercent", r.options().generatorCapacityPercent());
            n.put("noisyNeighbourPercent", r.options().noisyNeighbourPercent());
            n.put("alternatingWith", runs.size() > 1 ? String.join(",", runs.stream().map(Run::target)
                    .filter(t -> !t.equals(r.target())).toList()) : null);
            n.put("generatorSaturatedAtAnyStep", r.steps().stream().anyMatch(StepResult::generatorSaturated));
            n.set("steps", json.valueToTree(r.steps()));
        }
        Files.writeString(dir.resolve("result.json"), json.writeValueAsString(root));
        Files.writeString(dir.resolve("report.html"), html(runs));
        Files.writeString(dir.resolve("capacity.md"), capacityTable(runs));
    }

    /**
     * The README's capacity table: per target, the last step that met the objectives (or the first step, marked, when
     * none did), as Markdown.
     */
    static String capacityTable(List<Run> runs) {
        StringBuilder sb = new StringBuilder();
        sb.append("| server | consultations within the objectives | forwarded pkt/s | server CPU (% of its core) "
                + "| server CPU µs / forwarded packet | RSS MiB | p99 latency ms | loss % | join p99 ms "
                + "| video at top layer % | generator CPU (% of one core) | steal % server / generator cores "
                + "| others % server / generator cores |\n");
        sb.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for (Run r : runs) {
            StepResult at = null;
            for (StepResult s : r.steps()) {
                if (s.sloMet() && s.consultations() == r.maxConsultations()) {
                    at = s;
                }
            }
            String note = "";
            if (at == null && !r.steps().isEmpty()) {
                at = r.steps().get(0);
                note = " (none; first step: " + at.sloFailure() + ")";
            }
            if (at == null) {
                continue;
            }
            sb.append(String.format(Locale.ROOT, "| %s | %d%s | %.0f | %.0f | %.1f | %.0f | %.1f | %.3f | %d | %.0f "
                            + "| %.0f%s | %.0f / %.0f | %.0f / %.0f%s |%n",
                    serverName(r.target()), r.maxConsultations(), note, at.receivedPps(), at.serverCpuPercent(),
                    at.cpuMicrosPerPacket(), at.serverRssMb(), at.latencyP99Ms(), at.lossPercent(), at.joinP99Ms(),
                    at.topLayerPercent(), at.generatorCpuPercent(), at.generatorSaturated() ? " (saturated)" : "",
                    at.serverCoresStealPercent(), at.generatorCoresStealPercent(), at.serverCoresOthersPercent(),
                    at.generatorCoresOthersPercent(), at.machineBusy() ? " (busy machine)" : ""));
        }
        sb.append(noisyNeighbour(runs).isEmpty() ? "" : "\n" + noisyNeighbour(runs) + "\n");
        sb.append("\nEvery step").append(runs.size() > 1 ? ", in the order they ran (the targets took turns at each "
                + "level, only the one under test carrying load)" : "").append(":\n\n");
        sb.append("| server | consultations | try | forwarded pkt/s | server CPU % | server CPU µs / forwarded packet "
                + "| steal % server / generator cores | others % server / generator cores | idle other server CPU % "
                + "| noisy neighbour CPU % | p99 latency ms | loss % | objectives |\n");
        sb.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for (Ordered o : inOrder(runs)) {
            StepResult s = o.step();
            sb.append(String.format(Locale.ROOT, "| %s | %d | %s | %.0f | %.0f | %.1f | %.0f / %.0f | %.0f / %.0f "
                            + "| %s | %s | %.1f | %.3f | %s |%n",
                    serverName(o.target()), s.consultations(), s.repeat() ? "repeat" : "1st", s.receivedPps(),
                    s.serverCpuPercent(), s.cpuMicrosPerPacket(), s.serverCoresStealPercent(),
                    s.generatorCoresStealPercent(), s.serverCoresOthersPercent(), s.generatorCoresOthersPercent(),
                    orDash(s.otherServerCpuPercent(), "%.1f"), orDash(s.neighbourCpuPercent(), "%.0f"),
                    s.latencyP99Ms(), s.lossPercent(),
                    s.sloMet() ? "met" : "missed: " + s.sloFailure() + (o.repeated() ? " (repeated)" : "")));
        }
        return sb.toString();
    }

    private static String orDash(double d, String format) {
        return Double.isNaN(d) ? "-" : String.format(Locale.ROOT, format, d);
    }

    private static String serverName(String target) {
        return target.equals("janus") ? "Janus 1.1.2 VideoRoom" : "ConsultBridge";
    }

    /** The noisy neighbour's line for the reports, or "". */
    static String noisyNeighbour(List<Run> runs) {
        if (runs.isEmpty() || runs.get(0).options().noisyNeighbourPercent() == 0) {
            return "";
        }
        LoadOptions o = runs.get(0).options();
        return "Noisy neighbour: a process busy " + o.noisyNeighbourPercent() + " ms of every 100 ms ("
                + o.noisyNeighbourPercent() + " % of one core) on " + (o.pinning().serverCpus() == null
                ? "any core (the server is not pinned)" : "the server's core(s) " + o.pinning().serverCpus())
                + " during every step; its measured CPU is in each step's row, and it is part of \"others\" on the "
                + "server's cores.";
    }

    /**
     * A step of a target, and whether it missed and was measured again (the next step of that target is its
     * repeat).
     */
    record Ordered(String target, int run, int index, StepResult step, boolean repeated) {
    }

    /**
     * Every step of every run in the order they ran: by load level, the targets in their turn at each level, a repeat
     * after its first try (so also with one target: its own order).
     */
    static List<Ordered> inOrder(List<Run> runs) {
        List<Ordered> all = new java.util.ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            List<StepResult> steps = runs.get(i).steps();
            for (int j = 0; j < steps.size(); j++) {
                boolean repeated = !steps.get(j).sloMet() && j + 1 < steps.size() && steps.get(j + 1).repeat();
                all.add(new Ordered(runs.get(i).target(), i, j, steps.get(j), repeated));
            }
        }
        all.sort(java.util.Comparator.comparingInt((Ordered o) -> o.step().consultations())
                .thenComparingInt(Ordered::run).thenComparingInt(Ordered::index));
        return all;
    }

    private static String html(List<Run> runs) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ConsultBridge load test</title>")
                .append("<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:")
                .append("collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}.miss{color:#b00}")
                .append("svg{border:1px solid #ddd;margin:.5rem 1rem .5rem 0}</style></head><body>");
        sb.append("<h1>Load test</h1><p>").append(Instant.now()).append(", ")
                .append(machineCores()).append(" cores. ")
                .append(runs.isEmpty() ? "" : escape(runs.get(0).options().pinning().toString()))
                .append(". Server CPU is in percent of one core; the generator's CPU is in percent of one core too, "
                        + "a share of its cores above 85 % (marked) means the generator, not the server, was the limit. \"Others\" is "
                        + "what other processes took of the server's and the generator's cores, \"steal\" what the "
                        + "hypervisor gave to other guests while these cores wanted to run, both from /proc/stat; others "
                        + "include what the tool started on purpose (the idle other server of a comparison, a noisy "
                        + "neighbour: each measured in its own column). Above 20 % of a core besides those (marked) the "
                        + "machine was busy and the step does not show the server's capacity. \"µs / pkt\" is the server's CPU time in the window divided by the "
                        + "packets it forwarded to our receivers in the window.</p>");
        if (runs.size() > 1) {
            sb.append("<p>The targets took turns step by step (").append(escape(String.join(", then ",
                    runs.stream().map(Run::target).toList()))).append(" at each level), both servers up on the same "
                    + "cores, only the one under test carrying load; each step started its consultations afresh.</p>");
        }
        if (runs.stream().anyMatch(r -> r.steps().stream().anyMatch(StepResult::repeat))) {
            sb.append("<p>A missed step was measured once more before it counted: rows marked \"repeat\".</p>");
        }
        String noisy = noisyNeighbour(runs);
        if (!noisy.isEmpty()) {
            sb.append("<p><b>").append(escape(noisy)).append("</b></p>");
        }
        for (Run r : runs) {
            sb.append("<h2>").append(r.target()).append(": ").append(r.maxConsultations())
                    .append(" concurrent consultations within the objectives</h2>");
            sb.append(String.format(Locale.ROOT, "<p>Objectives: loss &lt; %.2f %%, p99 added latency &lt; %.0f ms, "
                            + "every join &lt; %d ms. %d participants per consultation, video %s kbit/s (simulcast layers), %.0f %% impaired (%s).</p>",
                    r.options().maxLossPercent(), r.options().maxP99Millis(), r.options().maxJoinMillis(),
                    r.options().participantsPerConsultation(), java.util.Arrays.toString(r.options().videoKbps()), r.options().impairedShare() * 100,
                    r.options().impairment()));
            String refusals = r.steps().stream().map(s -> StepResult.codes("refused", s.refused(), s.refusedCodes()))
                    .filter(x -> !x.isEmpty()).reduce((a, b) -> b).orElse("");
            if (!refusals.isEmpty()) {
                sb.append("<p class=\"miss\">The server turned participants away: ").append(escape(refusals))
                        .append("</p>");
            }
        }
        sb.append(chart("p99 added latency (ms)", runs, StepResult::latencyP99Ms));
        sb.append(chart("loss (%)", runs, StepResult::lossPercent));
        sb.append(chart("server CPU (% of one core)", runs, StepResult::serverCpuPercent));
        sb.append(chart("generator CPU (% of one core)", runs, StepResult::generatorCpuPercent));
        sb.append(chart("forwarded packets received (pkt/s)", runs, StepResult::receivedPps));
        sb.append(chart("server CPU per forwarded packet (µs)", runs, StepResult::cpuMicrosPerPacket));
        for (Run r : runs) {
            sb.append("<h3>").append(r.target()).append("</h3><table><tr><th>consultations</th><th>try</th><th>joined</th>")
                    .append("<th>sent pkt/s</th><th>received pkt/s</th><th>loss %</th><th>p50 ms</th><th>p99 ms</th>")
                    .append("<th>join p50 ms</th><th>join p99 ms</th><th>first frame p50 ms</th><th>top layer %</th>")
                    .append("<th>impaired loss %</th><th>NACK / PLI / TWCC sent</th><th>refused</th>")
                    .append("<th>server CPU %</th><th>server CPU µs / forwarded pkt</th><th>CPU % / consultation</th>")
                    .append("<th>RSS MiB</th><th>generator CPU %</th>")
                    .append("<th>steal on the cores % server / generator</th>")
                    .append("<th>others on the cores % server / generator</th><th>idle other server CPU %</th>")
                    .append("<th>noisy neighbour CPU %</th>")
                    .append("<th>objectives</th></tr>");
            for (int i = 0; i < r.steps().size(); i++) {
                StepResult s = r.steps().get(i);
                boolean repeated = !s.sloMet() && i + 1 < r.steps().size() && r.steps().get(i + 1).repeat();
                sb.append(String.format(Locale.ROOT, "<tr%s><td>%d</td><td>%s</td><td>%d/%d</td><td>%.0f</td><td>%.0f</td><td>%.3f</td>"
                                + "<td>%.1f</td><td>%.1f</td><td>%d</td><td>%d</td><td>%d</td><td>%.0f</td><td>%s</td>"
                                + "<td>%d / %d / %d</td><td>%d</td><td>%.0f</td><td>%.1f</td><td>%.2f</td><td>%.0f</td><td%s>%.0f</td>"
                                + "<td%s>%.0f / %.0f</td><td%s>%.0f / %.0f</td><td>%s</td><td>%s</td><td>%s</td></tr>",
                        s.sloMet() ? "" : " class=\"miss\"", s.consultations(), s.repeat() ? "repeat" : "1st",
                        s.joined(), s.participants(),
                        s.sentPps(), s.receivedPps(), s.lossPercent(), s.latencyP50Ms(), s.latencyP99Ms(), s.joinP50Ms(),
                        s.joinP99Ms(), s.firstFrameP50Ms(), s.topLayerPercent(),
                        s.impairedLossPercent() < 0 ? "" : String.format(Locale.ROOT, "%.2f", s.impairedLossPercent()),
                        s.nacksSent(), s.plisSent(), s.transportCcSent(), s.refused(), s.serverCpuPercent(),
                        s.cpuMicrosPerPacket(), s.cpuPercentPerConsultation(), s.serverRssMb(),
                        s.generatorSaturated() ? " class=\"miss\"" : "", s.generatorCpuPercent(),
                        s.machineBusy() ? " class=\"miss\"" : "", s.serverCoresStealPercent(),
                        s.generatorCoresStealPercent(), s.machineBusy() ? " class=\"miss\"" : "",
                        s.serverCoresOthersPercent(), s.generatorCoresOthersPercent(),
                        orDash(s.otherServerCpuPercent(), "%.1f"), orDash(s.neighbourCpuPercent(), "%.0f"),
                        s.sloMet() ? "met" : escape("missed: " + s.sloFailure()) + (repeated ? " (repeated)" : "")));
            }
            sb.append("</table>");
        }
        return sb.append("</body></html>").toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    /** A line chart of one figure against load, one line per target. */
    private static String chart(String title, List<Run> runs, ToDoubleFunction<StepResult> f) {
        int w = 420;
        int h = 240;
        int pad = 40;
        double maxX = 1;
        double maxY = 0;
        for (Run r : runs) {
            for (StepResult s : r.steps()) {
                maxX = Math.max(maxX, s.consultations());
                double y = f.applyAsDouble(s);
                if (Double.isFinite(y)) {
                    maxY = Math.max(maxY, y);
                }
            }
        }
        maxY = maxY <= 0 ? 1 : maxY * 1.1;
        String[] colors = {"#1f77b4", "#d62728", "#2ca02c"};
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg width=\"%d\" height=\"%d\" role=\"img\"><text x=\"%d\" y=\"16\">%s</text>",
                w, h, pad, escape(title)));
        sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>", pad, h - pad, w - 10, h - pad));
        sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>", pad, 24, pad, h - pad));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%.3g</text>", 2, 30, maxY));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\">%.0f consultations</text>",
                w - 120, h - pad + 28, maxX));
        for (int i = 0; i < runs.size(); i++) {
            StringBuilder pts = new StringBuilder();
            for (StepResult s : runs.get(i).steps()) {
                double y = f.applyAsDouble(s);
                if (!Double.isFinite(y)) {
                    continue;
                }
                double px = pad + (w - 10 - pad) * s.consultations() / maxX;
                double py = (h - pad) - (h - pad - 24) * y / maxY;
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
                sb.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", px, py,
                        colors[i % colors.length]));
            }
            sb.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" points=\"%s\"/>",
                    colors[i % colors.length], pts));
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"%s\">%s</text>",
                    w - 140, 40 + 14 * i, colors[i % colors.length], escape(runs.get(i).target())));
        }
        return sb.append("</svg>").toString();
    }
}
