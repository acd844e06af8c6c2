package org.consultbridge.loadtest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time and resident memory of a process, read from Linux /proc (proc(5)): the server under load. */
final class ProcessSampler {

    private final long pid;
    private final long ticksPerSecond;
    private long lastTicks = -1;
    private long lastNanos;

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

    /** CPU time the process has used so far, in seconds (user + system, all its threads); NaN if unreadable. */
    double cpuSeconds() {
        long ticks = ticks();
        return ticks < 0 ? Double.NaN : (double) ticks / ticksPerSecond;
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
