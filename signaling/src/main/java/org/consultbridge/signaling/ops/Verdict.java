package org.consultbridge.signaling.ops;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.consultbridge.bridge.api.TransportState;

/**
 * A participant's quality verdict: good, degraded or bad, with the reasons (every figure that passed a threshold,
 * worst first). Computed from the bridge's figures and, when the client reports them, the client's own.
 */
public record Verdict(Level level, List<String> reasons) {

    public enum Level {
        GOOD, DEGRADED, BAD;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * What a verdict is made from; -1 (or null) means unknown, and an unknown figure never makes a verdict worse.
     *
     * @param suspendedVideos videos the bridge paused to this participant (audio-only fallback)
     * @param receivesVideo   whether the client should be showing a remote video (fps is judged only then)
     */
    public record Figures(TransportState publishState, TransportState subscribeState, double downlinkLoss,
                          double uplinkLoss, long rttMs, double jitterMs, long downlinkEstimateBps,
                          int suspendedVideos, boolean receivesVideo, double clientFps, double clientConcealment,
                          long newFreezes) {
    }

    public String reason() {
        return reasons.isEmpty() ? "" : String.join("; ", reasons);
    }

    /** Judges {@code f} against {@code t}. */
    public static Verdict judge(Figures f, OpsSettings.Thresholds t) {
        List<String> bad = new ArrayList<>();
        List<String> degraded = new ArrayList<>();
        if (f.publishState() == TransportState.FAILED || f.subscribeState() == TransportState.FAILED) {
            bad.add("transport failed");
        }
        check(f.downlinkLoss(), t.lossDegraded(), t.lossBad(), "downlink loss", bad, degraded, true);
        check(f.uplinkLoss(), t.lossDegraded(), t.lossBad(), "uplink loss", bad, degraded, true);
        if (f.rttMs() >= 0) {
            check(f.rttMs(), t.rttDegradedMs(), t.rttBadMs(), "RTT", bad, degraded, false);
        }
        check(f.jitterMs(), t.jitterDegradedMs(), t.jitterBadMs(), "jitter", bad, degraded, false);
        if (f.downlinkEstimateBps() >= 0) {
            String what = "downlink estimate " + f.downlinkEstimateBps() / 1000 + " kbit/s";
            if (f.downlinkEstimateBps() < t.downlinkBadBps()) {
                bad.add(what);
            } else if (f.downlinkEstimateBps() < t.downlinkDegradedBps()) {
                degraded.add(what);
            }
        }
        if (f.suspendedVideos() > 0) {
            degraded.add("audio only: " + f.suspendedVideos() + " video(s) suspended by the bridge");
        }
        if (f.receivesVideo() && f.clientFps() >= 0) {
            String what = String.format(Locale.ROOT, "client video %.0f fps", f.clientFps());
            if (f.clientFps() < t.fpsBad()) {
                bad.add(what);
            } else if (f.clientFps() < t.fpsDegraded()) {
                degraded.add(what);
            }
        }
        check(f.clientConcealment(), t.concealmentDegraded(), t.concealmentBad(), "audio concealed", bad, degraded,
                true);
        if (f.newFreezes() > 0) {
            degraded.add("client video froze " + f.newFreezes() + "x");
        }
        List<String> all = new ArrayList<>(bad);
        all.addAll(degraded);
        Level level = !bad.isEmpty() ? Level.BAD : !degraded.isEmpty() ? Level.DEGRADED : Level.GOOD;
        return new Verdict(level, List.copyOf(all));
    }

    private static void check(double value, double degradedAt, double badAt, String name, List<String> bad,
                              List<String> degraded, boolean percent) {
        if (value < 0) {
            return;
        }
        String what = percent ? String.format(Locale.ROOT, "%s %.1f %%", name, value * 100)
                : String.format(Locale.ROOT, "%s %.0f ms", name, value);
        if (value > badAt) {
            bad.add(what);
        } else if (value > degradedAt) {
            degraded.add(what);
        }
    }
}
