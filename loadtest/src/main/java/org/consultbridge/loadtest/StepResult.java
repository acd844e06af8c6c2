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
                  boolean generatorSaturated, double serverCpuWaitPercent, double generatorCpuWaitPercent,
                  boolean sloMet, String sloFailure) {

    /**
     * Threads of the server or the generator waited for a CPU more than half a core's worth on average: other
     * processes were taking the cores, so the step measured a busy machine.
     */
    boolean machineBusy() {
        return serverCpuWaitPercent > 50 || generatorCpuWaitPercent > 50;
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
