package org.consultbridge.signaling.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows every running consultation into a {@link ConsultationSummary} and writes it to the {@link SummaryStore}
 * when the consultation has ended: nobody has been in it for {@code end-after} (so a reconnect, even of everyone,
 * continues the same summary). Running ones are also written every {@code checkpoint-interval}, marked
 * incomplete, and all of them when the server stops. Sampler thread only (OpsMonitor's "ops-sampler"), except
 * {@link #pseudonym}, which any thread may call.
 *
 * <p>The consultation appears in a summary as a pseudonym: HMAC-SHA256 of its id with the configured key (or a
 * per-process random one), 16 hex digits. Whoever holds the key and the clinic's id finds its summaries; nobody
 * else can tell which consultation a summary belongs to.
 */
final class SummaryRecorder {

    private static final Logger LOG = LoggerFactory.getLogger(SummaryRecorder.class);

    private final SummaryStore store;
    private final OpsSettings.Summaries settings;
    private final ObjectMapper json;
    private final Clock clock;
    private final byte[] key;
    private final Consumer<Boolean> written;
    private final Map<String, ConsultationSummary> running = new HashMap<>();

    /**
     * @param written told of every write: true when it worked, false when it failed (metrics)
     */
    SummaryRecorder(SummaryStore store, OpsSettings.Summaries settings, ObjectMapper json, Clock clock,
                    Consumer<Boolean> written) {
        this.store = store;
        this.settings = settings;
        this.json = json;
        this.clock = clock;
        this.written = written;
        if (settings.pseudonymKey().isEmpty()) {
            key = new byte[32];
            new SecureRandom().nextBytes(key);
        } else {
            key = settings.pseudonymKey().getBytes(StandardCharsets.UTF_8);
        }
    }

    /** The consultation's pseudonym in summaries. Thread-safe. */
    String pseudonym(String consultationId) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] h = mac.doFinal(consultationId.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 8);
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException(e);
        }
    }

    private ConsultationSummary summary(String consultationId) {
        return running.computeIfAbsent(consultationId, id -> {
            Instant now = clock.instant();
            return new ConsultationSummary(store.newId(now), id, now, settings.maxEvents());
        });
    }

    /** One participant's figures of this sample, covering {@code sampleMillis}. */
    void sample(String consultationId, ConsultationSummary.ParticipantSample s, long sampleMillis) {
        ConsultationSummary.ParticipantSample kept = settings.keepNames() || s.name() == null ? s
                : new ConsultationSummary.ParticipantSample(s.participantId(), s.role(), s.label(), null,
                s.onBridge(), s.verdict(), s.bitrateInBps(), s.bitrateOutBps(), s.uplinkLoss(), s.downlinkLoss(),
                s.rttMs(), s.jitterMs(), s.estimateBps(), s.layer(), s.fps(), s.concealment(), s.freezeCount(),
                s.freezeMs());
        summary(consultationId).sample(kept, clock.instant(), sampleMillis);
    }

    void event(String consultationId, String participantLabel, String kind, String detail) {
        summary(consultationId).event(clock.instant(), participantLabel, kind, detail);
    }

    void verdictChanged(String consultationId, String participantLabel, Verdict verdict) {
        summary(consultationId).verdictChanged(clock.instant(), participantLabel, verdict);
    }

    /**
     * After each sample: consultations in {@code present} go on; one absent for {@code end-after} has ended and is
     * written; running ones are written when their checkpoint is due.
     */
    void tick(Set<String> present) {
        Instant now = clock.instant();
        for (Iterator<ConsultationSummary> it = running.values().iterator(); it.hasNext(); ) {
            ConsultationSummary s = it.next();
            if (present.contains(s.consultationId)) {
                s.present(now);
                if (!settings.checkpointInterval().isZero()
                        && Duration.between(s.lastWrittenAt, now).compareTo(settings.checkpointInterval()) >= 0) {
                    write(s, now, false, "running");
                }
            } else if (Duration.between(s.lastPresentAt(), now).compareTo(settings.endAfter()) >= 0) {
                it.remove();
                write(s, s.lastPresentAt(), true, "ended");
            }
        }
    }

    /** The server stops: every summary is written as it is, the running ones marked incomplete. */
    void flushAll() {
        Instant now = clock.instant();
        for (ConsultationSummary s : running.values()) {
            write(s, s.lastPresentAt().isAfter(now) ? now : s.lastPresentAt(), false, "server-stopped");
        }
        running.clear();
    }

    /** Running summaries (tests). */
    int runningCount() {
        return running.size();
    }

    private void write(ConsultationSummary s, Instant endedAt, boolean complete, String reason) {
        s.lastWrittenAt = clock.instant();
        try {
            store.write(s.toJson(json, pseudonym(s.consultationId), settings.keepConsultationId(), endedAt,
                    complete, reason));
            written.accept(true);
        } catch (IOException | RuntimeException e) {
            written.accept(false);
            LOG.warn("writing consultation summary {} to {} failed: {}", s.id, store.dir(), e.toString());
        }
    }
}
