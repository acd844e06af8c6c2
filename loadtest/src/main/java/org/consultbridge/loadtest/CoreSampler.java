package org.consultbridge.loadtest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * How busy some cores were between two calls, from {@code /proc/stat} (proc(5): per-CPU jiffies). Together with a
 * process's own CPU time this gives what OTHER processes took of the cores a pinned process runs on: the honest
 * "busy machine" test. (A process's threads waiting for each other on its one pinned core is not a busy machine: a
 * server with dozens of threads on one core waits on itself; /proc/stat does not care who waits.)
 */
final class CoreSampler {

    private static final double TICKS_PER_SECOND = 100; // USER_HZ on Linux
    private final Set<Integer> cpus; // null: all
    private long lastBusy = -1;
    private long lastNanos;

    /** {@code cpus}: the cores to watch, or null for the whole machine. */
    CoreSampler(Set<Integer> cpus) {
        this.cpus = cpus;
    }

    /**
     * Busy time of the cores since the previous call, in percent of one core (user, nice, system and steal time: a
     * hypervisor's steal counts, the kernel's interrupt work for our own packets does not); NaN on the first call or
     * without /proc/stat.
     */
    double busyPercent() {
        long busy = busyTicks();
        long now = System.nanoTime();
        double result = Double.NaN;
        if (lastBusy >= 0 && busy >= 0) {
            result = 100.0 * (busy - lastBusy) / TICKS_PER_SECOND / ((now - lastNanos) / 1e9);
        }
        lastBusy = busy;
        lastNanos = now;
        return result;
    }

    private long busyTicks() {
        try {
            return busyTicks(Files.readAllLines(Path.of("/proc/stat")), cpus);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Sum of user, nice, system and steal over the {@code cpuN} lines of {@code cpus} (all when null). */
    static long busyTicks(Iterable<String> procStat, Set<Integer> cpus) {
        long sum = 0;
        boolean any = false;
        for (String line : procStat) {
            if (!line.startsWith("cpu") || line.length() < 4 || !Character.isDigit(line.charAt(3))) {
                continue;
            }
            String[] f = line.split("\\s+");
            if (cpus != null && !cpus.contains(Integer.parseInt(f[0].substring(3)))) {
                continue;
            }
            // cpuN user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
            sum += Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3])
                    + (f.length > 8 ? Long.parseLong(f[8]) : 0);
            any = true;
        }
        return any ? sum : -1;
    }
}
