package org.consultbridge.loadtest;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The load generator's command line. Either drive a running server ({@code --url} and its {@code --secret}), or let
 * the tool start the ConsultBridge jar itself on loopback ({@code --start-server}), so its CPU and memory are
 * measured too. Every run is bounded: it stops after the last step.
 */
public final class LoadTestMain {

    private LoadTestMain() {
    }

    static final String USAGE = """
            usage: consultbridge-loadtest [options]
              --target T                consultbridge (default), janus, or both: the same load against ConsultBridge,
                                        then against Janus 1.1's VideoRoom (apt-get install janus; root: it runs in
                                        a network namespace the tool creates), one report with both runs
              --start-server JAR        start this ConsultBridge jar on 127.0.0.1 (random secret and ports) and measure it
              --url URL                 or: a running server, e.g. http://127.0.0.1:8080 (needs --secret)
              --secret S                the server's consultbridge.tokens.secret
              --server-pid PID          measure CPU/RSS of this process (with --url)
              --consultations N         fixed load: N consultations for one step (default 10)
              --ramp START,STEP,MAX     ramp: add STEP consultations per step until an objective fails or MAX
              --step-seconds S          measurement window per step (default 20)
              --warmup-seconds S        settling time before each window (default 5)
              --participants N          per consultation, 2 or 3 (default 2)
              --simulcast K1,K2,K3      video as simulcast layers of these kbit/s, lowest first, as the web client
                                        sends it (default 150,500,1500); "off": one stream of --video-kbps
              --video-kbps K            video bitrate per sender without simulcast (default 1000)
              --impaired SHARE          share of room endpoints behind a simulated rural link (default 0)
              --impairment SPEC         that link, e.g. loss=2,delay=100,jitter=20,rate=384 (default)
              --slo-loss PCT            (default 0.5)   --slo-p99-ms MS (default 30)   --slo-join-ms MS (default 3000)
              --threads N               generator event loops (default: number of cores)
              --out DIR                 where result.json and report.html go (default loadtest-results)
            """;

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--help") || args[i].equals("-h")) {
                System.out.println(USAGE);
                return;
            }
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                System.err.println("bad argument: " + args[i] + "\n" + USAGE);
                System.exit(2);
            }
            a.put(args[i].substring(2), args[++i]);
        }
        String target = a.getOrDefault("target", "consultbridge");
        if (!List.of("consultbridge", "janus", "both").contains(target)) {
            System.err.println("bad --target: " + target + "\n" + USAGE);
            System.exit(2);
        }
        if (target.equals("janus")) {
            LoadOptions o = options(a, URI.create("http://unused"), null, 0);
            List<Report.Run> runs = new ArrayList<>();
            runs.add(JanusRun.run(o, System.out));
            Report.write(o.out(), runs);
            printCapacities(runs, o);
            System.exit(0);
        }
        Process server = null;
        String url = a.get("url");
        String secret = a.get("secret");
        long pid = Long.parseLong(a.getOrDefault("server-pid", "0"));
        if (a.containsKey("start-server")) {
            byte[] s = new byte[24];
            new SecureRandom().nextBytes(s);
            secret = HexFormat.of().formatHex(s);
            int http = freePort();
            int udp = freePort();
            ProcessBuilder pb = new ProcessBuilder(List.of(ProcessHandle.current().info().command().orElse("java"),
                    "--enable-native-access=ALL-UNNAMED", "-jar", a.get("start-server")));
            pb.environment().putAll(Map.of("CB_TOKEN_SECRET", secret, "CB_HTTP_HOST", "127.0.0.1",
                    "CB_HTTP_PORT", String.valueOf(http), "CB_BRIDGE_BIND_ADDRESS", "127.0.0.1",
                    "CB_BRIDGE_UDP_PORT", String.valueOf(udp), "CB_ADMIN_PORT", "0"));
            pb.redirectErrorStream(true).redirectOutput(Path.of(a.getOrDefault("out", "loadtest-results"))
                    .toAbsolutePath().getParent().resolve("loadtest-server.log").toFile());
            server = pb.start();
            pid = server.pid();
            url = "http://127.0.0.1:" + http;
            awaitHealthy(url);
        }
        if (url == null || secret == null) {
            System.err.println("need --start-server JAR, or --url and --secret\n" + USAGE);
            System.exit(2);
        }
        LoadOptions o = options(a, URI.create(url), secret, pid);
        Process started = server;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (started != null) {
                started.destroy();
            }
        }));
        try (LoadRunner runner = new LoadRunner(o, System.out)) {
            List<StepResult> steps = runner.run();
            List<Report.Run> runs = new ArrayList<>();
            runs.add(new Report.Run("consultbridge", o, steps));
            if (server != null) {
                server.destroy(); // the Janus run must not share the cores with an idle ConsultBridge
                server.waitFor();
                server = null;
            }
            if (target.equals("both")) {
                runs.add(JanusRun.run(o, System.out));
            }
            Report.write(o.out(), runs);
            printCapacities(runs, o);
        } finally {
            if (server != null) {
                server.destroy();
            }
        }
        System.exit(0);
    }

    private static void printCapacities(List<Report.Run> runs, LoadOptions o) {
        System.out.println();
        for (Report.Run r : runs) {
            System.out.printf("%s: %d concurrent consultations within the objectives.%n", r.target(),
                    r.maxConsultations());
        }
        System.out.println("Report: " + o.out().resolve("report.html").toAbsolutePath());
    }

    static LoadOptions options(Map<String, String> a, URI url, String secret, long pid) {
        int start;
        int step = 0;
        int max;
        if (a.containsKey("ramp")) {
            String[] r = a.get("ramp").split(",");
            start = Integer.parseInt(r[0]);
            step = Integer.parseInt(r[1]);
            max = Integer.parseInt(r[2]);
        } else {
            start = Integer.parseInt(a.getOrDefault("consultations", "10"));
            max = start;
        }
        return new LoadOptions(url, secret, pid, start, step, max,
                Duration.ofSeconds(Long.parseLong(a.getOrDefault("step-seconds", "20"))),
                Duration.ofSeconds(Long.parseLong(a.getOrDefault("warmup-seconds", "5"))),
                Integer.parseInt(a.getOrDefault("participants", "2")),
                videoLayers(a.getOrDefault("simulcast", "150,500,1500"), a.getOrDefault("video-kbps", "1000")),
                Double.parseDouble(a.getOrDefault("impaired", "0")),
                Impairment.parse(a.getOrDefault("impairment", "loss=2,delay=100,jitter=20,rate=384")),
                Double.parseDouble(a.getOrDefault("slo-loss", "0.5")),
                Double.parseDouble(a.getOrDefault("slo-p99-ms", "30")),
                Long.parseLong(a.getOrDefault("slo-join-ms", "3000")),
                Path.of(a.getOrDefault("out", "loadtest-results")), "127.0.0.1",
                Integer.parseInt(a.getOrDefault("threads", String.valueOf(Runtime.getRuntime().availableProcessors()))));
    }

    static int[] videoLayers(String simulcast, String singleKbps) {
        if (simulcast.equalsIgnoreCase("off")) {
            return new int[] {Integer.parseInt(singleKbps)};
        }
        int[] layers = java.util.Arrays.stream(simulcast.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
        if (layers.length < 1 || layers.length > 3) {
            throw new IllegalArgumentException("--simulcast takes one to three bit rates");
        }
        return layers;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void awaitHealthy(String url) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/healthz")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not up yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("server did not become healthy at " + url);
    }
}
