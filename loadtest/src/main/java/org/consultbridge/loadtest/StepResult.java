package org.consultbridge.loadtest;

import java.util.Map;

/**
 * The measurements of one load level, over its measurement window. Loss and latency are those of streams between
 * participants on clean links (the objectives apply to them); streams with an impaired participant at either end are
 * measured apart ({@code impaired*}). Refusals, drops and errors are what the server said, by code.
 */
record StepResult(int consultations, int participants, int joined, double seconds, double sentPps,
                  double receivedPps, double lossPercent, double latencyP50Ms, double latencyP99Ms,
                  double latencyMaxMs, long joinP50Ms, long joinP99Ms, long joinMaxMs, long firstFrameP50Ms,
                  int failures, int pairsWithoutMedia, int refused, Map<String, Long> refusedCodes, int dropped,
                  Map<String, Long> droppedCodes, Map<String, Long> errorCodes, double impairedLossPercent,
                  double impairedLatencyP99Ms, double topLayerPercent, long nacksSent, long plisSent,
                  long transportCcSent, long recovered, long plisReceived, double serverCpuPercent,
                  double serverRssMb, double cpuPercentPerConsultation, double generatorCpuPercent,
                  boolean generatorSaturated, double serverCoresOthersPercent, double generatorCoresOthersPercent,
                  double serverCoresStealPercent, double generatorCoresStealPercent, double neighbourCpuPercent,
                  double otherServerCpuPercent,
                  double serverCpuSeconds, long forwardedPackets, double cpuMicrosPerPacket, boolean machineBusy,
                  boolean repeat, boolean sloMet, String sloFailure) {

    /** A fifth of a core: what other processes and steal may take of a side's cores before a step is "busy". */
    static final double BUSY_PERCENT = 20;

    /**
     * The server's CPU time per forwarded packet, in microseconds: its CPU seconds over a window divided by the
     * packets our receivers got from it in that window; NaN when either is unknown or nothing was forwarded.
     */
    static double microsPerPacket(double serverCpuSeconds, long forwardedPackets) {
        if (!(serverCpuSeconds >= 0) || forwardedPackets <= 0) {
            return Double.NaN;
        }
        return serverCpuSeconds * 1e6 / forwardedPackets;
    }

    /**
     * Whether other processes (beyond those we started on purpose and measure apart: a noisy neighbour, the idle
     * other server of a comparison) and the hypervisor's steal took more than {@link #BUSY_PERCENT} % of a core from
     * the server's or the generator's cores on average: the step then measured a busy machine, not the server. NaN
     * figures (nothing known) are not busy.
     */
    static boolean busy(double othersPercent, double stealPercent, double knownPercent) {
        double others = Math.max(0, nan0(othersPercent) - nan0(knownPercent));
        return others + nan0(stealPercent) > BUSY_PERCENT;
    }

    private static double nan0(double d) {
        return Double.isNaN(d) ? 0 : d;
    }

    /** "refused: 3 (consultation-full x3)" style, or "" when nothing was refused. */
    static String codes(String what, int n, Map<String, Long> codes) {
        if (n == 0 && codes.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder(what).append(": ").append(n).append(" (");
        int i = 0;
        for (Map.Entry<String, Long> e : codes.entrySet()) {
            sb.append(i++ > 0 ? ", " : "").append(e.getKey()).append(" x").append(e.getValue());
        }
        return sb.append(')').toString();
    }
}
