package org.consultbridge.loadtest;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A noisy neighbour ({@code --noisy-neighbour PCT}): a small JVM of its own, pinned with {@code taskset} to the server's
 * cores, that is busy for {@code PCT} ms of CPU in every {@value #PERIOD_MILLIS} ms and sleeps the rest: about PCT % of
 * one core taken from the server under test, as a co-tenant on a shared host would. It measures how each server copes
 * with less than a whole core.
 *
 * <p>It cannot outlive the tool: {@link #close()} ends it, a shutdown hook ends it when the tool exits otherwise, and
 * the child itself exits when its standard input (a pipe from the tool) closes, i.e. when the tool is killed.
 */
final class NoisyNeighbour implements AutoCloseable {

    static final long PERIOD_MILLIS = 100;
    private static final String READY = "noisy-neighbour spinning";

    private final Process process;
    private final Thread hook;
    private final int percent;
    private final String cpus;

    private NoisyNeighbour(Process process, Thread hook, int percent, String cpus) {
        this.process = process;
        this.hook = hook;
        this.percent = percent;
        this.cpus = cpus;
    }

    /**
     * Starts the neighbour at {@code percent} % of one core on {@code cpus} (a {@code taskset -c} list; null:
     * unpinned) and returns once it spins.
     */
    static NoisyNeighbour start(int percent, String cpus) throws IOException, InterruptedException {
        if (percent < 1 || percent > 100) {
            throw new IllegalArgumentException("percent must be 1 to 100, got " + percent);
        }
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        // a small JVM that compiles little and collects nothing: its own overhead is noise in the noise
        command.addAll(List.of("-Xms8m", "-Xmx16m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
                "-cp", System.getProperty("java.class.path"), NoisyNeighbour.class.getName(),
                String.valueOf(percent)));
        ProcessBuilder pb = new ProcessBuilder(new CpuPinning(cpus, null).serverCommand(command))
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        Thread hook = new Thread(p::destroyForcibly, "noisy-neighbour-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        NoisyNeighbour n = new NoisyNeighbour(p, hook, percent, cpus);
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = r.readLine(); // blocks until it spins, or ends when it exits
            if (line == null || !line.startsWith(READY)) {
                throw new IOException("the noisy neighbour did not start: " + (line == null ? "exit "
                        + p.waitFor() : line) + " (" + String.join(" ", pb.command()) + ")");
            }
        } catch (IOException | RuntimeException e) {
            n.close();
            throw e;
        }
        return n;
    }

    long pid() {
        return process.pid();
    }

    int percent() {
        return percent;
    }

    /** The cores it is pinned to, or null. */
    String cpus() {
        return cpus;
    }

    boolean alive() {
        return process.isAlive();
    }

    /** Closes its standard input, as the tool's death would (tests: it must exit by itself). */
    void orphan() throws IOException {
        process.getOutputStream().close();
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return percent + " % of one core on " + (cpus == null ? "any core (unpinned)" : "core(s) " + cpus);
    }

    /** The child: {@code NoisyNeighbour PCT}. */
    public static void main(String[] args) {
        int percent = Integer.parseInt(args[0]);
        Thread.ofPlatform().daemon().name("parent-watch").start(() -> {
            try {
                while (System.in.read() >= 0) {
                    // nothing is sent; EOF means the tool is gone
                }
            } catch (IOException e) {
                // the same
            }
            System.exit(0);
        });
        System.out.println(READY + " " + percent + " %");
        System.out.flush();
        spin(percent, Long.MAX_VALUE);
    }

    /**
     * Busy for {@code percent} % of every period, as CPU time of this thread (so a neighbour that the scheduler
     * preempts catches up within the period instead of counting wall time it did not run), then asleep until the
     * next period; until {@code untilNanos} ({@link System#nanoTime()}).
     */
    static void spin(int percent, long untilNanos) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long period = TimeUnit.MILLISECONDS.toNanos(PERIOD_MILLIS);
        long busy = period * percent / 100;
        long start = System.nanoTime();
        while (start - untilNanos < 0) {
            long end = start + period;
            long cpu0 = threads.getCurrentThreadCpuTime();
            while (System.nanoTime() - end < 0 && threads.getCurrentThreadCpuTime() - cpu0 < busy) {
                Thread.onSpinWait();
            }
            long now = System.nanoTime();
            if (end - now > 0) {
                LockSupport.parkNanos(end - now);
            }
            // a period overrun (stopped, starved) starts afresh rather than bursting to catch up
            start = System.nanoTime() - end > period ? System.nanoTime() : end;
        }
    }
}
