package org.consultbridge.loadtest;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
            usage: ./consultbridge loadtest [options]      (or: java -jar consultbridge-loadtest.jar [options])
              --target T                consultbridge (default), janus, or both: the same load against ConsultBridge
                                        and Janus 1.1's VideoRoom (apt-get install janus; root: it runs in a network
                                        namespace the tool creates), one report with both runs. With both, the
                                        targets take turns step by step (ConsultBridge at N, Janus at N, then both
                                        at N+STEP, ...) on the same cores, only the one under test carrying load
                                        (each step starts its consultations afresh); a target is done when it misses
                                        or reaches MAX, the other goes on
              --start-server JAR        start this ConsultBridge jar on 127.0.0.1 (random secret and ports) and measure it
              --url URL                 or: a running server, e.g. http://127.0.0.1:8080 (needs --secret)
              --secret S                the server's consultbridge.tokens.secret
              --server-pid PID          measure CPU/RSS of this process (with --url)
              --consultations N         fixed load: N consultations for one step (default 10)
              --ramp START,STEP,MAX     ramp: add STEP consultations per step until an objective fails or MAX;
                                        a missed step is measured once more before it counts (marked "repeat")
              --step-seconds S          measurement window per step (default 20)
              --warmup-seconds S        settling time before each window (default 5)
              --participants N          per consultation, 2 or 3 (default 2)
              --simulcast K1,K2,K3      video as simulcast layers of these kbit/s, lowest first, as the web client
                                        sends it (default 150,500,1500); "off": one stream of --video-kbps
              --video-kbps K            video bitrate per sender with --simulcast off (default 1000)
              --impaired SHARE          share of room endpoints behind an emulated link, 0 to 1 (default 0)
              --impairment LINK         that link: a profile of the project's link emulator (rural-weak, edge, good;
                                        default rural-weak), a spec like loss=2,delay=100,jitter=20,rate=384
                                        (%, ms one way, ms, kbit/s each way; also burst=PACKETS, queue=MS), or a
                                        profile with overrides (rural-weak,loss=5)
              --slo-loss PCT            (default 0.5)   --slo-p99-ms MS (default 30)   --slo-join-ms MS (default 3000)
              --server-cpus LIST        cores for the server under test, a taskset list (0, 0-1, 0,2) or none
                                        (default on 2+ cores: 0; with --url only if given, and needs --server-pid)
              --generator-cpus LIST     cores for this generator (default on 2+ cores: 1), or none
              --threads N               generator event loops (default: its number of cores)
              --noisy-neighbour PCT     during every step a process pinned to the server's cores is busy PCT ms of
                                        every 100 ms (PCT % of one core, 1 to 100): how each server copes with a
                                        co-tenant; its CPU is reported per step (default: none)
              --out DIR                 where result.json and report.html go (default loadtest-results)
              --help                    this text
            """;

    /** A mistake in the command line: printed with the usage, exit status 2. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    /** Options that take a value, and their defaults (null: none). */
    private static final Map<String, String> OPTIONS = new LinkedHashMap<>();

    static {
        for (String o : List.of("target=consultbridge", "start-server", "url", "secret", "server-pid",
                "consultations", "ramp", "step-seconds=20", "warmup-seconds=5", "participants=2",
                "simulcast=150,500,1500", "video-kbps", "impaired=0", "impairment=" + Impairment.DEFAULT,
                "slo-loss=0.5", "slo-p99-ms=30", "slo-join-ms=3000", "server-cpus", "generator-cpus", "threads",
                "noisy-neighbour", "out=loadtest-results")) {
            String[] kv = o.split("=", 2);
            OPTIONS.put(kv[0], kv.length == 2 ? kv[1] : null);
        }
    }

    /**
     * A validated command line. {@link #options} completes it with the server once it is known (started, or given).
     */
    record Cli(String target, String startServer, String url, String secret, long serverPid, int rampStart,
               int rampStep, int rampMax, Duration step, Duration warmup, int participants, int[] videoKbps,
               double impairedShare, Impairment impairment, double sloLoss, double sloP99Ms, long sloJoinMs,
               CpuPinning pinning, int threads, int noisyNeighbour, Path out) {

        LoadOptions options(URI server, String serverSecret, long pid, String bind) {
            return new LoadOptions(server, serverSecret, pid, rampStart, rampStep, rampMax, step, warmup, participants,
                    videoKbps, impairedShare, impairment, sloLoss, sloP99Ms, sloJoinMs, out, bind, threads, pinning,
                    noisyNeighbour);
        }

        boolean runsConsultBridge() {
            return !target.equals("janus");
        }
    }

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
            System.out.println(USAGE);
            return;
        }
        Cli cli;
        try {
            cli = parse(args, Runtime.getRuntime().availableProcessors());
        } catch (UsageException e) {
            System.err.println("error: " + e.getMessage() + "\n\n" + USAGE);
            System.exit(2);
            return;
        }
        try {
            System.exit(run(cli));
        } catch (IOException e) {
            // an environment problem (taskset, Janus, the server did not start): said plainly, not as a stack trace
            System.err.println("error: " + e.getMessage());
            System.exit(1);
        }
    }

    /**
     * Checks every option: unknown or repeated ones, values that are not numbers or out of range, options that
     * contradict each other.
     */
    static Cli parse(String[] args, int machineCores) throws UsageException {
        Map<String, String> given = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new UsageException("unexpected argument \"" + arg + "\" (options start with --)");
            }
            String name = arg.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (!OPTIONS.containsKey(name)) {
                throw new UsageException("unknown option --" + name);
            }
            if (value == null) {
                if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
                    throw new UsageException("--" + name + " needs a value");
                }
                value = args[++i];
            }
            if (given.put(name, value) != null) {
                throw new UsageException("--" + name + " given twice");
            }
        }
        Map<String, String> a = new HashMap<>();
        OPTIONS.forEach((k, v) -> {
            if (v != null) {
                a.put(k, v);
            }
        });
        a.putAll(given);

        String target = a.get("target");
        if (!List.of("consultbridge", "janus", "both").contains(target)) {
            throw new UsageException("--target must be consultbridge, janus or both, got \"" + target + "\"");
        }
        String url = a.get("url");
        String jar = a.get("start-server");
        if (url != null && jar != null) {
            throw new UsageException("--url and --start-server contradict each other: drive a running server or start one");
        }
        if (!target.equals("janus") && url == null && jar == null) {
            throw new UsageException("need --start-server JAR, or --url and --secret");
        }
        if (url != null) {
            try {
                URI u = new URI(url);
                if (!List.of("http", "https").contains(String.valueOf(u.getScheme())) || u.getHost() == null) {
                    throw new UsageException("--url must be an http(s) URL like http://127.0.0.1:8080, got " + url);
                }
            } catch (java.net.URISyntaxException e) {
                throw new UsageException("--url is not a URL: " + url);
            }
            if (!given.containsKey("secret")) {
                throw new UsageException("--url needs --secret (the server's consultbridge.tokens.secret)");
            }
        } else {
            if (given.containsKey("secret")) {
                throw new UsageException("--secret goes with --url (a started server gets a random secret)");
            }
            if (given.containsKey("server-pid")) {
                throw new UsageException("--server-pid goes with --url (a started server is measured anyway)");
            }
        }
        if (jar != null && !Files.isRegularFile(Path.of(jar))) {
            throw new UsageException("--start-server: no such file: " + jar + " (build it: ./mvnw -DskipTests package)");
        }
        if (a.get("secret") != null && a.get("secret").getBytes(java.nio.charset.StandardCharsets.UTF_8).length < 32) {
            throw new UsageException("--secret is shorter than 32 bytes: the server would not accept it either");
        }
        long pid = given.containsKey("server-pid") ? whole(a, "server-pid", 1, Long.MAX_VALUE) : 0;
        if (pid > 0 && ProcessHandle.of(pid).isEmpty()) {
            throw new UsageException("--server-pid " + pid + ": no such process");
        }

        int start;
        int step = 0;
        int max;
        if (given.containsKey("ramp")) {
            if (given.containsKey("consultations")) {
                throw new UsageException("--ramp and --consultations contradict each other: a ramp or a fixed load");
            }
            String[] r = a.get("ramp").split(",", -1);
            if (r.length != 3) {
                throw new UsageException("--ramp takes START,STEP,MAX, e.g. 10,10,100; got \"" + a.get("ramp") + "\"");
            }
            start = (int) whole("--ramp START", r[0], 1, 10_000);
            step = (int) whole("--ramp STEP", r[1], 1, 10_000);
            max = (int) whole("--ramp MAX", r[2], 1, 10_000);
            if (max < start) {
                throw new UsageException("--ramp MAX (" + max + ") is below START (" + start + ")");
            }
        } else {
            start = (int) whole("--consultations", a.getOrDefault("consultations", "10"), 1, 10_000);
            max = start;
        }
        long stepSeconds = whole(a, "step-seconds", 1, 3600);
        long warmupSeconds = whole(a, "warmup-seconds", 0, 600);
        int participants = (int) whole(a, "participants", 2, 3);
        int[] video;
        String simulcast = a.get("simulcast");
        if (simulcast.equalsIgnoreCase("off")) {
            video = new int[] {(int) whole("--video-kbps", a.getOrDefault("video-kbps", "1000"), 10, 20_000)};
        } else {
            if (given.containsKey("video-kbps")) {
                throw new UsageException("--video-kbps goes with --simulcast off (with simulcast, --simulcast gives "
                        + "each layer's rate)");
            }
            String[] layers = simulcast.split(",", -1);
            if (layers.length > 3) {
                throw new UsageException("--simulcast takes one to three bit rates, lowest first; got " + layers.length);
            }
            video = new int[layers.length];
            for (int i = 0; i < layers.length; i++) {
                video[i] = (int) whole("--simulcast", layers[i], 10, 20_000);
                if (i > 0 && video[i] <= video[i - 1]) {
                    throw new UsageException("--simulcast layers go lowest first, each above the one before: " + simulcast);
                }
            }
        }
        double impaired = decimal(a, "impaired", 0, 1);
        Impairment impairment;
        try {
            impairment = Impairment.parse(a.get("impairment"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (given.containsKey("impairment") && impaired == 0) {
            throw new UsageException("--impairment without --impaired SHARE impairs nobody (e.g. --impaired 0.2)");
        }
        double sloLoss = decimal(a, "slo-loss", 0, 100);
        double sloP99 = decimal(a, "slo-p99-ms", 0.1, 60_000);
        long sloJoin = whole(a, "slo-join-ms", 1, 600_000);

        CpuPinning pinning = pinning(given, machineCores, url != null, pid);
        int generatorCores = CpuPinning.count(pinning.generatorCpus());
        int threads = given.containsKey("threads") ? (int) whole(a, "threads", 1, 256)
                : Math.max(1, generatorCores > 0 ? generatorCores : machineCores);
        int noisy = given.containsKey("noisy-neighbour") ? (int) whole(a, "noisy-neighbour", 1, 100) : 0;
        if (noisy > 0 && pinning.serverCpus() == null && machineCores > 1) {
            throw new UsageException("--noisy-neighbour needs the server's cores to sit on (--server-cpus; with --url "
                    + "also --server-pid)");
        }
        return new Cli(target, jar, url, a.get("secret"), pid, start, step, max, Duration.ofSeconds(stepSeconds),
                Duration.ofSeconds(warmupSeconds), participants, video, impaired, impairment, sloLoss, sloP99, sloJoin,
                pinning, threads, noisy, Path.of(a.get("out")));
    }

    private static CpuPinning pinning(Map<String, String> given, int cores, boolean external, long pid)
            throws UsageException {
        CpuPinning d = CpuPinning.defaults(cores);
        String server = given.containsKey("server-cpus") ? given.get("server-cpus")
                : external ? null : d.serverCpus();
        String generator = given.containsKey("generator-cpus") ? given.get("generator-cpus") : d.generatorCpus();
        server = "none".equalsIgnoreCase(server) ? null : server;
        generator = "none".equalsIgnoreCase(generator) ? null : generator;
        try {
            java.util.Set<Integer> s = server == null ? java.util.Set.of()
                    : CpuPinning.parseList("--server-cpus", server, cores);
            java.util.Set<Integer> g = generator == null ? java.util.Set.of()
                    : CpuPinning.parseList("--generator-cpus", generator, cores);
            java.util.Set<Integer> both = new java.util.TreeSet<>(s);
            both.retainAll(g);
            if (!both.isEmpty()) {
                throw new UsageException("--server-cpus " + server + " and --generator-cpus " + generator
                        + " share core(s) " + both + ": the generator would take the server's CPU");
            }
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (external && server != null && pid == 0) {
            throw new UsageException("--server-cpus with --url needs --server-pid (the process to pin)");
        }
        return new CpuPinning(server, generator);
    }

    private static long whole(Map<String, String> a, String name, long min, long max) throws UsageException {
        return whole("--" + name, a.get(name), min, max);
    }

    private static long whole(String name, String value, long min, long max) throws UsageException {
        long n;
        try {
            n = Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            throw new UsageException(name + ": not a whole number: \"" + value + "\"");
        }
        if (n < min || n > max) {
            throw new UsageException(name + " must be between " + min + " and " + max + ", got " + n);
        }
        return n;
    }

    private static double decimal(Map<String, String> a, String name, double min, double max) throws UsageException {
        String value = a.get(name);
        double d;
        try {
            d = Double.parseDouble(value.strip());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + ": not a number: \"" + value + "\"");
        }
        if (!(d >= min && d <= max)) {
            throw new UsageException("--" + name + " must be between " + min + " and " + max + ", got " + value);
        }
        return d;
    }

    /** Runs what the command line asks; the exit status. */
    static int run(Cli cli) throws Exception {
        cli.pinning().pinGenerator();
        System.out.println("cores: " + cli.pinning() + " (generator now on " + CpuPinning.affinity(ProcessHandle.current().pid())
                + ", " + cli.threads() + " event loop(s))");
        LinkedHashMap<String, LoadRunner> runners = new LinkedHashMap<>();
        Map<String, LoadOptions> options = new HashMap<>();
        // closed in reverse: the neighbour, then each target's participants before its server
        List<AutoCloseable> open = new ArrayList<>();
        Map<String, List<StepResult>> results;
        try {
            if (cli.runsConsultBridge()) {
                String url = cli.url();
                String secret = cli.secret();
                long pid = cli.serverPid();
                if (cli.startServer() != null) {
                    byte[] s = new byte[24];
                    new SecureRandom().nextBytes(s);
                    secret = HexFormat.of().formatHex(s);
                    int http = freePort();
                    int udp = freePort();
                    List<String> command = new ArrayList<>();
                    command.add(ProcessHandle.current().info().command().orElse("java"));
                    command.addAll(ServerJvm.options(cli.out().toAbsolutePath()));
                    command.addAll(List.of("-jar", cli.startServer()));
                    ProcessBuilder pb = new ProcessBuilder(cli.pinning().serverCommand(command));
                    pb.environment().putAll(ServerJvm.environment());
                    pb.environment().putAll(Map.of("CB_TOKEN_SECRET", secret, "CB_HTTP_HOST", "127.0.0.1",
                            "CB_HTTP_PORT", String.valueOf(http), "CB_BRIDGE_BIND_ADDRESS", "127.0.0.1",
                            "CB_BRIDGE_UDP_PORT", String.valueOf(udp), "CB_BRIDGE_TCP_PORT", String.valueOf(freePort()),
                            "CB_ADMIN_PORT", "0", "CB_HTTP_TLS_PORT", "0",
                            // the simulated consultations' summaries and audit lines go with the report, not ./data
                            "CB_OPS_SUMMARIES_DIR", cli.out().toAbsolutePath().resolve("summaries").toString(),
                            "CB_AUDIT_DIR", cli.out().toAbsolutePath().resolve("audit").toString()));
                    Path log = cli.out().toAbsolutePath().getParent().resolve("loadtest-server.log");
                    pb.redirectErrorStream(true).redirectOutput(log.toFile());
                    Process server = pb.start();
                    Thread hook = new Thread(server::destroy, "server-cleanup");
                    Runtime.getRuntime().addShutdownHook(hook);
                    open.add(() -> {
                        server.destroy();
                        if (!server.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                            server.destroyForcibly();
                        }
                        Runtime.getRuntime().removeShutdownHook(hook);
                    });
                    pid = server.pid();
                    url = "http://127.0.0.1:" + http;
                    awaitHealthy(url, server, log);
                } else if (pid > 0 && cli.pinning().serverCpus() != null) {
                    CpuPinning.pin(pid, cli.pinning().serverCpus());
                }
                System.out.println("consultbridge " + url + (pid > 0 ? " (pid " + pid + ", cores "
                        + CpuPinning.affinity(pid) + ")" : ""));
                LoadOptions o = cli.options(URI.create(url), secret, pid, "127.0.0.1");
                LoadRunner runner = new LoadRunner(o, System.out);
                open.add(runner);
                runners.put("consultbridge", runner);
                options.put("consultbridge", o);
            }
            if (!cli.target().equals("consultbridge")) {
                JanusRun.Target janus = JanusRun.open(cli.options(URI.create("http://unused"), null, 0, null),
                        System.out);
                open.add(janus);
                runners.put("janus", janus.runner());
                options.put("janus", janus.options());
            }
            boolean alternate = runners.size() > 1;
            if (alternate) {
                // each server idles while the other is under test: its CPU in those windows is reported
                long ours = options.get("consultbridge").serverPid();
                long janus = options.get("janus").serverPid();
                runners.get("consultbridge").otherServer(janus);
                runners.get("janus").otherServer(ours);
            }
            for (Map.Entry<String, LoadRunner> e : runners.entrySet()) {
                if (alternate) {
                    e.getValue().label(e.getKey());
                    System.out.print(e.getKey() + ": ");
                }
                e.getValue().warmUp();
            }
            if (cli.noisyNeighbour() > 0) {
                NoisyNeighbour n = NoisyNeighbour.start(cli.noisyNeighbour(), cli.pinning().serverCpus());
                open.add(n);
                System.out.println("noisy neighbour: " + n + " (pid " + n.pid() + ", cores " + CpuPinning.affinity(n.pid())
                        + "), during every step");
                runners.values().forEach(r -> r.neighbour(n));
            }
            if (alternate) {
                System.out.println("the targets take turns step by step: " + String.join(", then ", runners.keySet())
                        + " at each level; only the one under test carries load");
            }
            results = LoadRunner.ramp(runners, System.out);
        } finally {
            closeAll(open);
        }
        List<Report.Run> runs = new ArrayList<>();
        results.forEach((target, steps) -> runs.add(new Report.Run(target, options.get(target), steps)));
        LoadOptions o = runs.get(0).options();
        Report.write(o.out(), runs);
        printCapacities(runs, o);
        return 0;
    }

    /** Closes in reverse order, each even when one before it failed. */
    private static void closeAll(List<AutoCloseable> open) {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception | Error e) {
                System.err.println("warning: closing " + open.get(i) + ": " + e);
            }
        }
    }

    private static void printCapacities(List<Report.Run> runs, LoadOptions o) {
        System.out.println();
        for (Report.Run r : runs) {
            System.out.printf("%s: %d concurrent consultations within the objectives.%n", r.target(),
                    r.maxConsultations());
            StepResult last = r.steps().isEmpty() ? null : r.steps().get(r.steps().size() - 1);
            if (last != null && last.refused() > 0) {
                System.out.println("  " + StepResult.codes("refused", last.refused(), last.refusedCodes()));
            }
            if (r.steps().stream().anyMatch(StepResult::machineBusy)) {
                System.out.println("  WARNING: other processes or steal took the cores at some step (over 20 % of a core"
                        + (o.noisyNeighbourPercent() > 0 || runs.size() > 1 ? " besides what the tool started" : "")
                        + "): re-run on a quiet "
                        + "machine for the server's capacity.");
            }
            if (r.steps().stream().anyMatch(StepResult::generatorSaturated)) {
                System.out.println("  WARNING: the generator's cores were saturated (> 85 %) at some step: from there "
                        + "the figures show the generator's limit, not the server's.");
            }
        }
        System.out.println();
        System.out.print(Report.capacityTable(runs));
        System.out.println("Report: " + o.out().resolve("report.html").toAbsolutePath() + " (table: capacity.md)");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void awaitHealthy(String url, Process server, Path log) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!server.isAlive()) {
                throw new IOException("the server exited with " + server.exitValue() + " (log: " + log + ")");
            }
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
        throw new IOException("the server did not become healthy at " + url + " within 60 s (log: " + log + ")");
    }
}
