package org.consultbridge.signaling.ops;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The {@code consultbridge.admin} and {@code consultbridge.ops} sections: where the admin port listens, the ops
 * credential, what the dashboard may show, sampling, and the verdict thresholds.
 *
 * @param credential empty: none configured (the server then generates one at start)
 */
public record OpsSettings(String adminHost, int adminPort, String credential, boolean showNames,
                          Duration sampleInterval, Duration history, Duration clientStatsMinInterval,
                          Thresholds thresholds) {

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
        return new OpsSettings(c.getString("admin.host"), c.getInt("admin.port"), credential,
                ops.getBoolean("show-names"), sample, ops.getDuration("history"),
                ops.getDuration("client-stats-min-interval"), thresholds);
    }

    public OpsSettings withAdmin(String host, int port) {
        return new OpsSettings(host, port, credential, showNames, sampleInterval, history, clientStatsMinInterval,
                thresholds);
    }

    public OpsSettings withCredential(String newCredential) {
        return new OpsSettings(adminHost, adminPort, newCredential, showNames, sampleInterval, history,
                clientStatsMinInterval, thresholds);
    }

    public OpsSettings withThresholds(Thresholds t) {
        return new OpsSettings(adminHost, adminPort, credential, showNames, sampleInterval, history,
                clientStatsMinInterval, t);
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
