package org.consultbridge.signaling.audit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {

    static final ObjectMapper JSON = new ObjectMapper();

    static final class MovableClock extends Clock {
        volatile Instant now = Instant.parse("2025-06-02T09:00:00Z");

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

    static AuditSettings settings(Path dir, Duration retention) {
        return new AuditSettings(true, dir, retention, "");
    }

    static List<JsonNode> lines(Path file) throws Exception {
        return Files.readAllLines(file).stream().map(l -> {
            try {
                return JSON.readTree(l);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }).toList();
    }

    @Test
    void eventsAreJsonLinesWithPseudonymsNeverNames(@TempDir Path dir) throws Exception {
        MovableClock clock = new MovableClock();
        try (AuditLog log = AuditLog.open(settings(dir, Duration.ofDays(90)), clock)) {
            log.record("waiting", "c-42", "room-mueller", "room", null, null);
            log.record("admitted", "c-42", "room-mueller", "room", "dr-weber", null);
            log.record("refused", "c-42", "room-mueller", "room", null, "token-reused");
            log.flush();
            Path file = dir.resolve("audit-2025-06-02.jsonl");
            List<JsonNode> l = lines(file);
            assertThat(l).hasSize(3);
            assertThat(l.get(0).path("event").asText()).isEqualTo("waiting");
            assertThat(l.get(0).path("ts").asText()).isEqualTo("2025-06-02T09:00:00Z");
            assertThat(l.get(0).path("consultation").asText()).isEqualTo("c-42");
            assertThat(l.get(0).path("participant").asText()).matches("p-[0-9a-f]{16}")
                    .isEqualTo(log.pseudonym("room-mueller"));
            assertThat(l.get(1).path("by").asText()).isEqualTo(log.pseudonym("dr-weber"))
                    .isNotEqualTo(l.get(1).path("participant").asText());
            assertThat(l.get(2).path("reason").asText()).isEqualTo("token-reused");
            assertThat(Files.readString(file)).doesNotContain("mueller", "weber");
            assertThat(Files.getPosixFilePermissions(file))
                    .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
            assertThat(Files.getPosixFilePermissions(dir.resolve("audit.key")))
                    .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        }
    }

    @Test
    void pseudonymsStayTheSameAcrossRestartsWithTheKeptKeyAndDifferWithAnotherKey(@TempDir Path dir) {
        MovableClock clock = new MovableClock();
        String first;
        try (AuditLog log = AuditLog.open(settings(dir, Duration.ofDays(90)), clock)) {
            first = log.pseudonym("room-7");
        }
        try (AuditLog log = AuditLog.open(settings(dir, Duration.ofDays(90)), clock)) {
            assertThat(log.pseudonym("room-7")).isEqualTo(first);
            assertThat(log.pseudonym("room-8")).isNotEqualTo(first);
        }
        try (AuditLog log = AuditLog.open(new AuditSettings(true, dir.resolve("other"), Duration.ofDays(1),
                "a-configured-key-of-enough-bytes"), clock)) {
            assertThat(log.pseudonym("room-7")).isNotEqualTo(first);
        }
    }

    @Test
    void oneFilePerDayAndFilesPastTheRetentionAreDeleted(@TempDir Path dir) throws Exception {
        MovableClock clock = new MovableClock();
        // a file from long ago, one just inside the retention, and something that is not ours
        Files.writeString(dir.resolve("audit-2025-02-01.jsonl"), "{}\n");
        Files.writeString(dir.resolve("audit-2025-05-31.jsonl"), "{}\n");
        Files.writeString(dir.resolve("notes.txt"), "keep\n");
        try (AuditLog log = AuditLog.open(settings(dir, Duration.ofDays(2)), clock)) {
            log.flush(); // the purge at start ran first on the writer thread
            assertThat(dir.resolve("audit-2025-02-01.jsonl")).doesNotExist();
            assertThat(dir.resolve("audit-2025-05-31.jsonl")).exists();
            assertThat(dir.resolve("notes.txt")).exists();

            log.record("joined", "c-1", "dr-1", "doctor", null, null);
            clock.now = Instant.parse("2025-06-03T00:00:01Z");
            log.record("left", "c-1", "dr-1", "doctor", null, null);
            log.flush();
            assertThat(lines(dir.resolve("audit-2025-06-02.jsonl"))).hasSize(1);
            assertThat(lines(dir.resolve("audit-2025-06-03.jsonl"))).hasSize(1);

            // the 31 May file's newest entry is older than 2 days from 2 June 00:00 on; 2 June's from 5 June on
            log.deleteExpired();
            assertThat(dir.resolve("audit-2025-05-31.jsonl")).doesNotExist();
            assertThat(dir.resolve("audit-2025-06-02.jsonl")).exists();
            clock.now = Instant.parse("2025-06-05T00:00:00Z");
            log.flush();
            log.deleteExpired();
            assertThat(dir.resolve("audit-2025-06-02.jsonl")).doesNotExist();
            assertThat(dir.resolve("audit-2025-06-03.jsonl")).exists();
            try (Stream<Path> files = Files.list(dir)) {
                assertThat(files.map(p -> p.getFileName().toString()))
                        .containsExactlyInAnyOrder("audit-2025-06-03.jsonl", "audit.key", "notes.txt");
            }
        }
    }

    @Test
    void aDisabledLogWritesNothing(@TempDir Path dir) {
        try (AuditLog log = AuditLog.open(new AuditSettings(false, dir.resolve("a"), Duration.ofDays(1), ""),
                new MovableClock())) {
            log.record("joined", "c-1", "dr-1", "doctor", null, null);
            log.flush();
            assertThat(log.enabled()).isFalse();
            assertThat(log.written()).isZero();
            assertThat(dir.resolve("a")).doesNotExist();
        }
    }
}
