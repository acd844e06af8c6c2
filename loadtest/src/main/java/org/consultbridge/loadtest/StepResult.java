package org.consultbridge.loadtest;

/** The measurements of one load level, over its measurement window. */
record StepResult(int consultations, int participants, int joined, double seconds, double sentPps,
                  double receivedPps, double lossPercent, double latencyP50Ms, double latencyP99Ms,
                  double latencyMaxMs, long joinP50Ms, long joinMaxMs, long firstFrameP50Ms, int failures,
                  long nacksSent, long plisReceived, double serverCpuPercent, double serverRssMb,
                  double cpuPercentPerConsultation, boolean sloMet, String sloFailure) {
}
