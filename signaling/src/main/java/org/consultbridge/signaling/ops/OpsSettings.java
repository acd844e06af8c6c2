package org.consultbridge.signaling.ops;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The {@code consultbridge.admin} and {@code consultbridge.ops} sections: where the admin port listens, the ops
 * credential, what the dashboard may show, sampling, the verdict thresholds, and the quality summaries kept
 * after a consultation.
 *
 * @param credential    empty: none configured (the server then generates one at start)
 * @param verdictWindow loss figures of a verdict are taken over this window (one sample is too few packets)
 */
public record OpsSettings(String adminHost, int adminPort, String credential, boolean showNames,
                          Duration sampleInterval, Duration history, Duration clientStatsMinInterval,
                          Duration verdictWindow, Thresholds thresholds, Summaries summaries) {

    public static OpsSettings from(Config c) {
        Config ops = c.getConfig("ops");
        String credential = ops.getString("credential");
        if (!credential.isEmpty() && credential.length() < 16) {
            throw new IllegalArgumentException("consultbridge.ops.credential must be at least 16 characters");
        }
        Duration sample = ops.getDuration("sample-interval");
        if (sample.toMillis() < 200 || sample.toSeconds() > 60) {
            throw new IllegalArgumentException("consultbridge.ops.sample-interval must be between 200ms and 60s");
        }
        Config t = ops.getConfig("thresholds");
        Thresholds thresholds = new Thresholds(t.getDouble("loss-degraded"), t.getDouble("loss-bad"),
                t.getLong("rtt-degraded-ms"), t.getLong("rtt-bad-ms"), t.getDouble("jitter-degraded-ms"),
                t.getDouble("jitter-bad-ms"), t.getLong("downlink-degraded-bps"), t.getLong("downlink-bad-bps"),
                t.getDouble("fps-degraded"), t.getDouble("fps-bad"), t.getDouble("concealment-degraded"),
                t.getDouble("concealment-bad"));
        Duration window = ops.getDuration("verdict-window");
        if (window.compareTo(sample) < 0 || window.toMinutes() > 10) {
            throw new IllegalArgumentException("consultbridge.ops.verdict-window must be between sample-interval and 10m");
        }
        return new OpsSettings(c.getString("admin.host"), c.getInt("admin.port"), credential,
                ops.getBoolean("show-names"), sample, ops.getDuration("history"),
                ops.getDuration("client-stats-min-interval"), window, thresholds,
                Summaries.from(ops.getConfig("summaries")));
    }

    public OpsSettings withAdmin(String host, int port) {
        return new OpsSettings(host, port, credential, showNames, sampleInterval, history, clientStatsMinInterval,
                verdictWindow, thresholds, summaries);
    }

    public OpsSettings withCredential(String newCredential) {
        return new OpsSettings(adminHost, adminPort, newCredential, showNames, sampleInterval, history,
                clientStatsMinInterval, verdictWindow, thresholds, summaries);
    }

    public OpsSettings withThresholds(Thresholds t) {
        return new OpsSettings(adminHost, adminPort, credential, showNames, sampleInterval, history,
                clientStatsMinInterval, verdictWindow, t, summaries);
    }

    public OpsSettings withSummaries(Summaries s) {
        return new OpsSettings(adminHost, adminPort, credential, showNames, sampleInterval, history,
                clientStatsMinInterval, verdictWindow, thresholds, s);
    }

    /**
     * The {@code consultbridge.ops.summaries} section: per-consultation quality summaries kept after the call.
     *
     * @param dir                 where they are written (one folder per UTC day of the start)
     * @param retention           a summary is deleted this long after its consultation started
     * @param endAfter            a consultation nobody has been in for this long has ended (a rejoin before
     *                            continues the same summary)
     * @param checkpointInterval  running consultations are written this often too (marked incomplete); zero = never
     * @param keepConsultationId  store the clinic's consultation id; false = only its pseudonym
     * @param keepNames           store participants' display names (may be patient names); false = role and label
     * @param pseudonymKey        HMAC key of the pseudonyms; empty = a random key per process (pseudonyms of two
     *                            runs cannot be linked, nor looked up by the clinic's id after a restart)
     * @param maxEvents           events kept per summary (counts per kind stay complete)
     */
    public record Summaries(boolean enabled, Path dir, Duration retention, Duration endAfter,
                            Duration checkpointInterval, boolean keepConsultationId, boolean keepNames,
                            String pseudonymKey, int maxEvents) {

        public Summaries {
            if (retention.toHours() < 1) {
                throw new IllegalArgumentException("consultbridge.ops.summaries.retention must be at least 1h");
            }
            if (endAfter.isNegative() || checkpointInterval.isNegative()) {
                throw new IllegalArgumentException("consultbridge.ops.summaries: durations must not be negative");
            }
            if (!pseudonymKey.isEmpty() && pseudonymKey.length() < 16) {
                throw new IllegalArgumentException(
                        "consultbridge.ops.summaries.pseudonym-key must be at least 16 characters");
            }
            if (maxEvents < 0 || maxEvents > 100_000) {
                throw new IllegalArgumentException("consultbridge.ops.summaries.max-events must be 0..100000");
            }
        }

        static Summaries from(Config s) {
            return new Summaries(s.getBoolean("enabled"), Path.of(s.getString("dir")), s.getDuration("retention"),
                    s.getDuration("end-after"), s.getDuration("checkpoint-interval"),
                    s.getBoolean("keep-consultation-id"), s.getBoolean("keep-names"), s.getString("pseudonym-key"),
                    s.getInt("max-events"));
        }

        public Summaries withDir(Path newDir) {
            return new Summaries(enabled, newDir, retention, endAfter, checkpointInterval, keepConsultationId,
                    keepNames, pseudonymKey, maxEvents);
        }

        public Summaries withEndAfter(Duration newEndAfter) {
            return new Summaries(enabled, dir, retention, newEndAfter, checkpointInterval, keepConsultationId,
                    keepNames, pseudonymKey, maxEvents);
        }
    }

    /** Verdict thresholds; see reference.conf. A figure "passes" a threshold when it is worse than it. */
    public record Thresholds(double lossDegraded, double lossBad, long rttDegradedMs, long rttBadMs,
                             double jitterDegradedMs, double jitterBadMs, long downlinkDegradedBps,
                             long downlinkBadBps, double fpsDegraded, double fpsBad, double concealmentDegraded,
                             double concealmentBad) {
        public Thresholds {
            if (lossBad < lossDegraded || rttBadMs < rttDegradedMs || jitterBadMs < jitterDegradedMs
                    || downlinkBadBps > downlinkDegradedBps || fpsBad > fpsDegraded
                    || concealmentBad < concealmentDegraded) {
                throw new IllegalArgumentException("consultbridge.ops.thresholds: each 'bad' threshold must be "
                        + "at least as severe as its 'degraded' one");
            }
        }
    }
}
