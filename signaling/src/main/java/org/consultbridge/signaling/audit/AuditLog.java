package org.consultbridge.signaling.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HexFormat;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit log: who joined which consultation when, and who was admitted, declined, removed, left, and who ended
 * it. One JSON object a line, one file a day ({@code audit-2025-06-01.jsonl}, UTC), deleted once its newest entry
 * is older than the retention period (checked at start and every hour).
 *
 * <p>Participants appear only as pseudonyms: {@code p-} and the first 16 hex digits of HMAC-SHA256 over the token's
 * {@code sub} with the audit key. Whoever holds the key and the scheduling system's ids can find a person's entries;
 * the log alone names nobody. Display names (which may be patients' names) and media are never written. Consultation
 * ids are the scheduling system's own opaque ids and are written as they are.
 *
 * <p>Writes happen on one background thread, so a slow disk never holds up signalling; at most
 * {@value #MAX_PENDING} entries wait, more are dropped and counted (a join flood is refused earlier, by tokens).
 */
public final class AuditLog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
    private static final Pattern FILE = Pattern.compile("audit-(\\d{4}-\\d{2}-\\d{2})\\.jsonl");
    private static final int MAX_PENDING = 10_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final AuditSettings settings;
    private final Clock clock;
    private final byte[] key;
    private final ScheduledExecutorService writer;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    // writer thread only
    private LocalDate openDate;
    private Writer out;
    private boolean failing;

    private AuditLog(AuditSettings settings, Clock clock, byte[] key) {
        this.settings = settings;
        this.clock = clock;
        this.key = key;
        if (settings.enabled()) {
            writer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "audit-writer");
                t.setDaemon(true);
                return t;
            });
            writer.scheduleWithFixedDelay(this::purge, 0, 1, TimeUnit.HOURS);
        } else {
            writer = null;
        }
    }

    /** Opens the log (creating its folder and key) or, when disabled, a log that writes nothing. */
    public static AuditLog open(AuditSettings settings, Clock clock) {
        if (!settings.enabled()) {
            return new AuditLog(settings, clock, randomKey());
        }
        try {
            Files.createDirectories(settings.dir());
            restrict(settings.dir(), "rwx------");
            return new AuditLog(settings, clock, key(settings));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the audit log in " + settings.dir().toAbsolutePath(), e);
        }
    }

    public boolean enabled() {
        return writer != null;
    }

    /** The pseudonym of a participant id: stable for one audit key, meaningless without it. */
    public String pseudonym(String participantId) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] h = mac.doFinal(participantId.getBytes(StandardCharsets.UTF_8));
            return "p-" + HexFormat.of().formatHex(h, 0, 8);
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Records one event.
     *
     * @param event          {@code joined}, {@code waiting}, {@code admitted}, {@code declined}, {@code removed},
     *                       {@code left}, {@code ended}, {@code reconnected}, {@code refused}
     * @param participantId  the token's {@code sub} (written as its pseudonym), or null
     * @param role           the participant's role, or null
     * @param actorId        who decided (admit, decline, remove, end), or null
     * @param reason         a protocol code for {@code refused} (e.g. {@code token-reused}), or null
     */
    public void record(String event, String consultationId, String participantId, String role, String actorId,
                       String reason) {
        if (writer == null) {
            return;
        }
        Instant now = clock.instant();
        ObjectNode line = JSON.createObjectNode();
        line.put("ts", now.truncatedTo(ChronoUnit.MILLIS).toString());
        line.put("event", event);
        line.put("consultation", consultationId);
        if (participantId != null) {
            line.put("participant", pseudonym(participantId));
        }
        if (role != null) {
            line.put("role", role);
        }
        if (actorId != null) {
            line.put("by", pseudonym(actorId));
        }
        if (reason != null) {
            line.put("reason", reason);
        }
        if (pending.incrementAndGet() > MAX_PENDING) {
            pending.decrementAndGet();
            if (dropped.getAndIncrement() == 0) {
                LOG.warn("audit log: more than {} entries waiting for the disk; dropping entries", MAX_PENDING);
            }
            return;
        }
        LocalDate day = LocalDate.ofInstant(now, ZoneOffset.UTC);
        String text = line + "\n";
        writer.execute(() -> {
            pending.decrementAndGet();
            write(day, text);
        });
    }

    /** Entries written so far (tests, metrics). */
    public long written() {
        return written.get();
    }

    public long dropped() {
        return dropped.get();
    }

    /** Waits until everything recorded so far is on disk (tests, shutdown). */
    public void flush() {
        if (writer == null) {
            return;
        }
        try {
            writer.submit(() -> { }).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("audit log: flush failed: {}", e.toString());
        }
    }

    /** Deletes the daily files whose newest entry is older than the retention period now (it also runs hourly). */
    public void deleteExpired() {
        if (writer == null) {
            return;
        }
        try {
            writer.submit(this::purge).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("audit log: purge failed: {}", e.toString());
        }
    }

    /** On the writer thread. */
    private void purge() {
        Instant now = clock.instant();
        try (var files = Files.list(settings.dir())) {
            for (Path f : files.toList()) {
                Matcher m = FILE.matcher(f.getFileName().toString());
                if (!m.matches()) {
                    continue;
                }
                Instant newest = LocalDate.parse(m.group(1)).plusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
                if (!newest.plus(settings.retention()).isAfter(now)) {
                    if (out != null && m.group(1).equals(String.valueOf(openDate))) {
                        closeFile();
                    }
                    Files.deleteIfExists(f);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("audit log: cannot delete expired files in {}: {}", settings.dir(), e.toString());
        }
    }

    private void write(LocalDate day, String text) {
        try {
            if (out == null || !day.equals(openDate)) {
                closeFile();
                Path file = settings.dir().resolve("audit-" + day + ".jsonl");
                if (!Files.exists(file)) {
                    Files.createFile(file);
                    restrict(file, "rw-------");
                }
                out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
                openDate = day;
            }
            out.write(text);
            out.flush();
            written.incrementAndGet();
            failing = false;
        } catch (IOException e) {
            if (!failing) {
                LOG.warn("audit log: cannot write to {}: {}", settings.dir(), e.toString());
                failing = true;
            }
            closeFile();
        }
    }

    private void closeFile() {
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                LOG.debug("audit log: close failed: {}", e.toString());
            }
            out = null;
            openDate = null;
        }
    }

    @Override
    public void close() {
        if (writer == null) {
            return;
        }
        flush();
        writer.execute(this::closeFile);
        writer.shutdown();
        try {
            writer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static byte[] key(AuditSettings s) throws IOException {
        if (!s.key().isEmpty()) {
            byte[] k = s.key().getBytes(StandardCharsets.UTF_8);
            if (k.length < 16) {
                throw new IllegalArgumentException("consultbridge.audit.key must be at least 16 bytes");
            }
            return k;
        }
        // generated once and kept beside the log, so that pseudonyms stay the same across restarts
        Path file = s.dir().resolve("audit.key");
        if (Files.exists(file)) {
            return Base64.getDecoder().decode(Files.readString(file).strip());
        }
        byte[] k = randomKey();
        Path tmp = Files.createTempFile(s.dir(), ".audit", ".key");
        restrict(tmp, "rw-------");
        Files.writeString(tmp, Base64.getEncoder().encodeToString(k) + "\n");
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return k;
    }

    private static byte[] randomKey() {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return k;
    }

    private static void restrict(Path p, String perms) throws IOException {
        try {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: permissions are the operator's business
        }
    }
}
