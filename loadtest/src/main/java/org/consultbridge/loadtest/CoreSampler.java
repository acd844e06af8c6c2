package org.consultbridge.loadtest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * How busy some cores were between two calls, from {@code /proc/stat} (proc(5): per-CPU jiffies). Together with a
 * process's own CPU time this gives what OTHER processes took of the cores a pinned process runs on: the honest
 * "busy machine" test. (A process's threads waiting for each other on its one pinned core is not a busy machine: a
 * server with dozens of threads on one core waits on itself; /proc/stat does not care who waits.) Steal time (what
 * the hypervisor gave other guests while ours wanted the core) is kept apart: no process of ours can see it.
 */
final class CoreSampler {

    private static final double TICKS_PER_SECOND = 100; // USER_HZ on Linux
    private final Set<Integer> cpus; // null: all
    private long lastBusy = -1;
    private long lastSteal = -1;
    private long lastNanos;

    /**
     * The cores' use over a window, in percent of one core (summed over the cores: 150 = one and a half cores).
     *
     * @param busyPercent  user, nice, system and steal time
     * @param stealPercent steal time alone (included in {@code busyPercent})
     */
    record Usage(double busyPercent, double stealPercent) {
        static final Usage UNKNOWN = new Usage(Double.NaN, Double.NaN);
    }

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
        return sample().busyPercent();
    }

    /** Busy and steal time since the previous call ({@link #busyPercent()} and steal); NaN on the first call. */
    Usage sample() {
        List<String> stat;
        try {
            stat = Files.readAllLines(Path.of("/proc/stat"));
        } catch (IOException | RuntimeException e) {
            stat = List.of();
        }
        long busy;
        long steal;
        try {
            busy = busyTicks(stat, cpus);
            steal = stealTicks(stat, cpus);
        } catch (RuntimeException e) {
            busy = -1;
            steal = -1;
        }
        long now = System.nanoTime();
        Usage result = Usage.UNKNOWN;
        if (lastBusy >= 0 && busy >= 0) {
            double seconds = (now - lastNanos) / 1e9;
            result = new Usage(100.0 * (busy - lastBusy) / TICKS_PER_SECOND / seconds,
                    100.0 * (steal - lastSteal) / TICKS_PER_SECOND / seconds);
        }
        lastBusy = busy;
        lastSteal = steal;
        lastNanos = now;
        return result;
    }

    /** Sum of user, nice, system and steal over the {@code cpuN} lines of {@code cpus} (all when null). */
    static long busyTicks(Iterable<String> procStat, Set<Integer> cpus) {
        return ticks(procStat, cpus, true);
    }

    /** Sum of steal over the {@code cpuN} lines of {@code cpus} (all when null); -1 without such a line. */
    static long stealTicks(Iterable<String> procStat, Set<Integer> cpus) {
        return ticks(procStat, cpus, false);
    }

    private static long ticks(Iterable<String> procStat, Set<Integer> cpus, boolean busy) {
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
            long steal = f.length > 8 ? Long.parseLong(f[8]) : 0;
            sum += busy ? Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3]) + steal : steal;
            any = true;
        }
        return any ? sum : -1;
    }
}
