package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The figures a step derives from its raw counts. */
class StepResultTest {

    @Test
    void serverCpuTimePerForwardedPacket() {
        // half a CPU second for 100,000 forwarded packets: 5 µs each
        assertThat(StepResult.microsPerPacket(0.5, 100_000)).isCloseTo(5.0, within(1e-9));
        // a server at 40 % of a core for 8 s forwarding 4,000 pkt/s: 3.2 s / 32,000 packets = 100 µs
        assertThat(StepResult.microsPerPacket(0.40 * 8, 4_000 * 8)).isCloseTo(100.0, within(1e-9));
        assertThat(StepResult.microsPerPacket(0, 1_000)).as("an idle server").isZero();
        assertThat(StepResult.microsPerPacket(1.0, 0)).as("nothing forwarded").isNaN();
        assertThat(StepResult.microsPerPacket(Double.NaN, 1_000)).as("server not measured (--url without pid)")
                .isNaN();
        assertThat(StepResult.microsPerPacket(-0.01, 1_000)).as("a process gone mid-window").isNaN();
    }

    @Test
    void aBusyMachineIsOthersAndStealBeyondTheNeighbourWeStarted() {
        assertThat(StepResult.busy(5, 0, Double.NaN)).isFalse();
        assertThat(StepResult.busy(25, 0, Double.NaN)).isTrue();
        assertThat(StepResult.busy(10, 15, Double.NaN)).as("steal counts").isTrue();
        assertThat(StepResult.busy(Double.NaN, Double.NaN, Double.NaN)).as("nothing known").isFalse();
        // a 20 % neighbour on the server's core (or an idle other server) is on purpose: only what is beyond it makes
        // the machine busy
        assertThat(StepResult.busy(24, 1, 20)).isFalse();
        assertThat(StepResult.busy(45, 0, 20)).isTrue();
    }
}
