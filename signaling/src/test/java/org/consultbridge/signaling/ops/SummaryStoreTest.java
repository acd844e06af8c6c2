package org.consultbridge.signaling.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Consultation summaries (issue #5, after the fact): the summary's figures, the recorder's end of a consultation,
 * the store's files, queries, parameter validation and retention, with a clock the test moves.
 */
class SummaryStoreTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant T0 = Instant.parse("2025-03-10T09:00:00Z");
    private static final Verdict GOOD = new Verdict(Verdict.Level.GOOD, List.of());
    private static final Verdict DEGRADED = new Verdict(Verdict.Level.DEGRADED, List.of("uplink loss 2.1 %"));
    private static final UnaryOperator<String> NO_PSEUDONYM = c -> c;

    @TempDir
    Path dir;

    /** A clock the test sets. */
    static final class TestClock extends Clock {
        Instant now;

        TestClock(Instant now) {
            this.now = now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private static OpsSettings.Summaries settings(Path dir, String key, boolean keepId, boolean keepNames) {
        return new OpsSettings.Summaries(true, dir, Duration.ofDays(90), Duration.ofSeconds(60),
                Duration.ofMinutes(5), keepId, keepNames, key, 20);
    }

    private static ConsultationSummary.ParticipantSample sample(String id, String role, Verdict v, double loss,
                                                                 double rtt, double fps, long freezes, long freezeMs) {
        return new ConsultationSummary.ParticipantSample(id, role, role + "-ab12", "Erika Mustermann", true, v,
                800_000, 600_000, loss, 0.001, rtt, 12, 1_500_000, 2, fps, 0.01, freezes, freezeMs);
    }

    /** A written summary of a consultation that started at {@code start}. */
    private static String writeOne(SummaryStore store, Instant start, String pseudonym, Verdict.Level worst)
            throws Exception {
        ConsultationSummary s = new ConsultationSummary(store.newId(start), "c-x", start, 20);
        s.sample(sample("p1", "room", new Verdict(worst, List.of()), 0.01, 80, 25, 0, 0), start, 2000);
        store.write(s.toJson(JSON, pseudonym, false, start.plusSeconds(600), true, "ended"));
        return s.id;
    }

    @Test
    void theSummaryHasMediansWorstFiguresVerdictTimeAndEventsButNoName() {
        ConsultationSummary s = new ConsultationSummary("20250310T090000Z-00000001", "c-42", T0, 6);
        Instant t = T0;
        double[] losses = {0.0, 0.01, 0.03, 0.0, 0.02};
        long[] rtts = {40, 60, 500, 50, 45};
        double[] fps = {30, 29, 8, 30, 28};
        for (int i = 0; i < losses.length; i++) {
            t = t.plusSeconds(2);
            s.sample(sample("p1", "room", i == 2 ? DEGRADED : GOOD, losses[i], rtts[i], fps[i], i < 3 ? i : i - 3,
                    i < 3 ? 500L * i : 300), t, 2000);
        }
        s.event(t, "room-ab12", "joined", "room");
        s.verdictChanged(t, "room-ab12", DEGRADED);
        for (int i = 0; i < 10; i++) {
            s.event(t, "room-ab12", "layer-switch", "video of doctor-cd34: layer 2 -> 1");
        }
        JsonNode n = s.toJson(JSON, "0123456789abcdef", false, t, true, "ended");

        assertThat(n.path("consultation").asText()).isEqualTo("0123456789abcdef");
        assertThat(n.has("consultationId")).isFalse();
        assertThat(n.path("durationSeconds").asLong()).isEqualTo(10);
        assertThat(n.path("worstVerdict").asText()).isEqualTo("degraded");
        assertThat(n.path("notGoodShare").asDouble()).isEqualTo(0.2);
        JsonNode p = n.path("participants").get(0);
        assertThat(p.path("label").asText()).isEqualTo("room-ab12");
        assertThat(p.path("worstReason").asText()).isEqualTo("uplink loss 2.1 %");
        assertThat(p.path("verdictSeconds").path("good").asLong()).isEqualTo(8);
        assertThat(p.path("verdictSeconds").path("degraded").asLong()).isEqualTo(2);
        JsonNode f = p.path("figures");
        assertThat(f.path("uplinkLoss").path("median").asDouble()).isEqualTo(0.01);
        assertThat(f.path("uplinkLoss").path("worst").asDouble()).isEqualTo(0.03);
        assertThat(f.path("rttMs").path("median").asDouble()).isEqualTo(50);
        assertThat(f.path("rttMs").path("worst").asDouble()).isEqualTo(500);
        assertThat(f.path("fps").path("median").asDouble()).isEqualTo(29);
        assertThat(f.path("fps").path("worst").asDouble()).as("the lowest frame rate").isEqualTo(8);
        assertThat(f.path("fps").path("samples").asLong()).isEqualTo(5);
        // freezes 0,1,2 then a new connection counting 0,1 again: 2 + 1 = 3; durations 0,500,1000 then 300,300
        assertThat(p.path("freezes").asLong()).isEqualTo(3);
        assertThat(p.path("freezeSeconds").asDouble()).isEqualTo(1.3);
        // events: capped at 6 (with the verdict change), counts complete
        assertThat(n.path("events").size()).isEqualTo(5);
        assertThat(n.path("verdicts").size()).isEqualTo(1);
        assertThat(n.path("eventCounts").path("layer-switch").asInt()).isEqualTo(10);
        assertThat(n.path("eventsLeftOut").asInt()).isEqualTo(6);
        assertThat(n.toString()).doesNotContain("c-42", "p1"); // names: the recorder keeps them only if configured
    }

    @Test
    void aLongCallKeepsTheMedianInBoundedMemory() {
        FigureSeries s = new FigureSeries(FigureSeries.Worse.HIGHER);
        for (int i = 0; i < 100_000; i++) {
            s.add(i % 100);
        }
        s.add(-1);
        s.add(Double.NaN);
        assertThat(s.count()).isEqualTo(100_000);
        assertThat(s.worst()).isEqualTo(99);
        assertThat(s.median()).isBetween(45.0, 55.0);
    }

    @Test
    void theRecorderWritesAConsultationWhenNobodyHasBeenInItForEndAfterAndARejoinContinuesIt() throws Exception {
        TestClock clock = new TestClock(T0);
        SummaryStore store = new SummaryStore(dir, Duration.ofDays(90), clock, JSON);
        List<Boolean> writes = new ArrayList<>();
        SummaryRecorder r = new SummaryRecorder(store, settings(dir, "pseudonym-key-0123456789", false, false), JSON,
                clock, writes::add);
        String pseudonym = r.pseudonym("c-42");
        assertThat(pseudonym).matches("[0-9a-f]{16}").isNotEqualTo(r.pseudonym("c-43"));
        assertThat(new SummaryRecorder(store, settings(dir, "pseudonym-key-0123456789", false, false), JSON, clock,
                writes::add).pseudonym("c-42")).as("the same key, the same pseudonym").isEqualTo(pseudonym);

        r.event("c-42", "room-ab12", "joined", "room");
        for (int i = 0; i < 30; i++) { // one minute
            clock.advance(Duration.ofSeconds(2));
            r.sample("c-42", sample("p1", "room", GOOD, 0, 50, 30, 0, 0), 2000);
            r.tick(java.util.Set.of("c-42"));
        }
        r.event("c-42", "room-ab12", "left", "");
        // everyone left; 40 s later the room rejoins (a reconnect): the same summary goes on
        for (int i = 0; i < 20; i++) {
            clock.advance(Duration.ofSeconds(2));
            r.tick(java.util.Set.of());
        }
        assertThat(writes).isEmpty();
        r.event("c-42", "room-ab12", "reconnected", "room");
        clock.advance(Duration.ofSeconds(2));
        r.sample("c-42", sample("p1", "room", DEGRADED, 0.03, 50, 30, 0, 0), 2000);
        r.tick(java.util.Set.of("c-42"));
        Instant lastPresent = clock.instant();
        // then nobody for end-after (60 s): written once, complete
        for (int i = 0; i < 31; i++) {
            clock.advance(Duration.ofSeconds(2));
            r.tick(java.util.Set.of());
        }
        assertThat(writes).containsExactly(true);
        assertThat(r.runningCount()).isZero();
        List<JsonNode> list = store.list(store.query(Map.of(), NO_PSEUDONYM));
        assertThat(list).hasSize(1);
        JsonNode s = store.read(list.get(0).path("id").asText()).orElseThrow();
        assertThat(s.path("complete").asBoolean()).isTrue();
        assertThat(s.path("end").asText()).isEqualTo("ended");
        assertThat(s.path("consultation").asText()).isEqualTo(pseudonym);
        assertThat(s.path("startedAt").asText()).isEqualTo(T0.toString());
        assertThat(s.path("endedAt").asText()).isEqualTo(lastPresent.toString());
        assertThat(s.path("worstVerdict").asText()).isEqualTo("degraded");
        assertThat(s.path("participants")).hasSize(1);
        assertThat(s.path("participants").get(0).has("name")).isFalse();
        assertThat(s.path("events").findValuesAsText("kind")).containsExactly("joined", "left", "reconnected");
        assertThat(s.toString()).doesNotContain("c-42", "Mustermann");
        // found by the clinic's id through its pseudonym, not by another
        assertThat(store.list(store.query(Map.of("consultation", List.of("c-42")), r::pseudonym))).hasSize(1);
        assertThat(store.list(store.query(Map.of("consultation", List.of("c-43")), r::pseudonym))).isEmpty();
    }

    @Test
    void theRecorderCheckpointsRunningConsultationsAndFlushesThemAtShutdownKeepingIdAndNamesOnlyWhenConfigured()
            throws Exception {
        TestClock clock = new TestClock(T0);
        SummaryStore store = new SummaryStore(dir, Duration.ofDays(90), clock, JSON);
        SummaryRecorder r = new SummaryRecorder(store, settings(dir, "", true, true), JSON, clock, ok -> { });
        for (int i = 0; i < 160; i++) { // 5 min 20 s: one checkpoint
            clock.advance(Duration.ofSeconds(2));
            r.sample("c-42", sample("p1", "room", GOOD, 0, 50, 30, 0, 0), 2000);
            r.tick(java.util.Set.of("c-42"));
        }
        JsonNode checkpoint = store.read(store.list(store.query(Map.of(), NO_PSEUDONYM)).get(0).path("id").asText())
                .orElseThrow();
        assertThat(checkpoint.path("complete").asBoolean()).isFalse();
        assertThat(checkpoint.path("end").asText()).isEqualTo("running");
        assertThat(checkpoint.path("durationSeconds").asLong()).isEqualTo(300);
        r.flushAll();
        List<JsonNode> list = store.list(store.query(Map.of(), NO_PSEUDONYM));
        assertThat(list).hasSize(1); // the same file, replaced
        JsonNode last = store.read(list.get(0).path("id").asText()).orElseThrow();
        assertThat(last.path("end").asText()).isEqualTo("server-stopped");
        assertThat(last.path("durationSeconds").asLong()).isEqualTo(318);
        assertThat(last.path("consultationId").asText()).isEqualTo("c-42");
        assertThat(last.path("participants").get(0).path("name").asText()).isEqualTo("Erika Mustermann");
    }

    @Test
    void listingIsNewestFirstWithinFromToAndLimit() throws Exception {
        TestClock clock = new TestClock(T0);
        SummaryStore store = new SummaryStore(dir, Duration.ofDays(90), clock, JSON);
        String a = writeOne(store, T0.minus(Duration.ofDays(3)), "aaaaaaaaaaaaaaaa", Verdict.Level.GOOD);
        String b = writeOne(store, T0.minus(Duration.ofDays(1)), "bbbbbbbbbbbbbbbb", Verdict.Level.BAD);
        String c = writeOne(store, T0.minus(Duration.ofHours(2)), "cccccccccccccccc", Verdict.Level.DEGRADED);
        Files.writeString(dir.resolve("README.txt"), "not a summary");

        List<JsonNode> all = store.list(store.query(Map.of(), NO_PSEUDONYM));
        assertThat(all).extracting(n -> n.path("id").asText()).containsExactly(c, b, a);
        assertThat(all.get(1).path("worstVerdict").asText()).isEqualTo("bad");
        assertThat(all.get(1).path("participants").get(0).path("role").asText()).isEqualTo("room");
        assertThat(all.get(1).path("durationSeconds").asLong()).isEqualTo(600);
        assertThat(store.list(store.query(Map.of("limit", List.of("2")), NO_PSEUDONYM))).extracting(
                n -> n.path("id").asText()).containsExactly(c, b);
        // days are UTC and "to" includes its whole day
        assertThat(store.list(store.query(Map.of("from", List.of("2025-03-07"), "to", List.of("2025-03-09")),
                NO_PSEUDONYM))).extracting(n -> n.path("id").asText()).containsExactly(b, a);
        assertThat(store.list(store.query(Map.of("from", List.of(T0.minus(Duration.ofHours(3)).toString())),
                NO_PSEUDONYM))).extracting(n -> n.path("id").asText()).containsExactly(c);
        assertThat(store.list(store.query(Map.of("to", List.of("2025-03-09T12:00:00+02:00")), NO_PSEUDONYM)))
                .extracting(n -> n.path("id").asText()).containsExactly(b, a);
        assertThat(store.read("20250310T070000Z-ffffffff")).isEmpty();
        assertThat(store.read(c).orElseThrow().path("consultation").asText()).isEqualTo("cccccccccccccccc");
    }

    @Test
    void retentionDeletesSummariesOlderThanTheRetentionPeriodAndNothingElse() throws Exception {
        TestClock clock = new TestClock(T0);
        SummaryStore store = new SummaryStore(dir, Duration.ofDays(90), clock, JSON);
        String old = writeOne(store, T0.minus(Duration.ofDays(120)), "0000000000000001", Verdict.Level.GOOD);
        String justOver = writeOne(store, T0.minus(Duration.ofDays(90)).minusSeconds(60), "0000000000000002",
                Verdict.Level.GOOD);
        String justUnder = writeOne(store, T0.minus(Duration.ofDays(90)).plusSeconds(60), "0000000000000003",
                Verdict.Level.GOOD);
        String recent = writeOne(store, T0.minus(Duration.ofDays(10)), "0000000000000004", Verdict.Level.GOOD);
        Path foreign = dir.resolve("backup");
        Files.createDirectories(foreign);
        Files.writeString(foreign.resolve("x.json"), "{}");

        assertThat(store.sweep()).isEqualTo(2);
        assertThat(store.read(old)).isEmpty();
        assertThat(store.read(justOver)).isEmpty();
        assertThat(store.read(justUnder)).isPresent();
        assertThat(store.read(recent)).isPresent();
        assertThat(dir.resolve("2024-11-10")).as("an emptied day folder goes").doesNotExist();
        assertThat(dir.resolve("2024-12-10")).as("the boundary day keeps its younger summary").isDirectory();
        assertThat(foreign.resolve("x.json")).exists();

        clock.advance(Duration.ofMinutes(2)); // a day later the sweep takes the next ones, and only those
        assertThat(store.sweep()).isEqualTo(1);
        assertThat(store.read(justUnder)).isEmpty();
        assertThat(store.read(recent)).isPresent();
        assertThat(store.sweep()).isZero();
    }

    @Test
    void badIdsAndQueryParametersAreRefusedWithAMessage() throws Exception {
        SummaryStore store = new SummaryStore(dir, Duration.ofDays(90), new TestClock(T0), JSON);
        for (String bad : List.of("../../etc/passwd", "20250310T090000Z-0000000g", "20250310T090000Z-00000001/..",
                "20250310T090000Z-00000001.json", "2025-03-10", "", "20251310T090000Z-00000001",
                "20250310T090000Z-00000001\u0000", "..%2F..%2Fetc")) {
            assertThatThrownBy(() -> store.read(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("summary id");
        }
        Map<Map<String, List<String>>, String> cases = new LinkedHashMap<>();
        cases.put(Map.of("from", List.of("yesterday")), "from must be a day");
        cases.put(Map.of("to", List.of("2025-02-30")), "to must be a day");
        cases.put(Map.of("from", List.of("2025-03-10"), "to", List.of("2025-03-01")), "from must not be after to");
        cases.put(Map.of("limit", List.of("0")), "limit must be an integer from 1 to 500");
        cases.put(Map.of("limit", List.of("501")), "limit");
        cases.put(Map.of("limit", List.of("-1")), "limit");
        cases.put(Map.of("limit", List.of("1e3")), "limit");
        cases.put(Map.of("limit", List.of("5", "6")), "more than once");
        cases.put(Map.of("sort", List.of("asc")), "unknown parameter 'sort'");
        cases.put(Map.of("consultation", List.of("")), "consultation must be");
        cases.put(Map.of("consultation", List.of("x".repeat(201))), "consultation must be");
        cases.put(Map.of("from", List.of("2".repeat(100))), "too long");
        for (var c : cases.entrySet()) {
            assertThatThrownBy(() -> store.query(c.getKey(), NO_PSEUDONYM)).as(c.getKey().toString())
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(c.getValue());
        }
        SummaryStore.Query q = store.query(Map.of(), NO_PSEUDONYM);
        assertThat(q.to()).isEqualTo(T0);
        assertThat(q.from()).isEqualTo(T0.minus(Duration.ofDays(90)));
        assertThat(q.limit()).isEqualTo(50);
    }
}
