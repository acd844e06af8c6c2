package org.consultbridge.signaling.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.consultbridge.bridge.api.BridgeStats;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.api.QualitySnapshot;
import org.consultbridge.bridge.api.QualitySnapshot.EndpointQuality;
import org.consultbridge.bridge.api.ReceiveQuality;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.signaling.consultation.Consultation;
import org.consultbridge.signaling.consultation.ConsultationRegistry;
import org.consultbridge.signaling.consultation.Participant;
import org.consultbridge.signaling.turn.TurnProbe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ops view of the server: every {@code sample-interval} (one platform thread, "ops-sampler") it takes the
 * bridge's {@link QualitySnapshot} and counters (the bridge's event loop answers one short query; nothing here ever
 * runs on it), updates the metrics, each participant's figures, history and verdict, derives events (joins, leaves,
 * reconnects, layer switches, audio-only fallback, transport failures) and pushes the dashboard state to live
 * listeners (Server-Sent Events). Also holds the latest {@code clientStats} per participant and the drain switch,
 * and follows each consultation into a quality summary kept after it ends ({@link SummaryRecorder},
 * {@link SummaryStore}; a daily retention sweep on the "ops-summaries" thread).
 *
 * <p>Events the bridge cannot see (a client's reconnect, an ICE restart) are reported by the signalling through
 * {@link #reconnected} and {@link #iceRestarted}; they reach the event list and the summary with the next sample.
 *
 * <p>Nothing identifying leaves this class unless {@code show-names} is on: consultations and participants are
 * shown by role and a label derived from their ids with a per-process random key (HMAC), which changes on restart.
 */
public final class OpsMonitor implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OpsMonitor.class);
    static final int MAX_EVENTS = 500;
    /** A participant that rejoins its consultation this soon after leaving has reconnected (not a new join). */
    static final long RECONNECT_WINDOW_NANOS = 30_000_000_000L;
    /** Fewer packets than this in the verdict window tell nothing about loss (one lost would be over 1 %). */
    static final int MIN_PACKETS_FOR_LOSS = 100;

    private final ConsultationRegistry registry;
    private final MediaBridge bridge;
    private final OpsSettings settings;
    private final ObjectMapper json;
    private final TurnProbe turnProbe;
    private final OpsMetrics metrics;
    private final byte[] labelKey = new byte[32];
    private final int historySize;
    private final ScheduledExecutorService sampler;
    private final Clock clock = Clock.systemUTC();
    private final SummaryStore summaryStore;
    private final SummaryRecorder summaries;
    private final ScheduledExecutorService housekeeping;
    private final int verdictWindowSamples;

    // written by the sampler thread, read by HTTP threads and the metrics scrape
    private volatile QualitySnapshot snapshot;
    private volatile BridgeStats bridgeStats;
    private volatile long snapshotReceivedNanos;
    private volatile ObjectNode state;
    private volatile String snapshotError;

    /** Sampler thread only. */
    private final Map<Participant, View> views = new IdentityHashMap<>();
    private final Map<Participant, ClientEntry> clientStats = new ConcurrentHashMap<>();
    private final ArrayDeque<ObjectNode> events = new ArrayDeque<>();
    private final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();
    private TurnProbe.Health lastTurn;
    /** Events reported by the signalling (any thread), taken by the sampler. */
    private final ConcurrentLinkedQueue<ReportedEvent> reported = new ConcurrentLinkedQueue<>();
    /** Sampler thread only: consultation + participant id -> when it left, or when a reconnect was last recorded. */
    private final Map<String, Long> recentlyLeft = new HashMap<>();
    private final Map<String, Long> reconnectRecorded = new HashMap<>();

    /** Events only the signalling sees (the bridge cannot tell them from a new participant or a new transport). */
    public enum ReportedKind {
        /** the participant's client came back on a new connection (signalling, transports) within its session */
        RECONNECTED("reconnected"),
        /** an ICE restart (RFC 8445 §9) of one of its transports */
        ICE_RESTART("ice-restart");

        private final String wire;

        ReportedKind(String wire) {
            this.wire = wire;
        }

        public String wire() {
            return wire;
        }
    }

    private record ReportedEvent(String consultationId, Participant participant, ReportedKind kind, String detail,
                                 Instant at) {
    }

    public OpsMonitor(ConsultationRegistry registry, MediaBridge bridge, OpsSettings settings, ObjectMapper json,
                      TurnProbe turnProbe) {
        this.registry = registry;
        this.bridge = bridge;
        this.settings = settings;
        this.json = json;
        this.turnProbe = turnProbe;
        new SecureRandom().nextBytes(labelKey);
        this.historySize = (int) Math.max(10, settings.history().toMillis() / settings.sampleInterval().toMillis());
        this.metrics = new OpsMetrics(this, registry, turnProbe != null);
        if (bridge != null) {
            bridge.loopLagRecorder(metrics::recordLoopLag);
        }
        this.state = json.createObjectNode();
        this.verdictWindowSamples = (int) Math.max(1,
                settings.verdictWindow().toMillis() / settings.sampleInterval().toMillis());
        OpsSettings.Summaries sum = settings.summaries();
        if (sum.enabled()) {
            this.summaryStore = new SummaryStore(sum.dir(), sum.retention(), clock, json);
            this.summaries = new SummaryRecorder(summaryStore, sum, json, clock, metrics::summaryWritten);
            this.housekeeping = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "ops-summaries");
                t.setDaemon(true);
                return t;
            });
            // retention: a sweep at start, then daily
            housekeeping.scheduleAtFixedRate(this::sweepSafely, 0, 1, TimeUnit.DAYS);
        } else {
            this.summaryStore = null;
            this.summaries = null;
            this.housekeeping = null;
        }
        this.sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ops-sampler");
            t.setDaemon(true);
            return t;
        });
        sampler.scheduleWithFixedDelay(this::sampleSafely, 0, settings.sampleInterval().toMillis(),
                TimeUnit.MILLISECONDS);
    }

    public OpsSettings settings() {
        return settings;
    }

    public OpsMetrics metrics() {
        return metrics;
    }

    QualitySnapshot snapshot() {
        return snapshot;
    }

    /** The quality summaries of past consultations, unless switched off. */
    public Optional<SummaryStore> summaries() {
        return Optional.ofNullable(summaryStore);
    }

    /** The pseudonym of a consultation id in summaries (for looking them up by the clinic's id). */
    String summaryPseudonym(String consultationId) {
        return summaries.pseudonym(consultationId);
    }

    private void sweepSafely() {
        try {
            metrics.summariesDeleted(summaryStore.sweep());
        } catch (IOException | RuntimeException e) {
            LOG.warn("sweeping consultation summaries in {} failed: {}", summaryStore.dir(), e.toString());
        }
    }

    // ---------------------------------------------------------------- events the signalling reports

    /**
     * Hook for the signalling: {@code participant} of {@code consultationId} reconnected (its client resumed the
     * session on a new connection). Any thread; recorded with the next sample in the event list and the summary.
     * A rejoin within 30 s of leaving is recognised as a reconnect without this call; reporting it as well is
     * harmless (one event per participant per 10 s).
     */
    public void reconnected(String consultationId, Participant participant, String detail) {
        reported.add(new ReportedEvent(consultationId, participant, ReportedKind.RECONNECTED, detail, clock.instant()));
    }

    /**
     * Hook for the signalling: an ICE restart of one of {@code participant}'s transports ({@code detail}: e.g.
     * "publish" or "subscribe", and why). Any thread; recorded with the next sample.
     */
    public void iceRestarted(String consultationId, Participant participant, String detail) {
        reported.add(new ReportedEvent(consultationId, participant, ReportedKind.ICE_RESTART, detail, clock.instant()));
    }

    BridgeStats bridgeStats() {
        return bridgeStats;
    }

    // ---------------------------------------------------------------- drain and readiness

    public boolean draining() {
        return registry.draining();
    }

    public void setDraining(boolean on) {
        if (registry.draining() != on) {
            registry.setDraining(on);
            LOG.info(on ? "draining: new consultations are refused on this node, running ones continue"
                    : "drain ended: new consultations are accepted again");
            event(null, on ? "drain-started" : "drain-ended", "");
        }
    }

    /** Why this node is not ready for new consultations; empty when it is. */
    public List<String> notReadyReasons() {
        List<String> reasons = new ArrayList<>();
        if (draining()) {
            reasons.add("draining");
        }
        QualitySnapshot s = snapshot;
        if (s == null) {
            reasons.add(snapshotError == null ? "bridge not sampled yet" : "bridge: " + snapshotError);
        } else {
            if (!s.bound()) {
                reasons.add("bridge UDP port not bound");
            }
            long staleAfter = settings.sampleInterval().toNanos() * 3 + 5_000_000_000L;
            if (System.nanoTime() - snapshotReceivedNanos > staleAfter) {
                reasons.add("bridge did not answer recently" + (snapshotError == null ? "" : ": " + snapshotError));
            }
        }
        return reasons;
    }

    // ---------------------------------------------------------------- client stats

    /** Latest client report of one participant, and when it was accepted. */
    record ClientEntry(ClientStats stats, long acceptedNanos) {
    }

    /**
     * A {@code clientStats} message of {@code p}: validated, rate-limited, counted; the latest is kept in memory.
     *
     * @return null when accepted (possibly clamped), else {error code, message}
     */
    public String[] clientStats(Participant p, JsonNode msg) {
        long now = System.nanoTime();
        ClientEntry last = clientStats.get(p);
        if (last != null && now - last.acceptedNanos() < settings.clientStatsMinInterval().toNanos()) {
            metrics.clientStats("too-frequent");
            return new String[] {"stats-too-frequent", "at most one clientStats per "
                    + settings.clientStatsMinInterval().toMillis() + " ms"};
        }
        ClientStats.Validation v = ClientStats.validate(msg);
        if (!v.accepted()) {
            metrics.clientStats("rejected");
            return new String[] {"stats-invalid", v.error()};
        }
        ClientStats s = v.stats();
        metrics.clientStats(v.clamped().isEmpty() ? "accepted" : "clamped");
        long freezesBefore = last == null ? 0 : Math.max(0, last.stats().freezeCount());
        if (s.freezeCount() > freezesBefore) {
            metrics.clientFreezes(s.freezeCount() - freezesBefore);
        }
        if (s.fps() >= 0) {
            metrics.clientFps(s.fps());
        }
        if (s.concealment() >= 0) {
            metrics.clientConcealment(s.concealment());
        }
        if (s.firstFrameMs() >= 0 && (last == null || last.stats().firstFrameMs() < 0)) {
            metrics.clientFirstFrame(Duration.ofMillis(s.firstFrameMs()));
        }
        clientStats.put(p, new ClientEntry(s, now));
        return null;
    }

    /** Latest accepted client stats of every participant now in a consultation (metrics, tests). */
    public Map<String, ClientStats> latestClientStats() {
        Map<String, ClientStats> out = new HashMap<>();
        clientStats.forEach((p, e) -> out.put(p.id(), e.stats()));
        return out;
    }

    Map<Participant, ClientEntry> clientEntries() {
        return clientStats;
    }

    // ---------------------------------------------------------------- the dashboard's state

    /** The whole dashboard state (consultations, participants with figures and history, recent events). */
    public ObjectNode state() {
        return state;
    }

    /** Recent events, newest last, at most {@code limit}. */
    public ArrayNode events(int limit) {
        ArrayNode out = json.createArrayNode();
        synchronized (events) {
            int skip = Math.max(0, events.size() - limit);
            for (ObjectNode e : events) {
                if (skip-- <= 0) {
                    out.add(e);
                }
            }
        }
        return out;
    }

    /** Live updates: {@code listener} gets the state JSON after every sample until removed. */
    public void addListener(Consumer<String> listener) {
        listeners.add(listener);
    }

    public void removeListener(Consumer<String> listener) {
        listeners.remove(listener);
    }

    /** A short non-identifying key: HMAC-SHA256 with the per-process key, 8 hex digits. */
    String key(String... parts) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(labelKey, "HmacSHA256"));
            byte[] h = mac.doFinal(String.join("\u0000", parts).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 4);
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- sampling (sampler thread)

    /** One participant as the dashboard follows it. Sampler thread only. */
    private final class View {
        final Participant participant;
        final String consultationId;
        final String consultationKey;
        final String key;
        final String label;
        final long[] at = new long[historySize];
        final double[] bitrateIn = new double[historySize];
        final double[] bitrateOut = new double[historySize];
        final double[] loss = new double[historySize];
        final double[] rtt = new double[historySize];
        final double[] layer = new double[historySize];
        int head;
        int size;
        long lastExpected = -1;
        long lastLost;
        double uplinkLoss = -1;
        TransportState publishState;
        TransportState subscribeState;
        boolean joinRecorded;
        long freezesSeen = -1;
        final Map<String, Integer> layerBySource = new HashMap<>();
        final Map<String, Boolean> suspendedBySource = new HashMap<>();
        Verdict verdict = new Verdict(Verdict.Level.GOOD, List.of());
        EndpointQuality quality;
        /** The last verdict-window of samples: {uplink expected, uplink lost, downlink loss}. */
        final ArrayDeque<double[]> window = new ArrayDeque<>();
        double windowUplinkLoss = -1;
        double windowDownlinkLoss = -1;
        int shownLayer = -1;

        View(Participant p, String cid) {
            this.participant = p;
            this.consultationId = cid;
            this.consultationKey = key(cid);
            this.key = key(cid, p.id());
            this.label = p.role().wire() + "-" + key.substring(0, 4);
        }

        void push(long nowMillis, double in, double out, double lossValue, double rttValue, double layerValue) {
            at[head] = nowMillis;
            bitrateIn[head] = in;
            bitrateOut[head] = out;
            loss[head] = lossValue;
            rtt[head] = rttValue;
            layer[head] = layerValue;
            head = (head + 1) % historySize;
            size = Math.min(size + 1, historySize);
        }
    }

    private void sampleSafely() {
        try {
            sample();
        } catch (RuntimeException | Error e) {
            snapshotError = e.toString();
            LOG.warn("ops sample failed", e);
        }
    }

    private void sample() {
        for (ReportedEvent r; (r = reported.poll()) != null; ) {
            String label = r.participant().role().wire() + "-" + key(r.consultationId(), r.participant().id())
                    .substring(0, 4);
            if (r.kind() == ReportedKind.RECONNECTED) {
                reconnectEvent(r.consultationId(), r.participant().id(), label, r.detail());
            } else {
                event(r.consultationId(), key(r.consultationId()), label, r.kind().wire(), r.detail());
            }
        }
        QualitySnapshot q;
        BridgeStats stats;
        try {
            q = bridge.qualitySnapshot();
            stats = bridge.stats();
        } catch (RuntimeException e) {
            snapshotError = e.getMessage();
            LOG.debug("bridge snapshot failed: {}", e.toString());
            publish(); // readiness and listeners still learn about it
            return;
        }
        QualitySnapshot previous = snapshot;
        metrics.onSnapshot(previous, q);
        snapshot = q;
        bridgeStats = stats;
        snapshotReceivedNanos = System.nanoTime();
        snapshotError = null;
        sampleTurn();

        Map<String, EndpointQuality> byEndpoint = new HashMap<>();
        for (EndpointQuality e : q.endpoints()) {
            byEndpoint.put(e.conferenceId() + "\u0000" + e.endpointId(), e);
        }
        // joins, leaves, reconnects
        Map<Participant, String> present = new IdentityHashMap<>();
        for (Consultation c : registry.consultations()) {
            for (Participant p : c.participants()) {
                present.put(p, c.id());
            }
        }
        Map<String, View> goneByIds = new HashMap<>();
        for (var it = views.entrySet().iterator(); it.hasNext(); ) {
            View v = it.next().getValue();
            if (!present.containsKey(v.participant)) {
                it.remove();
                clientStats.remove(v.participant);
                goneByIds.put(v.consultationId + "\u0000" + v.participant.id(), v);
            }
        }
        long nowNanos = System.nanoTime();
        recentlyLeft.values().removeIf(t -> nowNanos - t > RECONNECT_WINDOW_NANOS);
        reconnectRecorded.values().removeIf(t -> nowNanos - t > 10_000_000_000L);
        for (Map.Entry<Participant, String> e : present.entrySet()) {
            if (!views.containsKey(e.getKey())) {
                View v = new View(e.getKey(), e.getValue());
                views.put(e.getKey(), v);
                String ids = e.getValue() + "\u0000" + e.getKey().id();
                View old = goneByIds.remove(ids);
                if (old != null || recentlyLeft.remove(ids) != null) {
                    v.joinRecorded = true; // a reconnect is not a join (nor a sample of the join time)
                    reconnectEvent(v.consultationId, e.getKey().id(), v.label, e.getKey().role().wire());
                } else {
                    event(v, "joined", e.getKey().role().wire());
                }
            }
        }
        for (Map.Entry<String, View> gone : goneByIds.entrySet()) {
            recentlyLeft.put(gone.getKey(), nowNanos);
            event(gone.getValue(), "left", "");
        }
        int[] byVerdict = new int[Verdict.Level.values().length];
        long nowMillis = System.currentTimeMillis();
        for (View v : views.values()) {
            EndpointQuality eq = byEndpoint.get(v.consultationId + "\u0000" + v.participant.id());
            update(v, eq, nowMillis);
            byVerdict[v.verdict.level().ordinal()]++;
        }
        metrics.verdicts(byVerdict);
        if (summaries != null) {
            record(new HashSet<>(present.values()));
        }
        publish();
    }

    /** Hands this sample to the summaries (sampler thread). */
    private void record(Set<String> presentConsultations) {
        long sampleMillis = settings.sampleInterval().toMillis();
        for (View v : views.values()) {
            EndpointQuality q = v.quality;
            ClientEntry ce = clientStats.get(v.participant);
            ClientStats cs = ce == null ? null : ce.stats();
            boolean publishing = q != null && q.publishState() == TransportState.CONNECTED;
            boolean receiving = q != null && q.subscribeState() == TransportState.CONNECTED;
            summaries.sample(v.consultationId, new ConsultationSummary.ParticipantSample(v.participant.id(),
                    v.participant.role().wire(), v.label, v.participant.displayName(), q != null, v.verdict,
                    publishing ? q.publishBitrateBps() : -1, receiving ? q.receiveBitrateBps() : -1,
                    v.windowUplinkLoss, v.windowDownlinkLoss, q == null ? -1 : q.rttMillis(),
                    q == null ? -1 : Math.max(q.downlinkJitterMillis(), q.uplinkJitterMillis()),
                    q == null ? -1 : q.estimatedDownlinkBps(), receiving ? v.shownLayer : -1,
                    cs == null ? -1 : cs.fps(), cs == null ? -1 : cs.concealment(),
                    cs == null ? -1 : cs.freezeCount(), cs == null ? -1 : cs.freezeMs()), sampleMillis);
        }
        summaries.tick(presentConsultations);
    }

    /** A reconnect, recorded once per participant per 10 s (the signalling may report one the sampler also saw). */
    private void reconnectEvent(String consultationId, String participantId, String label, String detail) {
        if (reconnectRecorded.put(consultationId + "\u0000" + participantId, System.nanoTime()) != null) {
            return;
        }
        event(consultationId, key(consultationId), label, ReportedKind.RECONNECTED.wire(), detail);
    }

    private void sampleTurn() {
        if (turnProbe == null) {
            return;
        }
        TurnProbe.Health h = turnProbe.last();
        if (h != null && h.checkedAt() != null && (lastTurn == null || !h.checkedAt().equals(lastTurn.checkedAt()))) {
            metrics.turnProbe(h);
        }
        lastTurn = h;
    }

    private void update(View v, EndpointQuality q, long nowMillis) {
        v.quality = q;
        if (q == null) {
            return; // registered in signalling but not (yet, or any more) on the bridge
        }
        if (!v.joinRecorded && q.publishConnectedAtNanos() != 0) {
            v.joinRecorded = true;
            long nanos = q.publishConnectedAtNanos() - v.participant.joinStartNanos();
            if (nanos > 0) {
                metrics.joined(Duration.ofNanos(nanos));
            }
        }
        // uplink loss over the last interval, from cumulative counters
        if (v.lastExpected >= 0 && q.uplinkPacketsExpected() > v.lastExpected) {
            long expected = q.uplinkPacketsExpected() - v.lastExpected;
            long lost = Math.max(0, q.uplinkPacketsLost() - v.lastLost);
            v.uplinkLoss = Math.min(1.0, (double) lost / expected);
        }
        v.lastExpected = q.uplinkPacketsExpected();
        v.lastLost = q.uplinkPacketsLost();
        // the verdict's loss figures: over the verdict window, not one sample (too few packets to tell 2 % from 0)
        v.window.addLast(new double[] {q.uplinkPacketsExpected(), q.uplinkPacketsLost(), q.downlinkFractionLost()});
        while (v.window.size() > verdictWindowSamples + 1) {
            v.window.removeFirst();
        }
        double[] first = v.window.peekFirst();
        double expectedInWindow = q.uplinkPacketsExpected() - first[0];
        v.windowUplinkLoss = expectedInWindow >= MIN_PACKETS_FOR_LOSS
                ? Math.min(1.0, Math.max(0, q.uplinkPacketsLost() - first[1]) / expectedInWindow) : -1;
        double downSum = 0;
        int downCount = 0;
        for (double[] w : v.window) {
            if (w[2] >= 0) {
                downSum += w[2];
                downCount++;
            }
        }
        v.windowDownlinkLoss = downCount == 0 ? -1 : downSum / downCount;

        transportEvent(v, "publish", v.publishState, q.publishState());
        transportEvent(v, "subscribe", v.subscribeState, q.subscribeState());
        v.publishState = q.publishState();
        v.subscribeState = q.subscribeState();

        int suspended = 0;
        int shownLayer = -1;
        for (ReceiveQuality.ReceivedVideo video : q.videos()) {
            String from = views.values().stream()
                    .filter(o -> o.consultationId.equals(v.consultationId) && o.participant.id().equals(video.sourceEndpointId()))
                    .map(o -> o.label).findFirst().orElse("?");
            Integer before = v.layerBySource.put(video.sourceEndpointId(), video.layer());
            if (before != null && before >= 0 && video.layer() >= 0 && before != video.layer()) {
                event(v, "layer-switch", "video of " + from + ": layer " + before + " -> " + video.layer());
            }
            Boolean wasSuspended = v.suspendedBySource.put(video.sourceEndpointId(), video.suspended());
            if (video.suspended() && !Boolean.TRUE.equals(wasSuspended)) {
                event(v, "audio-only", "video of " + from + " suspended: downlink too weak");
            } else if (!video.suspended() && Boolean.TRUE.equals(wasSuspended)) {
                event(v, "video-resumed", "video of " + from);
            }
            if (video.suspended()) {
                suspended++;
            }
            shownLayer = Math.max(shownLayer, video.layer());
        }
        v.shownLayer = shownLayer;
        metrics.observe(q, v.uplinkLoss);

        ClientEntry ce = clientStats.get(v.participant);
        ClientStats cs = ce != null && System.nanoTime() - ce.acceptedNanos() < 15_000_000_000L ? ce.stats() : null;
        long newFreezes = 0;
        if (cs != null) {
            newFreezes = v.freezesSeen < 0 ? 0 : Math.max(0, cs.freezeCount() - v.freezesSeen);
            v.freezesSeen = cs.freezeCount();
        }
        Verdict.Figures f = new Verdict.Figures(q.publishState(), q.subscribeState(), v.windowDownlinkLoss,
                v.windowUplinkLoss, q.rttMillis(), Math.max(q.downlinkJitterMillis(), q.uplinkJitterMillis()),
                q.estimatedDownlinkBps(), suspended, !q.videos().isEmpty() && suspended < q.videos().size(),
                cs == null ? -1 : cs.fps(), cs == null ? -1 : cs.concealment(), newFreezes);
        Verdict verdict = Verdict.judge(f, settings.thresholds());
        if (verdict.level() != v.verdict.level()) {
            event(v, "verdict", v.verdict.level().wire() + " -> " + verdict.level().wire()
                    + (verdict.reasons().isEmpty() ? "" : " (" + verdict.reason() + ")"));
            if (summaries != null) {
                summaries.verdictChanged(v.consultationId, v.label, verdict);
            }
        }
        v.verdict = verdict;
        double loss = Math.max(q.downlinkFractionLost(), v.uplinkLoss);
        v.push(nowMillis, q.publishBitrateBps(), q.receiveBitrateBps(), loss, q.rttMillis(), shownLayer);
    }

    private void transportEvent(View v, String direction, TransportState before, TransportState now) {
        if (now == before || now == null) {
            return;
        }
        if (now == TransportState.FAILED) {
            event(v, "transport-failed", direction + " transport failed (ICE consent or DTLS)");
        } else if (now == TransportState.CONNECTED) {
            event(v, "transport-connected", direction + (before == TransportState.FAILED ? " reconnected" : ""));
        }
    }

    private void event(View v, String kind, String detail) {
        if (v == null) {
            event(null, null, null, kind, detail);
        } else {
            event(v.consultationId, v.consultationKey, v.label, kind, detail);
        }
    }

    /**
     * One event: into the live list (the consultation by its dashboard key) and, except verdict changes (which the
     * summary keeps on their own), into the consultation's summary.
     */
    private void event(String consultationId, String consultation, String participant, String kind, String detail) {
        if (consultationId != null && summaries != null && !kind.equals("verdict")) {
            summaries.event(consultationId, participant, kind, detail);
        }
        ObjectNode e = json.createObjectNode();
        e.put("at", Instant.now().toString());
        if (consultation != null) {
            e.put("consultation", consultation);
        }
        if (participant != null) {
            e.put("participant", participant);
        }
        e.put("kind", kind);
        e.put("detail", detail);
        synchronized (events) {
            events.add(e);
            while (events.size() > MAX_EVENTS) {
                events.poll();
            }
        }
    }

    /** Builds the state JSON and hands it to the live listeners. */
    private void publish() {
        ObjectNode s = json.createObjectNode();
        s.put("generatedAt", Instant.now().toString());
        s.put("draining", draining());
        List<String> notReady = notReadyReasons();
        s.put("ready", notReady.isEmpty());
        ArrayNode nr = s.putArray("notReady");
        notReady.forEach(nr::add);
        s.put("sampleIntervalMs", settings.sampleInterval().toMillis());
        BridgeStats bs = bridgeStats;
        ObjectNode totals = s.putObject("bridge");
        totals.put("bitrateInBps", metrics.bitrateIn());
        totals.put("bitrateOutBps", metrics.bitrateOut());
        if (bs != null) {
            totals.put("rtpPacketsReceived", bs.rtpPacketsReceived());
            totals.put("rtpPacketsForwarded", bs.rtpPacketsForwarded());
        }
        Map<String, ObjectNode> consultations = new java.util.LinkedHashMap<>();
        ArrayNode list = s.putArray("consultations");
        for (View v : views.values()) {
            ObjectNode c = consultations.computeIfAbsent(v.consultationId, id -> {
                ObjectNode n = list.addObject();
                n.put("key", v.consultationKey);
                if (settings.showNames()) {
                    n.put("id", id);
                }
                n.putArray("participants");
                return n;
            });
            ((ArrayNode) c.get("participants")).add(describe(v));
        }
        s.set("events", events(50));
        state = s;
        String text = s.toString();
        for (Consumer<String> l : listeners) {
            try {
                l.accept(text);
            } catch (RuntimeException e) {
                listeners.remove(l);
            }
        }
    }

    private ObjectNode describe(View v) {
        ObjectNode n = json.createObjectNode();
        n.put("key", v.key);
        n.put("label", v.label);
        n.put("role", v.participant.role().wire());
        if (settings.showNames()) {
            n.put("name", v.participant.displayName());
        }
        n.put("verdict", v.verdict.level().wire());
        n.put("reason", v.verdict.reason());
        ObjectNode f = n.putObject("figures");
        EndpointQuality q = v.quality;
        if (q != null) {
            f.put("publish", q.publishState().name().toLowerCase(java.util.Locale.ROOT));
            f.put("subscribe", q.subscribeState().name().toLowerCase(java.util.Locale.ROOT));
            f.put("bitrateInBps", q.publishBitrateBps());
            f.put("bitrateOutBps", q.receiveBitrateBps());
            f.put("downlinkLoss", round(v.windowDownlinkLoss));
            f.put("uplinkLoss", round(v.windowUplinkLoss));
            f.put("rttMs", q.rttMillis());
            f.put("jitterMs", round(Math.max(q.downlinkJitterMillis(), q.uplinkJitterMillis())));
            f.put("estimateBps", q.estimatedDownlinkBps());
            f.put("nacks", q.nacksReceived());
            f.put("rtx", q.retransmissionsSent());
            f.put("plis", q.keyframeRequestsReceived());
            ArrayNode videos = f.putArray("videos");
            for (ReceiveQuality.ReceivedVideo video : q.videos()) {
                ObjectNode o = videos.addObject();
                o.put("layer", video.layer());
                o.put("targetLayer", video.targetLayer());
                o.put("layers", video.layers());
                o.put("suspended", video.suspended());
            }
        }
        ClientEntry ce = clientStats.get(v.participant);
        if (ce != null) {
            ClientStats cs = ce.stats();
            ObjectNode c = f.putObject("client");
            c.put("fps", round(cs.fps()));
            c.put("width", cs.width());
            c.put("height", cs.height());
            c.put("freezeCount", cs.freezeCount());
            c.put("concealment", round(cs.concealment()));
            c.put("rttMs", round(cs.rttMs()));
            c.put("candidateType", cs.candidateType());
            c.put("ageSeconds", (System.nanoTime() - ce.acceptedNanos()) / 1_000_000_000L);
        }
        ObjectNode h = n.putObject("history");
        ArrayNode t = h.putArray("t");
        ArrayNode in = h.putArray("bitrateIn");
        ArrayNode out = h.putArray("bitrateOut");
        ArrayNode loss = h.putArray("loss");
        ArrayNode rtt = h.putArray("rtt");
        ArrayNode layer = h.putArray("layer");
        for (int i = 0; i < v.size; i++) {
            int k = (v.head - v.size + i + historySize) % historySize;
            t.add(v.at[k]);
            in.add(v.bitrateIn[k]);
            out.add(v.bitrateOut[k]);
            loss.add(round(v.loss[k]));
            rtt.add(v.rtt[k]);
            layer.add(v.layer[k]);
        }
        return n;
    }

    private static double round(double d) {
        return d < 0 ? -1 : Math.round(d * 10000) / 10000.0;
    }

    @Override
    public void close() {
        sampler.shutdown();
        try {
            if (!sampler.awaitTermination(5, TimeUnit.SECONDS)) {
                sampler.shutdownNow();
            }
        } catch (InterruptedException e) {
            sampler.shutdownNow();
            Thread.currentThread().interrupt();
        }
        if (summaries != null) {
            summaries.flushAll(); // the sampler has stopped: this thread may touch the recorder now
            housekeeping.shutdownNow();
        }
        listeners.clear();
        metrics.close();
    }
}
