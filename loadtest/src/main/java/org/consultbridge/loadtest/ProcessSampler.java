package org.consultbridge.loadtest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** CPU time and resident memory of a process, read from Linux /proc (proc(5)): the server under load. */
final class ProcessSampler {

    private final long pid;
    private final long ticksPerSecond;
    private long lastTicks = -1;
    private long lastNanos;
    private Map<String, Long> lastWait;
    private long lastWaitSampleNanos;

    ProcessSampler(long pid) {
        this.pid = pid;
        this.ticksPerSecond = 100; // USER_HZ on Linux
    }

    /** CPU used since the previous call, in percent of one core (200 = two cores busy); NaN on the first call. */
    double cpuPercent() {
        long ticks = ticks();
        long now = System.nanoTime();
        double result = Double.NaN;
        if (lastTicks >= 0 && ticks >= 0) {
            double seconds = (now - lastNanos) / 1e9;
            result = 100.0 * (ticks - lastTicks) / ticksPerSecond / seconds;
        }
        lastTicks = ticks;
        lastNanos = now;
        return result;
    }

    private long ticks() {
        try {
            String stat = new String(Files.newInputStream(Path.of("/proc", String.valueOf(pid), "stat")).readAllBytes());
            // fields after the command name in parentheses: state is field 3; utime 14, stime 15
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Time its threads spent runnable but waiting for a CPU since the previous call, in percent of one core: the sum,
     * over threads alive at both calls, of the growth of {@code /proc/PID/task/TID/schedstat}'s second field (run
     * delay). Threads are compared one by one so that a thread ending between two calls does not make the sum drop.
     * NaN on the first call or without schedstat. High values mean other processes took the cores: the figures then
     * describe a busy machine, not the server.
     */
    double cpuWaitPercent() {
        Map<String, Long> wait = waitNanosByThread();
        long now = System.nanoTime();
        double result = Double.NaN;
        if (lastWait != null && wait != null) {
            long sum = 0;
            for (Map.Entry<String, Long> e : wait.entrySet()) {
                Long before = lastWait.get(e.getKey());
                if (before != null && e.getValue() >= before) {
                    sum += e.getValue() - before;
                }
            }
            result = 100.0 * sum / (now - lastWaitSampleNanos);
        }
        lastWait = wait;
        lastWaitSampleNanos = now;
        return result;
    }

    private Map<String, Long> waitNanosByThread() {
        try (var tasks = Files.newDirectoryStream(Path.of("/proc", String.valueOf(pid), "task"))) {
            Map<String, Long> byThread = new HashMap<>();
            for (Path t : tasks) {
                try {
                    String[] f = Files.readString(t.resolve("schedstat")).strip().split(" ");
                    byThread.put(t.getFileName().toString(), Long.parseLong(f[1]));
                } catch (IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
            return byThread;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Resident set size in MiB, or NaN. */
    double rssMb() {
        try {
            for (String line : new String(Files.newInputStream(Path.of("/proc", String.valueOf(pid), "status"))
                    .readAllBytes()).split("\n")) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
