package org.consultbridge.loadtest;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The JVM options a ConsultBridge server runs with: the same as {@code ./consultbridge run} (keep the two in step),
 * so the load test measures what a user runs. {@code CB_SERVER_JVM_OPTS} replaces them (space-separated), for
 * experiments.
 */
final class ServerJvm {

    private ServerJvm() {
    }

    /**
     * Generational ZGC (sub-millisecond pauses; on one pinned core the JVM would pick Serial GC, whose young pauses
     * show up as the p99 latency) with an explicit heap and direct-memory budget, and a GC log beside the report so
     * pauses can be checked. The heap may grow to 512 MiB but ZGC aims to stay under 160 MiB (SoftMaxHeapSize):
     * with -Xmx160m the collector ran back to back at 30 consultations (live set ~60 MiB, a high allocation rate)
     * and took the core (p99 172-283 ms, 96 % CPU); with room to grow the same step passed at 47 % CPU.
     */
    static final List<String> DEFAULT = List.of("-XX:+UseZGC", "-Xms64m", "-Xmx512m", "-XX:SoftMaxHeapSize=160m",
            "-XX:MaxDirectMemorySize=64m", "-XX:ReservedCodeCacheSize=64m", "-XX:MaxMetaspaceSize=128m", "-Xss512k",
            "--enable-native-access=ALL-UNNAMED");

    /** glibc's malloc arenas capped as in {@code ./consultbridge run}: the JVM's threads would each get one. */
    static java.util.Map<String, String> environment() {
        return java.util.Map.of("MALLOC_ARENA_MAX", System.getenv().getOrDefault("MALLOC_ARENA_MAX", "2"));
    }

    static List<String> options(Path out) throws java.io.IOException {
        java.nio.file.Files.createDirectories(out); // the JVM does not create the GC log's folder
        String override = System.getenv("CB_SERVER_JVM_OPTS");
        List<String> l = new ArrayList<>(override == null || override.isBlank() ? DEFAULT
                : List.of(override.trim().split("\\s+")));
        l.add("-Xlog:gc*:file=" + out.resolve("server-gc.log") + ":time,uptime,level,tags");
        return l;
    }
}
