package org.consultbridge.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short host command (mostly {@code ip}) with a time limit and captured output.
 *
 * <p>Why a class of its own: every failure of the end-to-end harness must say which command failed and what it
 * printed, and a hung command must never hang the test run.
 */
final class HostCommand {

    /** Default limit for one {@code ip} invocation; they normally take a few milliseconds. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    /** Exit code and merged stdout/stderr of a finished command. */
    record Result(List<String> command, int exitCode, String output) {
        boolean ok() {
            return exitCode == 0;
        }

        /** Returns the output, or throws a clear error naming the command if it failed. */
        String orThrow() {
            if (!ok()) {
                throw new IllegalStateException("command `" + String.join(" ", command) + "` failed with exit code "
                        + exitCode + ": " + output.strip());
            }
            return output;
        }
    }

    private HostCommand() {
    }

    /** Runs {@code command}, failing with a clear message if it exits non-zero. */
    static String check(String... command) {
        return run(DEFAULT_TIMEOUT, List.of(command)).orThrow();
    }

    /** Runs {@code command} and returns its result whatever the exit code (for best-effort cleanup). */
    static Result tryRun(String... command) {
        return run(DEFAULT_TIMEOUT, List.of(command));
    }

    /**
     * Runs a command, merging stderr into stdout. A command that outlives {@code timeout} is killed and reported as
     * an {@link IllegalStateException}; a command that cannot be started is reported the same way.
     */
    static Result run(Duration timeout, List<String> command) {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start `" + String.join(" ", command) + "`: " + e.getMessage(), e);
        }
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> copy(process.getInputStream(), output));
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new IllegalStateException("command `" + String.join(" ", command) + "` did not finish within "
                        + timeout.toMillis() + " ms");
            }
            reader.join(timeout.toMillis());
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running `" + String.join(" ", command) + "`", e);
        }
        String text;
        synchronized (output) {
            text = output.toString(StandardCharsets.UTF_8);
        }
        return new Result(List.copyOf(command), process.exitValue(), text);
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        byte[] buffer = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                synchronized (out) {
                    out.write(buffer, 0, n);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
