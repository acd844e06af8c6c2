package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * CPU use and CPU wait of a process from /proc. Three spinning threads pinned to one CPU (with taskset, as the load
 * test pins the server) can run only a third of the time each, so together they wait about two cores' worth: that
 * holds on any machine, whatever its core count or container CPU quota.
 */
class ProcessSamplerTest {

    @Test
    void threadsSharingOneCpuWaitForIt() throws Exception {
        assumeThat(Path.of("/proc/self/task")).isDirectory();
        int cpu = firstAllowedCpu();
        ProcessSampler self = new ProcessSampler(ProcessHandle.current().pid());
        assertThat(self.cpuPercent()).isNaN();
        assertThat(self.cpuWaitPercent()).isNaN();
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch started = new CountDownLatch(3);
        List<Thread> spinners = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            spinners.add(Thread.ofPlatform().name("pinned-spinner-" + i).start(() -> {
                started.countDown();
                long x = 0;
                while (!stop.get()) {
                    x++;
                }
                if (x == 42) {
                    System.out.print("");
                }
            }));
        }
        try {
            assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
            List<String> tids = spinnerThreadIds();
            assertThat(tids).hasSize(3);
            for (String tid : tids) {
                Process p = new ProcessBuilder("taskset", "-p", "-c", String.valueOf(cpu), tid)
                        .redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                assertThat(p.waitFor()).as("taskset on thread " + tid).isZero();
            }
            self.cpuPercent();
            self.cpuWaitPercent();
            Thread.sleep(600);
            double used = self.cpuPercent();
            double waited = self.cpuWaitPercent();
            // three threads on one CPU: about 100 % used and 200 % waited; allow for a busy machine and tick granularity
            assertThat(used).isGreaterThan(40);
            assertThat(waited).isGreaterThan(80);
            assertThat(self.rssMb()).isPositive();
        } finally {
            stop.set(true);
            for (Thread t : spinners) {
                t.join();
            }
        }
        // the spinners have ended: their threads are gone from /proc, which must not read as negative waiting
        assertThat(self.cpuWaitPercent()).isGreaterThanOrEqualTo(0);
    }

    private static List<String> spinnerThreadIds() throws Exception {
        List<String> tids = new ArrayList<>();
        try (var tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) {
                try {
                    if (Files.readString(t.resolve("comm")).strip().startsWith("pinned-spinner")) {
                        tids.add(t.getFileName().toString());
                    }
                } catch (java.io.IOException e) {
                    // thread ended
                }
            }
        }
        return tids;
    }

    private static int firstAllowedCpu() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Cpus_allowed_list:")) {
                String first = line.substring(line.indexOf(':') + 1).strip().split("[,-]")[0];
                return Integer.parseInt(first);
            }
        }
        return 0;
    }
}
