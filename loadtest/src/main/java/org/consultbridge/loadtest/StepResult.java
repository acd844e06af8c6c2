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
                  boolean sloMet, String sloFailure) {

    /**
     * Other processes (or the hypervisor, as steal time) took more than a fifth of a core from the server's or the
     * generator's cores on average: the step measured a busy machine, not the server.
     */
    boolean machineBusy() {
        return serverCoresOthersPercent > 20 || generatorCoresOthersPercent > 20;
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
