package org.consultbridge.loadtest;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.PrintStream;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.dtls.DtlsCertificate;

/**
 * Runs the load: adds consultations step by step, measures each step over a window after a warm-up, checks the
 * service-level objectives, and stops at the first step that misses them (ramp) or after one step (fixed).
 */
final class LoadRunner implements AutoCloseable {

    private final LoadOptions o;
    private final PrintStream out;
    private final Metrics metrics = new Metrics();
    private final EventLoopGroup group;
    private final DtlsCertificate certificate = DtlsCertificate.generate();
    private final Participant.Factory factory;
    private final List<Participant> participants = Collections.synchronizedList(new ArrayList<>());
    private final ProcessSampler server;
    /** This JVM: the generator's own CPU, to tell a server limit from a generator limit. */
    private final ProcessSampler generator = new ProcessSampler(ProcessHandle.current().pid());
    private final CoreSampler serverCores;
    private final CoreSampler generatorCores;
    private int consultations;
    private String label = "";
    /** The noisy neighbour's process, when one runs. */
    private ProcessSampler neighbour;
    /** The other target's server, idle on the same cores while this one is under test (comparisons). */
    private ProcessSampler otherServer;
    /** The participants of each consultation (step thread only), to check everyone received everyone. */
    private final Map<String, List<Participant>> byConsultation = new java.util.LinkedHashMap<>();

    /** Against ConsultBridge (our signalling, tokens signed with the options' secret). */
    LoadRunner(LoadOptions options, PrintStream out) {
        this(options, out, consultBridge(options));
    }

    private static java.util.Set<Integer> cpuSet(String list) {
        if (list == null || list.isBlank() || list.equals("none")) {
            return null;
        }
        return CpuPinning.parseList("cores", list, Integer.MAX_VALUE);
    }

    /** Against the target whose participants {@code factory} creates. */
    LoadRunner(LoadOptions options, PrintStream out, Participant.Factory factory) {
        this.o = options;
        this.factory = factory;
        this.out = out;
        this.group = new MultiThreadIoEventLoopGroup(options.threads(), io.netty.channel.epoll.Epoll.isAvailable()
                ? io.netty.channel.epoll.EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.server = options.serverPid() > 0 ? new ProcessSampler(options.serverPid()) : null;
        java.util.Set<Integer> serverSet = cpuSet(options.pinning().serverCpus());
        java.util.Set<Integer> generatorSet = cpuSet(options.pinning().generatorCpus());
        if (serverSet != null && generatorSet != null && java.util.Collections.disjoint(serverSet, generatorSet)) {
            this.serverCores = new CoreSampler(serverSet);
            this.generatorCores = new CoreSampler(generatorSet);
        } else { // one side unpinned or overlapping: both share the machine's cores
            this.serverCores = new CoreSampler(null);
            this.generatorCores = serverCores;
        }
        org.consultbridge.bridge.srtp.SrtpTransformer.warmUp();
    }

    /** Participants that join ConsultBridge over its WebSocket signalling with minted tokens. */
    static Participant.Factory consultBridge(LoadOptions o) {
        TokenMinter tokens = new TokenMinter(o.secret());
        return (cid, pid, role, impairment, c) -> new SimParticipant(pid, o.wsUri(), tokens.mint(cid, pid, role),
                c.group(), c.bind(), c.certificate(), c.metrics(), impairment, c.videoKbps());
    }

    private Participant create(String cid, String pid, String role, Impairment impairment) throws Exception {
        return factory.create(cid, pid, role, impairment, new Participant.Context(group,
                InetAddress.getByName(o.bindAddress()), certificate, metrics, o.videoKbps(),
                o.participantsPerConsultation()));
    }

    /** A warm-up, then the ramp (or the one fixed step) against this runner's target alone. */
    List<StepResult> run() throws Exception {
        warmUp();
        LinkedHashMap<String, LoadRunner> one = new LinkedHashMap<>();
        one.put(label.isEmpty() ? "target" : label, this);
        return ramp(one, out).values().iterator().next();
    }

    /**
     * The ramp against several targets (each runner warmed up), in the order of {@link RampSchedule}: with more than
     * one, they take turns level by level and only the target under test carries load (every participant of a
     * target leaves after its step, before the other's step starts, and the next step of a target starts afresh).
     * With one target, steps add consultations to those of the step before, as a clinic's day fills. A missed step
     * is measured once more (afresh) before it counts. The steps of each target, in its order.
     */
    static Map<String, List<StepResult>> ramp(LinkedHashMap<String, LoadRunner> runners, PrintStream out)
            throws Exception {
        LoadOptions o = runners.values().iterator().next().o;
        RampSchedule schedule = new RampSchedule(List.copyOf(runners.keySet()), o.rampStart(), o.rampStep(),
                o.rampMax());
        boolean alternate = runners.size() > 1;
        Map<String, List<StepResult>> results = new LinkedHashMap<>();
        runners.keySet().forEach(t -> results.put(t, new ArrayList<>()));
        for (RampSchedule.Step s; (s = schedule.next()) != null; ) {
            LoadRunner runner = runners.get(s.target());
            if (s.repeat()) {
                out.printf(Locale.ROOT, "%srepeating the step at %d consultations (a missed step counts only when "
                        + "it misses twice)%n", runner.prefix(), s.consultations());
                if (!alternate) {
                    runner.stopAll(); // the repeat starts afresh, like the first try
                }
            }
            StepResult r = runner.step(s.consultations(), s.repeat());
            runner.print(r);
            results.get(s.target()).add(r);
            schedule.record(s, r.sloMet());
            if (alternate) {
                runner.stopAll(); // the other target's step runs on a quiet server and generator
                if (schedule.done(s.target())) {
                    out.printf(Locale.ROOT, "%sdone (%s)%n", runner.prefix(), r.sloMet() ? "end of the ramp"
                            : "missed twice at " + s.consultations() + " consultations");
                }
            }
        }
        return results;
    }

    /** The console line(s) of a step. */
    private void print(StepResult r) {
        out.printf(Locale.ROOT, "%sstep %3d consultations%s: loss %.3f%%  latency p50 %.1f ms p99 %.1f ms  "
                        + "join p50 %d ms max %d ms  top layer %.0f%%  server cpu %.0f%% = %.1f us/pkt (%.0f pkt/s) "
                        + "rss %.0f MiB  generator cpu %.0f%%  steal %.0f/%.0f%% others %.0f/%.0f%% (server/generator "
                        + "cores)%s  %s%n",
                prefix(), r.consultations(), r.repeat() ? " (repeat)" : "", r.lossPercent(), r.latencyP50Ms(),
                r.latencyP99Ms(), r.joinP50Ms(), r.joinMaxMs(), r.topLayerPercent(), r.serverCpuPercent(),
                r.cpuMicrosPerPacket(), r.receivedPps(), r.serverRssMb(), r.generatorCpuPercent(),
                r.serverCoresStealPercent(), r.generatorCoresStealPercent(), r.serverCoresOthersPercent(),
                r.generatorCoresOthersPercent(), (Double.isNaN(r.otherServerCpuPercent()) ? ""
                        : String.format(Locale.ROOT, "  idle other server %.1f%%", r.otherServerCpuPercent()))
                        + (Double.isNaN(r.neighbourCpuPercent()) ? ""
                        : String.format(Locale.ROOT, "  neighbour %.0f%%", r.neighbourCpuPercent())),
                r.sloMet() ? "OK" : "MISSED: " + r.sloFailure());
        if (r.impairedLossPercent() >= 0) {
            out.printf(Locale.ROOT, "  impaired streams (%s): loss %.2f%%  latency p99 %.1f ms%n", o.impairment(),
                    r.impairedLossPercent(), r.impairedLatencyP99Ms());
        }
        if (r.machineBusy()) {
            out.printf(Locale.ROOT, "  WARNING: busy machine: other processes%s and steal took %.0f%% + %.0f%% of a core "
                    + "from the server's cores, %.0f%% + %.0f%% from the generator's: not the server's capacity%n",
                    neighbour == null && otherServer == null ? "" : " (besides those the tool started)",
                    r.serverCoresOthersPercent(),
                    r.serverCoresStealPercent(), r.generatorCoresOthersPercent(), r.generatorCoresStealPercent());
        }
        if (r.generatorSaturated()) {
            out.printf(Locale.ROOT, "  WARNING: the generator used %.0f%% of its %.0f%% (%s): past 85%% this step "
                    + "measures the generator's limit, not the server's%n", r.generatorCpuPercent(),
                    o.generatorCapacityPercent(), o.pinning());
        }
        String reason;
        for (int i = 0; i < 3 && (reason = metrics.failureReasons.poll()) != null; i++) {
            out.println("  failure: " + reason);
        }
    }

    /** Names this runner's target in its console lines (runs with several targets). */
    void label(String label) {
        this.label = label;
    }

    private String prefix() {
        return label.isEmpty() ? "" : label + " ";
    }

    /** Samples the noisy neighbour's CPU over each step's window (reported per step). */
    void neighbour(NoisyNeighbour n) {
        this.neighbour = n == null ? null : new ProcessSampler(n.pid());
    }

    /** Samples the other target's server (idle during this runner's steps) over each step's window. */
    void otherServer(long pid) {
        this.otherServer = pid > 0 ? new ProcessSampler(pid) : null;
    }

    /**
     * Every participant leaves: the target carries no load until the next step, which starts afresh. Waits a second
     * for the server to tear the sessions down, and forgets what they measured.
     */
    void stopAll() throws InterruptedException {
        List<Participant> all;
        synchronized (participants) {
            all = new ArrayList<>(participants);
            participants.clear();
        }
        byConsultation.clear();
        consultations = 0;
        try (var closer = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            all.forEach(p -> closer.submit(p::close));
        }
        Thread.sleep(1000);
        drain();
        metrics.joinMillis.clear();
        metrics.firstFrameMillis.clear();
        metrics.failures.reset();
        metrics.failureReasons.clear();
        metrics.clearCodes();
    }

    static final double WARMUP_CALM_MILLIS = 10;
    static final long WARMUP_MAX_MILLIS = 30_000;

    /**
     * Two consultations before the first step, then closed: both JVMs (ours and the server's) compile their hot
     * paths, so the first step measures the server, not its JIT. At least the warm-up time, then until two seconds in
     * a row have p90 latency below {@value #WARMUP_CALM_MILLIS} ms, at most {@value #WARMUP_MAX_MILLIS} ms.
     */
    void warmUp() throws Exception {
        if (o.warmup().isZero()) {
            return;
        }
        List<Participant> warm = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
            for (int i = 0; i < 2; i++) {
                String role = i == 0 ? "doctor" : "room";
                String pid = "warmup-" + role + "-" + c;
                Participant p = create("lt-warmup-" + c, pid, role, Impairment.NONE);
                warm.add(p);
                p.start();
            }
        }
        out.println("warming up the generator and the server ...");
        // at least the warm-up time; then on until the media flows without queuing (the JITs caught up), at most
        // WARMUP_MAX: a server still compiling its packet path would otherwise fail the first step
        long start = System.nanoTime();
        long min = start + Math.max(3000, o.warmup().toMillis()) * 1_000_000L;
        long max = start + WARMUP_MAX_MILLIS * 1_000_000L;
        metrics.latency.drain();
        int calm = 0;
        while (System.nanoTime() < max) {
            Thread.sleep(1000);
            long[] lat = metrics.latency.drain();
            double p90 = LatencyHistogram.percentileMillis(lat, 0.9);
            calm = LatencyHistogram.count(lat) > 0 && p90 < WARMUP_CALM_MILLIS ? calm + 1 : 0;
            if (System.nanoTime() >= min && calm >= 2) {
                break;
            }
        }
        out.printf(Locale.ROOT, "warmed up in %.0f s%s%n", (System.nanoTime() - start) / 1e9,
                calm >= 2 ? "" : " (media still queued: the machine or the server is slow)");
        warm.forEach(Participant::close);
        Thread.sleep(500);
        drain();
        metrics.joinMillis.clear();
        metrics.firstFrameMillis.clear();
        metrics.failures.reset();
        metrics.failureReasons.clear();
        metrics.clearCodes();
    }

    /**
     * One step: consultations added up to {@code target}, a warm-up, then the measurement window. {@code repeat}:
     * the second try of a level (reported).
     */
    StepResult step(int target, boolean repeat) throws Exception {
        List<Participant> added = new ArrayList<>();
        while (consultations < target) {
            String cid = "lt-" + consultations + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xFFFFFF);
            for (int i = 0; i < o.participantsPerConsultation(); i++) {
                String role = i == 0 ? "doctor" : i == 1 ? "room" : "guest";
                String pid = role + "-" + consultations;
                boolean impaired = i == 1 && ThreadLocalRandom.current().nextDouble() < o.impairedShare();
                Participant p = create(cid, pid, role, impaired ? o.impairment() : Impairment.NONE);
                participants.add(p);
                byConsultation.computeIfAbsent(cid, k -> new ArrayList<>()).add(p);
                added.add(p);
                p.start();
                Thread.sleep(20); // a staggered arrival, as in a clinic's schedule
            }
            consultations++;
        }
        // warm-up: joins complete, then the measurement window starts clean
        long warmupEnd = System.nanoTime() + o.warmup().toNanos();
        progressUntil(warmupEnd, target);
        drain();
        double cpuStart = server != null ? server.cpuSeconds() : Double.NaN;
        if (neighbour != null) {
            neighbour.cpuPercent();
        }
        if (otherServer != null) {
            otherServer.cpuPercent();
        }
        generator.cpuPercent();
        serverCores.sample();
        if (generatorCores != serverCores) {
            generatorCores.sample();
        }
        long start = System.nanoTime();
        long end = start + o.stepDuration().toNanos();
        progressUntil(end, target);
        double seconds = (System.nanoTime() - start) / 1e9;
        double serverCpuSeconds = server != null ? server.cpuSeconds() - cpuStart : Double.NaN;
        double cpu = 100.0 * serverCpuSeconds / seconds;
        double rss = server != null ? server.rssMb() : Double.NaN;
        double generatorCpu = generator.cpuPercent();
        double neighbourCpu = neighbour != null ? neighbour.cpuPercent() : Double.NaN;
        double otherServerCpu = otherServer != null ? otherServer.cpuPercent() : Double.NaN;
        // started on purpose and measured apart: not what makes a machine "busy" (the other server shares the
        // server's cores; unpinned, everything shares all cores)
        double known = (Double.isNaN(neighbourCpu) ? 0 : neighbourCpu)
                + (Double.isNaN(otherServerCpu) ? 0 : otherServerCpu);
        // what other processes and the hypervisor (steal) took of each side's cores; unpinned, the cores are shared
        // by both sides
        boolean shared = serverCores == generatorCores;
        CoreSampler.Usage serverUse = serverCores.sample();
        CoreSampler.Usage generatorUse = shared ? serverUse : generatorCores.sample();
        double ours = cpu + generatorCpu;
        double serverOthers = server == null ? Double.NaN
                : Math.max(0, serverUse.busyPercent() - serverUse.stealPercent() - (shared ? ours : cpu));
        double generatorOthers = Math.max(0, generatorUse.busyPercent() - generatorUse.stealPercent()
                - (shared ? (Double.isNaN(cpu) ? generatorCpu : ours) : generatorCpu));
        boolean busy = StepResult.busy(serverOthers, serverUse.stealPercent(), known)
                || StepResult.busy(generatorOthers, generatorUse.stealPercent(), shared ? known : 0);
        boolean generatorSaturated = generatorCpu > 0.85 * o.generatorCapacityPercent();

        long sent = metrics.packetsSent.sumThenReset();
        long received = metrics.packetsReceived.sumThenReset();
        long expected = metrics.packetsExpected.sumThenReset();
        long impairedReceived = metrics.impairedPacketsReceived.sumThenReset();
        long impairedExpected = metrics.impairedPacketsExpected.sumThenReset();
        long frames = metrics.videoFrames.sumThenReset();
        long topFrames = metrics.videoFramesTopLayer.sumThenReset();
        long[] lat = metrics.latency.drain();
        long[] impairedLat = metrics.impairedLatency.drain();
        List<Long> joins = drainAll(metrics.joinMillis);
        List<Long> firstFrames = drainAll(metrics.firstFrameMillis);
        Collections.sort(joins);
        Collections.sort(firstFrames);
        List<Participant> all = new ArrayList<>(participants);
        int joined = (int) all.stream().filter(Participant::joined).count();
        int refused = (int) all.stream().filter(p -> p.refusal() != null).count();
        int dropped = (int) all.stream().filter(p -> p.dropped() != null).count();
        int silent = (int) all.stream().filter(p -> !p.joined() && p.refusal() == null && p.dropped() == null).count();
        Map<String, Long> refusedCodes = metrics.refusals();
        Map<String, Long> droppedCodes = metrics.drops();
        Map<String, Long> errorCodes = metrics.errors();
        int failures = (int) metrics.failures.sum();
        int pairsWithoutMedia = pairsWithoutMedia();
        // no clean stream at all: 100 % loss, unless every stream has an impaired end (then the clean figures are empty)
        boolean onlyImpaired = expected == 0 && impairedExpected > 0;
        double loss = onlyImpaired ? 0 : expected == 0 ? 100.0 : 100.0 * Math.max(0, expected - received) / expected;
        double impairedLoss = impairedExpected == 0 ? -1
                : 100.0 * Math.max(0, impairedExpected - impairedReceived) / impairedExpected;
        long joinMax = joins.isEmpty() ? -1 : joins.get(joins.size() - 1);
        double p99 = LatencyHistogram.percentileMillis(lat, 0.99);

        String failure = null;
        if (refused > 0) {
            failure = StepResult.codes("refused", refused, refusedCodes);
        } else if (dropped > 0) {
            failure = StepResult.codes("dropped", dropped, droppedCodes);
        } else if (silent > 0) {
            failure = silent + " participants never received media";
        } else if (failures > 0) {
            failure = failures + " participant failures";
        } else if (pairsWithoutMedia > 0) {
            failure = pairsWithoutMedia + " receiver/sender pairs without both audio and video";
        } else if (!errorCodes.isEmpty()) {
            failure = StepResult.codes("server errors", (int) errorCodes.values().stream().mapToLong(Long::longValue)
                    .sum(), errorCodes);
        } else if (loss > o.maxLossPercent()) {
            failure = String.format(Locale.ROOT, "loss %.3f%% > %.3f%%", loss, o.maxLossPercent());
        } else if (!onlyImpaired && !(p99 <= o.maxP99Millis())) {
            failure = String.format(Locale.ROOT, "p99 latency %.1f ms > %.1f ms", p99, o.maxP99Millis());
        } else if (joinMax > o.maxJoinMillis()) {
            failure = "join took " + joinMax + " ms > " + o.maxJoinMillis() + " ms";
        }
        return new StepResult(target, all.size(), joined, seconds, sent / seconds, (received + impairedReceived)
                / seconds, loss, LatencyHistogram.percentileMillis(lat, 0.50), p99,
                LatencyHistogram.percentileMillis(lat, 1.0), percentile(joins, 0.5), percentile(joins, 0.99), joinMax,
                percentile(firstFrames, 0.5), failures, pairsWithoutMedia, refused, refusedCodes, dropped, droppedCodes, errorCodes,
                impairedLoss, LatencyHistogram.percentileMillis(impairedLat, 0.99),
                frames == 0 ? Double.NaN : 100.0 * topFrames / frames, metrics.nacksSent.sumThenReset(),
                metrics.plisSent.sumThenReset(), metrics.transportCcSent.sumThenReset(),
                metrics.recovered.sumThenReset(), metrics.plisReceived.sumThenReset(), cpu, rss, cpu / target,
                generatorCpu, generatorSaturated, serverOthers, generatorOthers, serverUse.stealPercent(),
                generatorUse.stealPercent(), neighbourCpu, otherServerCpu, serverCpuSeconds, received + impairedReceived,
                StepResult.microsPerPacket(serverCpuSeconds, received + impairedReceived), busy, repeat,
                failure == null, failure == null ? "" : failure);
    }

    /**
     * Pairs of participants of one consultation (both admitted by the server) where the receiver got no audio or no
     * video from the sender: every participant must receive media from every other.
     */
    int pairsWithoutMedia() {
        int missing = 0;
        for (List<Participant> members : byConsultation.values()) {
            for (Participant receiver : members) {
                for (Participant sender : members) {
                    if (receiver == sender || receiver.refusal() != null || sender.refusal() != null) {
                        continue;
                    }
                    int heard = receiver.heardFrom(sender.tag());
                    if (heard != (SimParticipant.HEARD_AUDIO | SimParticipant.HEARD_VIDEO)) {
                        missing++;
                        if (metrics.failureReasons.size() < 20) {
                            metrics.failureReasons.add(receiver.id() + " has " + (heard == 0 ? "nothing"
                                    : heard == SimParticipant.HEARD_AUDIO ? "audio only" : "video only")
                                    + " from " + sender.id()
                                    + (sender.publishing() ? "" : " (whose publish transport is not connected)"));
                        }
                    }
                }
            }
        }
        return missing;
    }

    /** The joins of this step (the participants added by it). */
    private static List<Long> drainAll(java.util.Queue<Long> q) {
        List<Long> l = new ArrayList<>();
        Long v;
        while ((v = q.poll()) != null) {
            l.add(v);
        }
        return l;
    }

    private static long percentile(List<Long> sorted, double p) {
        if (sorted.isEmpty()) {
            return -1;
        }
        return sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(p * sorted.size()) - 1));
    }

    private void drain() {
        metrics.packetsSent.reset();
        metrics.packetsReceived.reset();
        metrics.packetsExpected.reset();
        metrics.latency.drain();
        metrics.impairedPacketsReceived.reset();
        metrics.impairedPacketsExpected.reset();
        metrics.impairedLatency.drain();
        metrics.videoFrames.reset();
        metrics.videoFramesTopLayer.reset();
        metrics.nacksSent.reset();
        metrics.plisSent.reset();
        metrics.transportCcSent.reset();
        metrics.recovered.reset();
        metrics.plisReceived.reset();
    }

    /** Live progress, one line a second, until {@code endNanos}. */
    private void progressUntil(long endNanos, int target) throws InterruptedException {
        long lastSent = metrics.packetsSent.sum();
        long lastReceived = metrics.packetsReceived.sum();
        while (System.nanoTime() < endNanos) {
            Thread.sleep(Math.min(1000, Math.max(1, (endNanos - System.nanoTime()) / 1_000_000)));
            long s = metrics.packetsSent.sum();
            long r = metrics.packetsReceived.sum();
            List<Participant> all = new ArrayList<>(participants);
            int joined = (int) all.stream().filter(Participant::joined).count();
            int refused = (int) all.stream().filter(p -> p.refusal() != null).count();
            out.printf(Locale.ROOT, "\r[%s%d consultations] joined %d/%d  refused %d  sent %d pkt/s  received %d pkt/s  "
                    + "failures %d   ", prefix(), target, joined, all.size(), refused, s - lastSent, r - lastReceived,
                    metrics.failures.sum());
            out.flush();
            lastSent = s;
            lastReceived = r;
        }
        out.println();
    }

    @Override
    public void close() {
        for (Participant p : new ArrayList<>(participants)) {
            p.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
