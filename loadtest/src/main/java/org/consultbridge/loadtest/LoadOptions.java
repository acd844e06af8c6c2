package org.consultbridge.loadtest;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What to run. Ramp: start with {@code rampStart} consultations and add {@code rampStep} per step of
 * {@code stepDuration} until an objective fails or {@code rampMax} is reached; fixed: {@code rampStart}
 * consultations for one step. {@code pinning}: the cores the server and the generator were given (reported).
 * {@code noisyNeighbourPercent}: the share of one core a noisy neighbour on the server's cores takes during every
 * step (0: none).
 */
record LoadOptions(URI server, String secret, long serverPid, int rampStart, int rampStep, int rampMax,
                   Duration stepDuration, Duration warmup, int participantsPerConsultation, int[] videoKbps,
                   double impairedShare, Impairment impairment, double maxLossPercent, double maxP99Millis,
                   long maxJoinMillis, Path out, String bindAddress, int threads, CpuPinning pinning,
                   int noisyNeighbourPercent) {

    /** Unpinned (tests in one JVM). */
    LoadOptions(URI server, String secret, long serverPid, int rampStart, int rampStep, int rampMax,
                Duration stepDuration, Duration warmup, int participantsPerConsultation, int[] videoKbps,
                double impairedShare, Impairment impairment, double maxLossPercent, double maxP99Millis,
                long maxJoinMillis, Path out, String bindAddress, int threads) {
        this(server, secret, serverPid, rampStart, rampStep, rampMax, stepDuration, warmup,
                participantsPerConsultation, videoKbps, impairedShare, impairment, maxLossPercent, maxP99Millis,
                maxJoinMillis, out, bindAddress, threads, CpuPinning.NONE, 0);
    }

    URI wsUri() {
        String scheme = server.getScheme().equals("https") ? "wss" : "ws";
        return URI.create(scheme + "://" + server.getAuthority() + "/ws");
    }

    boolean ramp() {
        return rampMax > rampStart && rampStep > 0;
    }

    /** The same options measuring another process, bound to another local address (the Janus run). */
    LoadOptions withServer(long pid, String bind) {
        return new LoadOptions(server, secret, pid, rampStart, rampStep, rampMax, stepDuration, warmup,
                participantsPerConsultation, videoKbps, impairedShare, impairment, maxLossPercent, maxP99Millis,
                maxJoinMillis, out, bind, threads, pinning, noisyNeighbourPercent);
    }

    /** The generator's share of the machine, in percent of one core: its cores when pinned, else all cores. */
    double generatorCapacityPercent() {
        int n = CpuPinning.count(pinning.generatorCpus());
        return 100.0 * (n > 0 ? n : Runtime.getRuntime().availableProcessors());
    }
}
