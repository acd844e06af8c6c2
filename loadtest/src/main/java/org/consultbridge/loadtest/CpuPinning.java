package org.consultbridge.loadtest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * Which cores the server under test and the generator run on ({@code taskset(1)}, util-linux), so that capacity is
 * stated per core and the generator cannot steal the server's core: by default, on a machine with two or more
 * cores, the server gets core 0 and the generator core 1. A side without a list is not pinned.
 *
 * @param serverCpus    a CPU list for {@code taskset -c} (e.g. {@code 0}, {@code 0-1}, {@code 0,2}), or null
 * @param generatorCpus the same for the generator's own process, or null
 */
record CpuPinning(String serverCpus, String generatorCpus) {

    static final CpuPinning NONE = new CpuPinning(null, null);

    /** The default for a machine with {@code cores} cores: server on 0, generator on 1 (none on one core). */
    static CpuPinning defaults(int cores) {
        return cores >= 2 ? new CpuPinning("0", "1") : NONE;
    }

    /**
     * The cores of a {@code taskset -c} list, validated against the machine's {@code cores}.
     *
     * @throws IllegalArgumentException saying what is wrong
     */
    static TreeSet<Integer> parseList(String option, String list, int cores) {
        TreeSet<Integer> cpus = new TreeSet<>();
        if (list.isBlank()) {
            throw new IllegalArgumentException(option + " is empty (a core list like 0, 0-1 or 0,2; or none)");
        }
        for (String part : list.split(",")) {
            String[] range = part.strip().split("-", -1);
            if (range.length > 2) {
                throw new IllegalArgumentException(option + ": bad core range \"" + part + "\"");
            }
            int from = core(option, range[0], cores);
            int to = range.length == 2 ? core(option, range[1], cores) : from;
            if (to < from) {
                throw new IllegalArgumentException(option + ": bad core range \"" + part + "\" (end before start)");
            }
            for (int c = from; c <= to; c++) {
                cpus.add(c);
            }
        }
        return cpus;
    }

    private static int core(String option, String s, int cores) {
        int c;
        try {
            c = Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": not a core number: \"" + s.strip() + "\"");
        }
        if (c < 0 || c >= cores) {
            throw new IllegalArgumentException(option + ": core " + c + " does not exist (this machine has cores 0-"
                    + (cores - 1) + ")");
        }
        return c;
    }

    /** How many cores a list names (0 for null: unpinned). */
    static int count(String list) {
        return list == null ? 0 : parseList("cpus", list, Integer.MAX_VALUE).size();
    }

    /** {@code command} prefixed to run on the server's cores ({@code taskset} execs it: the pid stays the command's). */
    List<String> serverCommand(List<String> command) {
        if (serverCpus == null) {
            return command;
        }
        List<String> l = new ArrayList<>(List.of(taskset(), "-c", serverCpus));
        l.addAll(command);
        return l;
    }

    /** Pins every thread of this JVM (and so the threads it starts later) to the generator's cores. */
    void pinGenerator() throws IOException, InterruptedException {
        if (generatorCpus != null) {
            pin(ProcessHandle.current().pid(), generatorCpus);
        }
    }

    /** Pins every thread of a running process (a server given by {@code --server-pid}). */
    static void pin(long pid, String cpus) throws IOException, InterruptedException {
        run(List.of(taskset(), "-a", "-p", "-c", cpus, String.valueOf(pid)));
    }

    /** The affinity of a process as {@code taskset -p -c} reports it, e.g. "0" or "0,1"; "?" when unknown. */
    static String affinity(long pid) {
        try {
            String out = run(List.of(taskset(), "-p", "-c", String.valueOf(pid))).strip();
            return out.substring(out.lastIndexOf(':') + 1).strip();
        } catch (IOException | InterruptedException | RuntimeException e) {
            return "?";
        }
    }

    private static String taskset() {
        for (String p : List.of("/usr/bin/taskset", "/bin/taskset")) {
            if (java.nio.file.Files.isExecutable(java.nio.file.Path.of(p))) {
                return p;
            }
        }
        return "taskset";
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run taskset (util-linux): " + e.getMessage()
                    + "; install it or pass --server-cpus none --generator-cpus none", e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + ": timed out");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + ": exit " + p.exitValue() + ": " + out.strip());
        }
        return out;
    }

    @Override
    public String toString() {
        return "server " + (serverCpus == null ? "unpinned" : "core(s) " + serverCpus) + ", generator "
                + (generatorCpus == null ? "unpinned" : "core(s) " + generatorCpus);
    }
}
