package org.consultbridge.signaling.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consultation quality summaries as JSON files: {@code <dir>/<yyyy-MM-dd>/<id>.json}, the day being the UTC day the
 * consultation started, the id {@code <yyyyMMdd>T<HHmmss>Z-<8 hex>} (its start and a random suffix), so that the
 * file of an id is found without a search and an id can never name another path. Files are written whole (a
 * temporary file moved into place) and only readable by the server's user. Deleted {@code retention} after their
 * consultation's start by {@link #sweep()}. Thread-safe: every operation works on the file system only.
 *
 * <p>Plain files rather than a database: a few hundred small documents a day, read by date, deleted by date; a
 * folder per day makes both cheap and lets an operator inspect or back them up with ordinary tools.
 */
public final class SummaryStore {

    private static final Logger LOG = LoggerFactory.getLogger(SummaryStore.class);
    static final Pattern ID = Pattern.compile("([0-9]{8})T([0-9]{6})Z-[0-9a-f]{8}");
    private static final Pattern DAY = Pattern.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}");
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);
    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;
    private static final int MAX_CONSULTATION_LENGTH = 200;

    private final Path dir;
    private final Duration retention;
    private final Clock clock;
    private final ObjectMapper json;
    private final SecureRandom random = new SecureRandom();

    public SummaryStore(Path dir, Duration retention, Clock clock, ObjectMapper json) {
        this.dir = dir;
        this.retention = retention;
        this.clock = clock;
        this.json = json;
    }

    public Path dir() {
        return dir;
    }

    public Duration retention() {
        return retention;
    }

    /** A new summary id for a consultation that started at {@code start}. */
    String newId(Instant start) {
        byte[] b = new byte[4];
        random.nextBytes(b);
        return ID_TIME.format(start) + "-" + HexFormat.of().formatHex(b);
    }

    /** The start encoded in a valid id. */
    static Instant startOf(String id) {
        Matcher m = ID.matcher(id);
        if (!m.matches()) {
            throw new IllegalArgumentException(badId());
        }
        try {
            return ID_TIME.parse(m.group(1) + "T" + m.group(2) + "Z", Instant::from);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(badId());
        }
    }

    private static String badId() {
        return "a summary id looks like 20250131T101530Z-1a2b3c4d (start in UTC and 8 hex digits)";
    }

    private Path fileOf(String id) {
        Instant start = startOf(id);
        return dir.resolve(LocalDate.ofInstant(start, ZoneOffset.UTC).toString()).resolve(id + ".json");
    }

    /** Writes (or replaces) the summary with the {@code id} field of {@code summary}. */
    public void write(ObjectNode summary) throws IOException {
        Path file = fileOf(summary.path("id").asText());
        Path day = file.getParent();
        createPrivateDirectory(dir);
        createPrivateDirectory(day);
        Path tmp = Files.createTempFile(day, ".summary", ".tmp");
        try {
            try {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: permissions are the operator's business
            }
            json.writeValue(tmp.toFile(), summary);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void createPrivateDirectory(Path d) throws IOException {
        if (Files.isDirectory(d)) {
            return;
        }
        try {
            Files.createDirectories(d.getParent() == null ? d : d.getParent());
            Files.createDirectory(d, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException e) {
            // made by someone else meanwhile
        } catch (UnsupportedOperationException e) {
            Files.createDirectories(d);
        }
    }

    /**
     * The summary with this id.
     *
     * @throws IllegalArgumentException when {@code id} is not a summary id
     */
    public Optional<JsonNode> read(String id) throws IOException {
        Path file = fileOf(id);
        try {
            return Optional.of(json.readTree(file.toFile()));
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            return Optional.empty();
        }
    }

    /**
     * Which summaries to list: those whose consultation started in [from, to], newest first, at most
     * {@code limit}; with {@code consultation} (a pseudonym) only that consultation's.
     */
    public record Query(Instant from, Instant to, int limit, String consultation) {
    }

    /**
     * Parses the list parameters: {@code from} and {@code to} as a day ({@code 2025-01-31}, UTC; {@code to}
     * includes the whole day) or an instant ({@code 2025-01-31T10:00:00Z}, or with an offset); defaults: the
     * retention period up to now. {@code limit} 1..500, default 50. {@code consultation}: the clinic's id, turned
     * into its pseudonym with {@code pseudonym}.
     *
     * @throws IllegalArgumentException with a message for the caller when a parameter is bad or unknown
     */
    public Query query(Map<String, List<String>> params, java.util.function.UnaryOperator<String> pseudonym) {
        for (Map.Entry<String, List<String>> p : params.entrySet()) {
            if (!List.of("from", "to", "limit", "consultation").contains(p.getKey())) {
                throw new IllegalArgumentException("unknown parameter '" + abbreviate(p.getKey())
                        + "' (from, to, limit, consultation)");
            }
            if (p.getValue().size() != 1) {
                throw new IllegalArgumentException("parameter '" + p.getKey() + "' given more than once");
            }
        }
        Instant now = clock.instant();
        Instant from = params.containsKey("from") ? bound("from", params.get("from").get(0), false)
                : now.minus(retention);
        Instant to = params.containsKey("to") ? bound("to", params.get("to").get(0), true) : now;
        if (from.isAfter(to)) {
            throw new IllegalArgumentException("from must not be after to");
        }
        int limit = DEFAULT_LIMIT;
        if (params.containsKey("limit")) {
            String l = params.get("limit").get(0);
            if (!l.matches("[0-9]{1,4}") || Integer.parseInt(l) < 1 || Integer.parseInt(l) > MAX_LIMIT) {
                throw new IllegalArgumentException("limit must be an integer from 1 to " + MAX_LIMIT);
            }
            limit = Integer.parseInt(l);
        }
        String consultation = null;
        if (params.containsKey("consultation")) {
            String c = params.get("consultation").get(0);
            if (c.isEmpty() || c.length() > MAX_CONSULTATION_LENGTH || c.chars().anyMatch(Character::isISOControl)) {
                throw new IllegalArgumentException("consultation must be a consultation id of 1 to "
                        + MAX_CONSULTATION_LENGTH + " printable characters");
            }
            consultation = pseudonym.apply(c);
        }
        return new Query(from, to, limit, consultation);
    }

    private static Instant bound(String name, String v, boolean endOfDay) {
        if (v.length() > 40) {
            throw new IllegalArgumentException(name + " is too long");
        }
        try {
            if (v.length() == 10) {
                LocalDate d = LocalDate.parse(v);
                return endOfDay ? d.plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant().minusMillis(1)
                        : d.atStartOfDay(ZoneOffset.UTC).toInstant();
            }
            return OffsetDateTime.parse(v).toInstant();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(name + " must be a day (2025-01-31, UTC) or an instant "
                    + "(2025-01-31T10:00:00Z), not '" + abbreviate(v) + "'");
        }
    }

    private static String abbreviate(String s) {
        String clean = s.replaceAll("\\p{Cntrl}", "?");
        return clean.length() > 40 ? clean.substring(0, 40) + "..." : clean;
    }

    /**
     * The list entries (id, start, end, duration, worst verdict, participants by role and label) of the summaries
     * the query selects, newest first. An unreadable file is skipped (and logged), not fatal.
     */
    public List<JsonNode> list(Query q) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        List<String> days = new ArrayList<>();
        String firstDay = LocalDate.ofInstant(q.from(), ZoneOffset.UTC).toString();
        String lastDay = LocalDate.ofInstant(q.to(), ZoneOffset.UTC).toString();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path d : ds) {
                String name = d.getFileName().toString();
                if (DAY.matcher(name).matches() && name.compareTo(firstDay) >= 0 && name.compareTo(lastDay) <= 0) {
                    days.add(name);
                }
            }
        }
        days.sort(java.util.Comparator.reverseOrder());
        for (String day : days) {
            List<String> ids = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir.resolve(day), "*.json")) {
                for (Path f : ds) {
                    String id = f.getFileName().toString().replaceFirst("\\.json$", "");
                    if (ID.matcher(id).matches()) {
                        ids.add(id);
                    }
                }
            } catch (NoSuchFileException e) {
                continue; // swept meanwhile
            }
            ids.sort(java.util.Comparator.reverseOrder());
            for (String id : ids) {
                Instant start = startOf(id);
                if (start.isBefore(q.from()) || start.isAfter(q.to())) {
                    continue;
                }
                JsonNode s;
                try {
                    s = json.readTree(dir.resolve(day).resolve(id + ".json").toFile());
                } catch (IOException e) {
                    LOG.warn("unreadable summary {}: {}", id, e.toString());
                    continue;
                }
                if (q.consultation() != null && !q.consultation().equals(s.path("consultation").asText())) {
                    continue;
                }
                out.add(entry(s));
                if (out.size() >= q.limit()) {
                    return out;
                }
            }
        }
        return out;
    }

    private JsonNode entry(JsonNode s) {
        ObjectNode e = json.createObjectNode();
        for (String f : List.of("id", "consultation", "consultationId", "startedAt", "endedAt", "durationSeconds",
                "complete", "end", "worstVerdict", "notGoodShare")) {
            if (s.has(f)) {
                e.set(f, s.get(f));
            }
        }
        var ps = e.putArray("participants");
        for (JsonNode p : s.path("participants")) {
            ObjectNode o = ps.addObject();
            o.set("label", p.path("label"));
            o.set("role", p.path("role"));
            o.set("worstVerdict", p.path("worstVerdict"));
        }
        return e;
    }

    /**
     * Deletes every summary whose consultation started more than {@code retention} ago (whole day folders at
     * once; the folder of the boundary day file by file), temporary files left by a crash, and empty day folders.
     *
     * @return summaries deleted
     */
    public int sweep() throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        Instant cutoff = clock.instant().minus(retention);
        int deleted = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path d : ds) {
                String name = d.getFileName().toString();
                if (!DAY.matcher(name).matches() || !Files.isDirectory(d)) {
                    continue; // not ours: left alone
                }
                LocalDate day;
                try {
                    day = LocalDate.parse(name);
                } catch (DateTimeParseException e) {
                    continue;
                }
                if (!day.atStartOfDay(ZoneOffset.UTC).toInstant().isBefore(cutoff)) {
                    continue; // the whole day is within retention
                }
                deleted += sweepDay(d, cutoff);
            }
        }
        if (deleted > 0) {
            LOG.info("deleted {} consultation summaries older than {} days", deleted, retention.toDays());
        }
        return deleted;
    }

    private int sweepDay(Path day, Instant cutoff) throws IOException {
        int deleted = 0;
        boolean empty = true;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(day)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                String id = name.endsWith(".json") ? name.substring(0, name.length() - 5) : null;
                if (id != null && ID.matcher(id).matches()) {
                    if (startOf(id).isBefore(cutoff)) {
                        Files.deleteIfExists(f);
                        deleted++;
                    } else {
                        empty = false;
                    }
                } else if (name.endsWith(".tmp") && Files.getLastModifiedTime(f).toInstant()
                        .isBefore(clock.instant().minus(Duration.ofHours(1)))) {
                    Files.deleteIfExists(f); // left by a crash during a write
                } else {
                    empty = false;
                }
            }
        }
        if (empty) {
            try {
                Files.deleteIfExists(day);
            } catch (java.nio.file.DirectoryNotEmptyException e) {
                // a write arrived meanwhile
            }
        }
        return deleted;
    }
}
