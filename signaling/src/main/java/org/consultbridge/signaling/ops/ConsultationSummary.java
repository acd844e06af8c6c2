package org.consultbridge.signaling.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.consultbridge.signaling.ops.FigureSeries.Worse;

/**
 * The quality summary of one consultation while it runs: per participant the samples of its figures (for median
 * and worst), the time spent in each verdict, and the consultation's events and verdict changes. Metadata only:
 * participants appear by role and label (display names only when configured), the consultation by a pseudonym
 * (its id only when configured). Sampler thread only (see {@link SummaryRecorder}).
 */
final class ConsultationSummary {

    /** One participant's figures in one sample; -1 (or negative) = unknown. */
    record ParticipantSample(String participantId, String role, String label, String name, boolean onBridge,
                             Verdict verdict, double bitrateInBps, double bitrateOutBps, double uplinkLoss,
                             double downlinkLoss, double rttMs, double jitterMs, double estimateBps, double layer,
                             double fps, double concealment, long freezeCount, long freezeMs) {
    }

    private record Event(Instant at, String participant, String kind, String detail) {
    }

    private record VerdictChange(Instant at, String participant, Verdict.Level level, String reason) {
    }

    /** Figure names in the JSON, in order, and which end of each is bad. */
    private static final String[] FIGURES = {"bitrateInBps", "bitrateOutBps", "uplinkLoss", "downlinkLoss", "rttMs",
        "jitterMs", "estimateBps", "layer", "fps", "concealment"};
    private static final Worse[] WORSE = {Worse.LOWER, Worse.LOWER, Worse.HIGHER, Worse.HIGHER, Worse.HIGHER,
        Worse.HIGHER, Worse.LOWER, Worse.LOWER, Worse.LOWER, Worse.HIGHER};

    private final class ParticipantRecord {
        final String label;
        final String role;
        String name;
        final Instant firstSeen;
        Instant lastSeen;
        final long[] millisByVerdict = new long[Verdict.Level.values().length];
        Verdict.Level worst = Verdict.Level.GOOD;
        String worstReason = "";
        final FigureSeries[] series = new FigureSeries[FIGURES.length];
        long freezes;
        long freezeMs;
        long lastFreezeCount = -1;
        long lastFreezeMs = -1;

        ParticipantRecord(String label, String role, Instant at) {
            this.label = label;
            this.role = role;
            this.firstSeen = at;
            this.lastSeen = at;
            for (int i = 0; i < series.length; i++) {
                series[i] = new FigureSeries(WORSE[i]);
            }
        }
    }

    final String id;
    final String consultationId;
    final Instant startedAt;
    private Instant lastPresentAt;
    private final Map<String, ParticipantRecord> participants = new LinkedHashMap<>();
    private final List<Event> events = new ArrayList<>();
    private final List<VerdictChange> verdicts = new ArrayList<>();
    private final Map<String, Integer> eventCounts = new TreeMap<>();
    private int eventsLeftOut;
    private final int maxEvents;
    Instant lastWrittenAt;

    ConsultationSummary(String id, String consultationId, Instant startedAt, int maxEvents) {
        this.id = id;
        this.consultationId = consultationId;
        this.startedAt = startedAt;
        this.lastPresentAt = startedAt;
        this.lastWrittenAt = startedAt;
        this.maxEvents = maxEvents;
    }

    Instant lastPresentAt() {
        return lastPresentAt;
    }

    void present(Instant at) {
        lastPresentAt = at;
    }

    /** One sample of one participant, covering {@code sampleMillis} of call time. */
    void sample(ParticipantSample s, Instant at, long sampleMillis) {
        ParticipantRecord r = participants.computeIfAbsent(s.participantId(),
                k -> new ParticipantRecord(s.label(), s.role(), at));
        r.lastSeen = at;
        if (s.name() != null) {
            r.name = s.name();
        }
        lastPresentAt = at;
        if (!s.onBridge()) {
            return; // signalled but without media on the bridge: nothing to judge
        }
        Verdict v = s.verdict();
        r.millisByVerdict[v.level().ordinal()] += sampleMillis;
        if (v.level().compareTo(r.worst) > 0) {
            r.worst = v.level();
            r.worstReason = v.reason();
        }
        double[] values = {s.bitrateInBps(), s.bitrateOutBps(), s.uplinkLoss(), s.downlinkLoss(), s.rttMs(),
            s.jitterMs(), s.estimateBps(), s.layer(), s.fps(), s.concealment()};
        for (int i = 0; i < values.length; i++) {
            r.series[i].add(values[i]);
        }
        // the client's freeze counters are cumulative per connection: a smaller value is a new connection
        if (s.freezeCount() >= 0) {
            r.freezes += r.lastFreezeCount < 0 ? s.freezeCount()
                    : s.freezeCount() >= r.lastFreezeCount ? s.freezeCount() - r.lastFreezeCount : s.freezeCount();
            r.lastFreezeCount = s.freezeCount();
        }
        if (s.freezeMs() >= 0) {
            r.freezeMs += r.lastFreezeMs < 0 ? s.freezeMs()
                    : s.freezeMs() >= r.lastFreezeMs ? s.freezeMs() - r.lastFreezeMs : s.freezeMs();
            r.lastFreezeMs = s.freezeMs();
        }
    }

    void event(Instant at, String participantLabel, String kind, String detail) {
        eventCounts.merge(kind, 1, Integer::sum);
        if (events.size() + verdicts.size() >= maxEvents) {
            eventsLeftOut++;
            return;
        }
        events.add(new Event(at, participantLabel, kind, detail));
    }

    void verdictChanged(Instant at, String participantLabel, Verdict verdict) {
        if (events.size() + verdicts.size() >= maxEvents) {
            eventsLeftOut++;
            return;
        }
        verdicts.add(new VerdictChange(at, participantLabel, verdict.level(), verdict.reason()));
    }

    /** The worst verdict any participant had. */
    Verdict.Level worstVerdict() {
        Verdict.Level w = Verdict.Level.GOOD;
        for (ParticipantRecord r : participants.values()) {
            if (r.worst.compareTo(w) > 0) {
                w = r.worst;
            }
        }
        return w;
    }

    /**
     * The summary as stored.
     *
     * @param pseudonym       the consultation's pseudonym
     * @param keepId          include the clinic's consultation id
     * @param endedAt         when it ended, or (incomplete) when this checkpoint was taken
     * @param complete        false for a checkpoint of a running consultation or one cut by a shutdown
     * @param endReason       why it ended: "ended" (everyone left), "running" (checkpoint), "server-stopped"
     */
    ObjectNode toJson(ObjectMapper json, String pseudonym, boolean keepId, Instant endedAt, boolean complete,
                      String endReason) {
        ObjectNode n = json.createObjectNode();
        n.put("id", id);
        n.put("consultation", pseudonym);
        if (keepId) {
            n.put("consultationId", consultationId);
        }
        n.put("startedAt", startedAt.toString());
        n.put("endedAt", endedAt.toString());
        n.put("durationSeconds", Math.max(0, Duration.between(startedAt, endedAt).toSeconds()));
        n.put("complete", complete);
        n.put("end", endReason);
        n.put("worstVerdict", worstVerdict().wire());
        long notGood = 0;
        long all = 0;
        for (ParticipantRecord r : participants.values()) {
            for (int i = 0; i < r.millisByVerdict.length; i++) {
                all += r.millisByVerdict[i];
                notGood += i == Verdict.Level.GOOD.ordinal() ? 0 : r.millisByVerdict[i];
            }
        }
        n.put("notGoodShare", all == 0 ? 0 : round4((double) notGood / all));
        ArrayNode ps = n.putArray("participants");
        for (ParticipantRecord r : participants.values()) {
            ObjectNode p = ps.addObject();
            p.put("label", r.label);
            p.put("role", r.role);
            if (r.name != null) {
                p.put("name", r.name);
            }
            p.put("firstSeenAt", r.firstSeen.toString());
            p.put("lastSeenAt", r.lastSeen.toString());
            p.put("worstVerdict", r.worst.wire());
            p.put("worstReason", r.worstReason);
            ObjectNode seconds = p.putObject("verdictSeconds");
            for (Verdict.Level l : Verdict.Level.values()) {
                seconds.put(l.wire(), Math.round(r.millisByVerdict[l.ordinal()] / 1000.0));
            }
            ObjectNode f = p.putObject("figures");
            for (int i = 0; i < FIGURES.length; i++) {
                FigureSeries s = r.series[i];
                if (s.count() == 0) {
                    continue;
                }
                ObjectNode o = f.putObject(FIGURES[i]);
                boolean fraction = FIGURES[i].endsWith("Loss") || FIGURES[i].equals("concealment");
                o.put("median", fraction ? round4(s.median()) : round1(s.median()));
                o.put("worst", fraction ? round4(s.worst()) : round1(s.worst()));
                o.put("samples", s.count());
            }
            p.put("freezes", r.freezes);
            p.put("freezeSeconds", round1(r.freezeMs / 1000.0));
        }
        ArrayNode vs = n.putArray("verdicts");
        for (VerdictChange v : verdicts) {
            ObjectNode o = vs.addObject();
            o.put("at", v.at().toString());
            o.put("participant", v.participant());
            o.put("verdict", v.level().wire());
            o.put("reason", v.reason());
        }
        ArrayNode es = n.putArray("events");
        for (Event e : events) {
            ObjectNode o = es.addObject();
            o.put("at", e.at().toString());
            if (e.participant() != null) {
                o.put("participant", e.participant());
            }
            o.put("kind", e.kind());
            o.put("detail", e.detail());
        }
        ObjectNode counts = n.putObject("eventCounts");
        eventCounts.forEach(counts::put);
        n.put("eventsLeftOut", eventsLeftOut);
        return n;
    }

    private static double round1(double d) {
        return Math.round(d * 10) / 10.0;
    }

    private static double round4(double d) {
        return Math.round(d * 10000) / 10000.0;
    }
}
