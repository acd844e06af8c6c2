package org.consultbridge.loadtest;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What to run. Ramp: start with {@code rampStart} consultations and add {@code rampStep} per step of
 * {@code stepDuration} until an objective fails or {@code rampMax} is reached; fixed: {@code rampStart}
 * consultations for one step.
 */
record LoadOptions(URI server, String secret, long serverPid, int rampStart, int rampStep, int rampMax,
                   Duration stepDuration, Duration warmup, int participantsPerConsultation, int[] videoKbps,
                   double impairedShare, Impairment impairment, double maxLossPercent, double maxP99Millis,
                   long maxJoinMillis, Path out, String bindAddress, int threads) {

    URI wsUri() {
        String scheme = server.getScheme().equals("https") ? "wss" : "ws";
        return URI.create(scheme + "://" + server.getAuthority() + "/ws");
    }

    boolean ramp() {
        return rampMax > rampStart && rampStep > 0;
    }
}
