package org.consultbridge.loadtest;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.PrintStream;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
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
    private int consultations;

    /** Against ConsultBridge (our signalling, tokens signed with the options' secret). */
    LoadRunner(LoadOptions options, PrintStream out) {
        this(options, out, consultBridge(options));
    }

    /** Against the target whose participants {@code factory} creates. */
    LoadRunner(LoadOptions options, PrintStream out, Participant.Factory factory) {
        this.o = options;
        this.factory = factory;
        this.out = out;
        this.group = new MultiThreadIoEventLoopGroup(options.threads(), io.netty.channel.epoll.Epoll.isAvailable()
                ? io.netty.channel.epoll.EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.server = options.serverPid() > 0 ? new ProcessSampler(options.serverPid()) : null;
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

    List<StepResult> run() throws Exception {
        warmUp();
        List<StepResult> steps = new ArrayList<>();
        int target = o.rampStart();
        while (true) {
            StepResult r = step(target);
            steps.add(r);
            out.printf(Locale.ROOT, "step %3d consultations: loss %.3f%%  latency p50 %.1f ms p99 %.1f ms  "
                            + "join p50 %d ms max %d ms  server cpu %.0f%% rss %.0f MiB  %s%n",
                    r.consultations(), r.lossPercent(), r.latencyP50Ms(), r.latencyP99Ms(), r.joinP50Ms(),
                    r.joinMaxMs(), r.serverCpuPercent(), r.serverRssMb(), r.sloMet() ? "OK" : "MISSED: " + r.sloFailure());
            String reason;
            for (int i = 0; i < 3 && (reason = metrics.failureReasons.poll()) != null; i++) {
                out.println("  failure: " + reason);
            }
            if (!r.sloMet() || !o.ramp() || target + o.rampStep() > o.rampMax()) {
                break;
            }
            target += o.rampStep();
        }
        return steps;
    }

    /**
     * Two consultations for a few seconds before the first step, then closed: both JVMs (ours and the server's)
     * compile their hot paths, so the first step measures the server, not its JIT.
     */
    private void warmUp() throws Exception {
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
        out.println("warming up both JVMs ...");
        Thread.sleep(Math.max(3000, o.warmup().toMillis()));
        warm.forEach(Participant::close);
        Thread.sleep(500);
        drain();
        metrics.joinMillis.clear();
        metrics.firstFrameMillis.clear();
        metrics.failures.reset();
    }

    private StepResult step(int target) throws Exception {
        List<Participant> added = new ArrayList<>();
        while (consultations < target) {
            String cid = "lt-" + consultations + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xFFFFFF);
            for (int i = 0; i < o.participantsPerConsultation(); i++) {
                String role = i == 0 ? "doctor" : i == 1 ? "room" : "guest";
                String pid = role + "-" + consultations;
                boolean impaired = i == 1 && ThreadLocalRandom.current().nextDouble() < o.impairedShare();
                Participant p = create(cid, pid, role, impaired ? o.impairment() : Impairment.NONE);
                participants.add(p);
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
        if (server != null) {
            server.cpuPercent();
        }
        long start = System.nanoTime();
        long end = start + o.stepDuration().toNanos();
        progressUntil(end, target);
        double seconds = (System.nanoTime() - start) / 1e9;
        double cpu = server != null ? server.cpuPercent() : Double.NaN;
        double rss = server != null ? server.rssMb() : Double.NaN;

        long sent = metrics.packetsSent.sumThenReset();
        long received = metrics.packetsReceived.sumThenReset();
        long expected = metrics.packetsExpected.sumThenReset();
        long[] lat = metrics.latency.drain();
        List<Long> joins = drainAll(metrics.joinMillis);
        List<Long> frames = drainAll(metrics.firstFrameMillis);
        Collections.sort(joins);
        Collections.sort(frames);
        int joined = (int) participants.stream().filter(Participant::joined).count();
        int failures = (int) metrics.failures.sum();
        double loss = expected == 0 ? 100.0 : 100.0 * Math.max(0, expected - received) / expected;
        long joinMax = joins.isEmpty() ? -1 : joins.get(joins.size() - 1);
        double p99 = LatencyHistogram.percentileMillis(lat, 0.99);

        String failure = null;
        if (joined < participants.size()) {
            failure = (participants.size() - joined) + " participants never received media";
        } else if (failures > 0) {
            failure = failures + " participant failures";
        } else if (loss > o.maxLossPercent()) {
            failure = String.format(Locale.ROOT, "loss %.3f%% > %.3f%%", loss, o.maxLossPercent());
        } else if (!(p99 <= o.maxP99Millis())) {
            failure = String.format(Locale.ROOT, "p99 latency %.1f ms > %.1f ms", p99, o.maxP99Millis());
        } else if (joinMax > o.maxJoinMillis()) {
            failure = "join took " + joinMax + " ms > " + o.maxJoinMillis() + " ms";
        }
        return new StepResult(target, participants.size(), joined, seconds, sent / seconds, received / seconds, loss,
                LatencyHistogram.percentileMillis(lat, 0.50), p99, LatencyHistogram.percentileMillis(lat, 1.0),
                percentile(joins, 0.5), joinMax, percentile(frames, 0.5), failures, metrics.nacksSent.sumThenReset(),
                metrics.plisReceived.sumThenReset(), cpu, rss, cpu / target, failure == null,
                failure == null ? "" : failure);
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
        metrics.nacksSent.reset();
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
            int joined = (int) participants.stream().filter(Participant::joined).count();
            out.printf(Locale.ROOT, "\r[%d consultations] joined %d/%d  sent %d pkt/s  received %d pkt/s  failures %d   ",
                    target, joined, participants.size(), s - lastSent, r - lastReceived, metrics.failures.sum());
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
