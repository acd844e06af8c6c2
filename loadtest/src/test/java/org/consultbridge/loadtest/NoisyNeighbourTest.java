package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The noisy neighbour takes about the share of a core it was asked for, measured from outside as the server's CPU is
 * (/proc/PID/stat), and never outlives the tool.
 */
class NoisyNeighbourTest {

    @Test
    void takesAboutTheAskedShareOfACore() throws Exception {
        int percent = 30;
        try (NoisyNeighbour n = NoisyNeighbour.start(percent, null)) {
            ProcessSampler cpu = new ProcessSampler(n.pid());
            Thread.sleep(300); // past the JVM's start-up and the first compilations
            double before = cpu.cpuSeconds();
            long t0 = System.nanoTime();
            Thread.sleep(2000);
            double used = cpu.cpuSeconds() - before;
            double seconds = (System.nanoTime() - t0) / 1e9;
            double measured = 100 * used / seconds;
            // a wide band (shared machine, 10 ms ticks), but a neighbour spinning flat out (100 %) or idling fails it
            assertThat(measured).as("%% of one core over %.1f s", seconds).isBetween(0.5 * percent, 1.6 * percent);
            assertThat(n.alive()).isTrue();
        }
    }

    @Test
    void endsWhenClosedOrOrphaned() throws Exception {
        NoisyNeighbour n = NoisyNeighbour.start(10, null);
        long pid = n.pid();
        assertThat(ProcessHandle.of(pid)).isPresent();
        n.close();
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();

        // the tool killed (no close, no shutdown hook): the neighbour sees its standard input close and exits
        NoisyNeighbour orphan = NoisyNeighbour.start(10, null);
        try {
            orphan.orphan();
            ProcessHandle h = ProcessHandle.of(orphan.pid()).orElseThrow();
            assertThat(h.onExit().get(10, TimeUnit.SECONDS).isAlive()).isFalse();
        } finally {
            orphan.close();
        }
    }

    @Test
    void pinnedToTheCoresItIsGiven() throws Exception {
        try (NoisyNeighbour n = NoisyNeighbour.start(5, "0")) {
            assertThat(CpuPinning.affinity(n.pid())).isEqualTo("0");
        }
        assertThatThrownBy(() -> NoisyNeighbour.start(0, null)).isInstanceOf(IllegalArgumentException.class);
    }
}
