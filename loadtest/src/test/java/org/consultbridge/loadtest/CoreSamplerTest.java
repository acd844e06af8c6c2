package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Busy time per core from /proc/stat: what tells a busy machine from a server waiting on itself. */
class CoreSamplerTest {

    private static final List<String> STAT = List.of(
            "cpu  300 20 100 9000 5 1 2 7 0 0",
            "cpu0 100 10 50 4500 2 1 1 3 0 0",
            "cpu1 200 10 50 4500 3 0 1 4 0 0",
            "intr 12345 0 0",
            "ctxt 999");

    @Test
    void sumsUserNiceSystemAndStealOfTheChosenCores() {
        assertThat(CoreSampler.busyTicks(STAT, Set.of(0))).isEqualTo(100 + 10 + 50 + 3);
        assertThat(CoreSampler.busyTicks(STAT, Set.of(1))).isEqualTo(200 + 10 + 50 + 4);
        assertThat(CoreSampler.busyTicks(STAT, null)).as("all cores, not the summary line twice")
                .isEqualTo(163 + 264);
        assertThat(CoreSampler.busyTicks(STAT, Set.of(7))).as("no such core").isEqualTo(-1);
    }

    @Test
    void stealApart() {
        assertThat(CoreSampler.stealTicks(STAT, Set.of(0))).isEqualTo(3);
        assertThat(CoreSampler.stealTicks(STAT, Set.of(1))).isEqualTo(4);
        assertThat(CoreSampler.stealTicks(STAT, null)).isEqualTo(7);
        assertThat(CoreSampler.stealTicks(List.of("cpu0 1 2 3 4"), null)).as("an old kernel: no steal field")
                .isZero();
        CoreSampler cores = new CoreSampler(Set.of(0));
        assertThat(cores.sample().stealPercent()).as("first call").isNaN();
        CoreSampler.Usage u = cores.sample();
        assertThat(u.stealPercent()).isGreaterThanOrEqualTo(0).isLessThanOrEqualTo(u.busyPercent());
    }

    @Test
    void aSpinningThreadShowsAsABusyCore() throws Exception {
        CoreSampler machine = new CoreSampler(null);
        assertThat(machine.busyPercent()).isNaN();
        AtomicBoolean stop = new AtomicBoolean();
        Thread spinner = Thread.ofPlatform().start(() -> {
            long x = 0;
            while (!stop.get()) {
                x++;
            }
            if (x == 42) {
                System.out.print("");
            }
        });
        try {
            Thread.sleep(500);
            // one thread spinning for the whole window: about a core, whatever else runs
            assertThat(machine.busyPercent()).isGreaterThan(50);
        } finally {
            stop.set(true);
            spinner.join();
        }
    }
}
