package org.consultbridge.signaling.ops;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmInfoMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;
import org.consultbridge.bridge.api.BridgeStats;
import org.consultbridge.bridge.api.QualitySnapshot;
import org.consultbridge.bridge.transport.DropReason;
import org.consultbridge.signaling.consultation.ConsultationRegistry;
import org.consultbridge.signaling.turn.TurnProbe;

/**
 * The Prometheus metrics (names in README.md and ops/). Bridge counters are FunctionCounters and gauges over the
 * snapshot the sampler took last, so a scrape never touches the bridge's event loop; histograms get one
 * observation per participant per sample. Labels are bounded: drop reason, verdict, candidate type, result.
 */
public final class OpsMetrics implements AutoCloseable {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final OpsMonitor monitor;
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private final Map<String, Counter> clientStatsCounters = new ConcurrentHashMap<>();
    private final Counter clientFreezes;
    private final DistributionSummary clientFps;
    private final DistributionSummary clientConcealment;
    private final Timer clientFirstFrame;
    private final Timer join;
    private final Timer loopLag;
    private final DistributionSummary estimate;
    private final DistributionSummary downlinkLoss;
    private final DistributionSummary uplinkLoss;
    private final Timer jitter;
    private final Timer rtt;
    private final Counter turnFailures;
    private final Counter joinsRefused;
    private final Counter summariesWritten;
    private final Counter summariesFailed;
    private final Counter summariesDeleted;
    private volatile long bitrateIn;
    private volatile long bitrateOut;
    private final int[] verdicts = new int[Verdict.Level.values().length];
    private volatile TurnProbe.Health turn;

    OpsMetrics(OpsMonitor monitor, ConsultationRegistry consultations, boolean turnConfigured) {
        this.monitor = monitor;
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new JvmInfoMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);

        Gauge.builder("consultbridge.consultations", consultations, r -> r.consultations().size())
                .description("consultations running on this node").register(registry);
        Gauge.builder("consultbridge.participants", consultations,
                        r -> r.consultations().stream().mapToInt(c -> c.participants().size()).sum())
                .description("participants connected to this node").register(registry);
        Gauge.builder("consultbridge.draining", consultations, r -> r.draining() ? 1 : 0)
                .description("1 while this node refuses new consultations (drain)").register(registry);
        Gauge.builder("consultbridge.ready", monitor, m -> m.notReadyReasons().isEmpty() ? 1 : 0)
                .description("1 when /healthz/ready answers 200").register(registry);
        joinsRefused = Counter.builder("consultbridge.joins.refused").tag("reason", "draining")
                .description("joins to new consultations refused while draining").register(registry);

        Gauge.builder("consultbridge.bitrate.in", this, m -> m.bitrateIn).baseUnit("bits.per.second")
                .description("SRTP bit rate the bridge receives from publishers").register(registry);
        Gauge.builder("consultbridge.bitrate.out", this, m -> m.bitrateOut).baseUnit("bits.per.second")
                .description("SRTP bit rate the bridge sends to receivers").register(registry);
        snapCounter("consultbridge.rtp.received", "bytes", QualitySnapshot::rtpBytesReceived,
                "SRTP bytes received from publishers");
        snapCounter("consultbridge.rtp.forwarded", "bytes", QualitySnapshot::rtpBytesForwarded,
                "SRTP bytes sent to receivers (media, RTX, probes)");
        statsCounter("consultbridge.datagrams.received", BridgeStats::datagramsReceived, "UDP datagrams received");
        statsCounter("consultbridge.rtp.packets.received", BridgeStats::rtpPacketsReceived,
                "RTP packets received and decrypted");
        statsCounter("consultbridge.rtp.packets.forwarded", BridgeStats::rtpPacketsForwarded,
                "RTP packets sent to receivers");
        statsCounter("consultbridge.rtcp.packets.received", BridgeStats::rtcpPacketsReceived,
                "RTCP compound packets received");
        for (DropReason reason : DropReason.values()) {
            String label = reason.label();
            FunctionCounter.builder("consultbridge.packets.dropped", this, m -> {
                        BridgeStats s = m.monitor.bridgeStats();
                        Long v = s == null ? null : s.droppedByReason().get(label);
                        return v == null ? 0 : v;
                    }).tag("reason", label).description("datagrams or packets the bridge dropped, by reason")
                    .register(registry);
        }
        snapCounter("consultbridge.nacks.received", null, QualitySnapshot::nacksReceived,
                "generic NACKs from receivers (RFC 4585)");
        snapCounter("consultbridge.nacks.sent", null, QualitySnapshot::nacksSent,
                "generic NACKs the bridge sent to publishers");
        snapCounter("consultbridge.rtx.sent", null, QualitySnapshot::retransmissionsSent,
                "retransmissions (RFC 4588 RTX) sent to receivers");
        snapCounter("consultbridge.plis.received", null, QualitySnapshot::keyframeRequestsReceived,
                "keyframe requests (PLI, FIR) from receivers");
        snapCounter("consultbridge.plis.sent", null, QualitySnapshot::keyframeRequestsSent,
                "keyframe requests (PLI) the bridge sent to publishers");
        snapCounter("consultbridge.layer.switches", null, QualitySnapshot::layerSwitches,
                "simulcast layer switches for receivers");
        snapCounter("consultbridge.ice.failures", null, QualitySnapshot::iceFailures,
                "transports whose ICE consent expired");
        snapCounter("consultbridge.dtls.failures", null, QualitySnapshot::dtlsFailures,
                "DTLS handshakes that failed");
        if (turnConfigured) {
            Gauge.builder("consultbridge.turn.probe.up", this, m -> m.turn == null ? Double.NaN : m.turn.ok() ? 1 : 0)
                    .description("1 when the last TURN Allocate probe succeeded").register(registry);
            Gauge.builder("consultbridge.turn.probe.latency", this, m -> m.turn == null || m.turn.latencyMs() == null
                            ? Double.NaN : m.turn.latencyMs() / 1000.0).baseUnit("seconds")
                    .description("duration of the last TURN probe").register(registry);
        }
        turnFailures = Counter.builder("consultbridge.turn.probe.failures")
                .description("TURN probes that failed").register(registry);
        summariesWritten = Counter.builder("consultbridge.summaries.written").tag("result", "ok")
                .description("consultation quality summaries written (at the end, checkpoints, at shutdown)")
                .register(registry);
        summariesFailed = Counter.builder("consultbridge.summaries.written").tag("result", "failed")
                .description("consultation quality summaries written (at the end, checkpoints, at shutdown)")
                .register(registry);
        summariesDeleted = Counter.builder("consultbridge.summaries.deleted")
                .description("consultation quality summaries deleted after their retention period")
                .register(registry);

        for (Verdict.Level level : Verdict.Level.values()) {
            Gauge.builder("consultbridge.participants.by.verdict", verdicts, v -> v[level.ordinal()])
                    .tag("verdict", level.wire()).description("participants per quality verdict").register(registry);
        }
        for (String type : ClientStats.CANDIDATE_TYPES) {
            Gauge.builder("consultbridge.client.candidate.type", monitor, m -> m.clientEntries().values().stream()
                            .filter(e -> e.stats().candidateType().equals(type)).count())
                    .tag("type", type).description("participants by the local ICE candidate type they report")
                    .register(registry);
        }
        for (String result : new String[] {"accepted", "clamped", "rejected", "too-frequent"}) {
            clientStats(result, 0);
        }
        clientFreezes = Counter.builder("consultbridge.client.freezes")
                .description("video freezes the clients reported").register(registry);
        clientFps = DistributionSummary.builder("consultbridge.client.fps")
                .serviceLevelObjectives(1, 5, 10, 15, 20, 25, 30).description("received video frame rate clients report")
                .register(registry);
        clientConcealment = DistributionSummary.builder("consultbridge.client.audio.concealment.ratio")
                .serviceLevelObjectives(0.001, 0.01, 0.03, 0.05, 0.1, 0.2, 0.5)
                .description("share of received audio the clients concealed").register(registry);
        clientFirstFrame = Timer.builder("consultbridge.client.first.frame")
                .serviceLevelObjectives(seconds(0.5, 1, 2, 3, 5, 10, 20, 30))
                .description("client-reported time from hello to the first decoded remote video frame")
                .register(registry);
        loopLag = Timer.builder("consultbridge.bridge.loop.lag")
                .serviceLevelObjectives(Duration.ofNanos(100_000), Duration.ofNanos(250_000), Duration.ofNanos(500_000),
                        Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
                        Duration.ofMillis(20), Duration.ofMillis(50), Duration.ofMillis(100))
                .description("how late a task the media bridge's event loops asked for runs (about 100 probes a "
                        + "second per worker): what a ready datagram waits, from a busy loop, steal, GC or a "
                        + "neighbour on the core")
                .register(registry);
        join = Timer.builder("consultbridge.join")
                .serviceLevelObjectives(seconds(0.25, 0.5, 1, 2, 3, 5, 10, 20, 30))
                .description("token presented (hello; for those who waited: admitted) to the participant's publish "
                        + "transport connected "
                        + "(ICE + DTLS done, SRTP keyed: first media can flow), measured by the server")
                .register(registry);
        estimate = DistributionSummary.builder("consultbridge.receiver.estimated.bandwidth")
                .baseUnit("bits.per.second")
                .serviceLevelObjectives(100e3, 200e3, 300e3, 500e3, 750e3, 1e6, 1.5e6, 2e6, 3e6, 5e6, 10e6)
                .description("the bridge's downlink estimate per receiver, one observation per sample")
                .register(registry);
        downlinkLoss = DistributionSummary.builder("consultbridge.downlink.loss.ratio")
                .serviceLevelObjectives(0.001, 0.005, 0.01, 0.02, 0.05, 0.08, 0.1, 0.2, 0.5)
                .description("loss receivers report on what the bridge sends (RTCP RR), per receiver per sample")
                .register(registry);
        uplinkLoss = DistributionSummary.builder("consultbridge.uplink.loss.ratio")
                .serviceLevelObjectives(0.001, 0.005, 0.01, 0.02, 0.05, 0.08, 0.1, 0.2, 0.5)
                .description("loss the bridge sees on what publishers send, per publisher per sample")
                .register(registry);
        jitter = Timer.builder("consultbridge.jitter")
                .serviceLevelObjectives(millis(5, 10, 20, 30, 50, 100, 200, 500))
                .description("worst audio interarrival jitter per participant (RTCP RR or measured by the bridge), per sample")
                .register(registry);
        rtt = Timer.builder("consultbridge.rtt")
                .serviceLevelObjectives(millis(10, 25, 50, 100, 200, 300, 500, 800, 1500, 3000))
                .description("round-trip time bridge-participant from RTCP, per participant per sample")
                .register(registry);
    }

    /** One event-loop lag measurement of a bridge worker, on that worker's loop (lock-free histogram). */
    void recordLoopLag(long nanos) {
        loopLag.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    private static Duration[] seconds(double... s) {
        Duration[] d = new Duration[s.length];
        for (int i = 0; i < s.length; i++) {
            d[i] = Duration.ofMillis((long) (s[i] * 1000));
        }
        return d;
    }

    private static Duration[] millis(long... ms) {
        Duration[] d = new Duration[ms.length];
        for (int i = 0; i < ms.length; i++) {
            d[i] = Duration.ofMillis(ms[i]);
        }
        return d;
    }

    private void snapCounter(String name, String unit, ToLongFunction<QualitySnapshot> f, String description) {
        ToDoubleFunction<OpsMetrics> read = m -> {
            QualitySnapshot s = m.monitor.snapshot();
            return s == null ? 0 : f.applyAsLong(s);
        };
        FunctionCounter.Builder<OpsMetrics> b = FunctionCounter.builder(name, this, read).description(description);
        if (unit != null) {
            b.baseUnit(unit);
        }
        b.register(registry);
    }

    private void statsCounter(String name, ToLongFunction<BridgeStats> f, String description) {
        FunctionCounter.builder(name, this, m -> {
            BridgeStats s = m.monitor.bridgeStats();
            return s == null ? 0 : f.applyAsLong(s);
        }).description(description).register(registry);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** The Prometheus text exposition (no bridge access: reads the last snapshot). */
    public String scrape() {
        return registry.scrape();
    }

    long bitrateIn() {
        return bitrateIn;
    }

    long bitrateOut() {
        return bitrateOut;
    }

    void onSnapshot(QualitySnapshot previous, QualitySnapshot now) {
        if (previous == null) {
            return;
        }
        long nanos = now.takenAtNanos() - previous.takenAtNanos();
        if (nanos <= 0) {
            return;
        }
        bitrateIn = Math.max(0, (now.rtpBytesReceived() - previous.rtpBytesReceived()) * 8L * 1_000_000_000L / nanos);
        bitrateOut = Math.max(0, (now.rtpBytesForwarded() - previous.rtpBytesForwarded()) * 8L * 1_000_000_000L
                / nanos);
    }

    void observe(QualitySnapshot.EndpointQuality q, double uplinkLossRatio) {
        if (q.estimatedDownlinkBps() >= 0) {
            estimate.record(q.estimatedDownlinkBps());
        }
        if (q.downlinkFractionLost() >= 0) {
            downlinkLoss.record(q.downlinkFractionLost());
        }
        if (uplinkLossRatio >= 0) {
            uplinkLoss.record(uplinkLossRatio);
        }
        double j = Math.max(q.downlinkJitterMillis(), q.uplinkJitterMillis());
        if (j >= 0) {
            jitter.record(Duration.ofNanos((long) (j * 1_000_000)));
        }
        if (q.rttMillis() >= 0) {
            rtt.record(Duration.ofMillis(q.rttMillis()));
        }
    }

    void verdicts(int[] counts) {
        System.arraycopy(counts, 0, verdicts, 0, verdicts.length);
    }

    void joined(Duration d) {
        join.record(d);
    }

    void clientStats(String result) {
        clientStats(result, 1);
    }

    private void clientStats(String result, int n) {
        clientStatsCounters.computeIfAbsent(result, r -> Counter.builder("consultbridge.client.stats")
                .tag("result", r).description("clientStats messages by outcome (accepted, clamped, rejected, "
                        + "too-frequent)").register(registry)).increment(n);
    }

    void clientFreezes(long n) {
        clientFreezes.increment(n);
    }

    void clientFps(double fps) {
        clientFps.record(fps);
    }

    void clientConcealment(double ratio) {
        clientConcealment.record(ratio);
    }

    void clientFirstFrame(Duration d) {
        clientFirstFrame.record(d);
    }

    void turnProbe(TurnProbe.Health h) {
        turn = h;
        if (!h.ok()) {
            turnFailures.increment();
        }
    }

    void summaryWritten(boolean ok) {
        (ok ? summariesWritten : summariesFailed).increment();
    }

    void summariesDeleted(int n) {
        summariesDeleted.increment(n);
    }

    public void joinRefused() {
        joinsRefused.increment();
    }

    /** Count of one clientStats outcome (tests). */
    public double clientStatsCount(String result) {
        Counter c = clientStatsCounters.get(result);
        return c == null ? 0 : c.count();
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
