package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * CPU use and resident memory of a process from /proc: the server under load. Compared with what the JVM itself
 * reports through its management beans (the same kernel counters, read another way), so the test holds however busy
 * the machine is.
 */
class ProcessSamplerTest {

    @Test
    void cpuTimeAgreesWithTheJvmsOwnAccount() throws Exception {
        ProcessSampler self = new ProcessSampler(ProcessHandle.current().pid());
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        var threads = ManagementFactory.getThreadMXBean();
        assertThat(self.cpuPercent()).isNaN();
        AtomicBoolean stop = new AtomicBoolean();
        long[] spinnerNanos = new long[1];
        double before = self.cpuSeconds();
        Thread spinner = Thread.ofPlatform().start(() -> {
            long x = 0;
            while (!stop.get()) {
                x++;
            }
            if (x == 42) {
                System.out.print("");
            }
            spinnerNanos[0] = threads.getCurrentThreadCpuTime();
        });
        Thread.sleep(600);
        stop.set(true);
        spinner.join();
        double after = self.cpuSeconds();
        double processAfter = os.getProcessCpuTime() / 1e9;
        double spun = spinnerNanos[0] / 1e9;
        assertThat(spun).as("the spinner ran").isPositive();
        // /proc counts in 10 ms ticks: allow two either side
        assertThat(after - before).as("process CPU over the window covers the spinner's")
                .isGreaterThanOrEqualTo(spun - 0.02);
        assertThat(after).as("and never exceeds the JVM's own total").isLessThanOrEqualTo(processAfter + 0.02);
        assertThat(self.cpuPercent()).isPositive();
        assertThat(self.rssMb()).isPositive();
        assertThat(new ProcessSampler(Long.MAX_VALUE).rssMb()).as("no such process").isNaN();
        assertThat(new ProcessSampler(Long.MAX_VALUE).cpuSeconds()).isNaN();
    }
}
