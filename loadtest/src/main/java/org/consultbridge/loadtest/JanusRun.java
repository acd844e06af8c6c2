package org.consultbridge.loadtest;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The load against Janus: a network namespace, Janus started in it, the generator bound to our end of the veth
 * pair, Janus's CPU and memory sampled by its pid; the same ramp, media and objectives as the ConsultBridge run.
 * Everything is torn down afterwards (Janus's log stays in {@code <out>/janus/janus.log}).
 */
final class JanusRun {

    private JanusRun() {
    }

    /**
     * Janus started and a runner (not yet warmed up) ready to load it, until {@link #close()}: with
     * {@code --target both} it stays up, idle, while ConsultBridge takes its steps.
     */
    record Target(NetNs ns, JanusServer janus, LoadOptions options, LoadRunner runner) implements AutoCloseable {
        @Override
        public void close() {
            try {
                runner.close();
            } finally {
                try {
                    janus.close();
                } finally {
                    ns.close();
                }
            }
        }
    }

    /** Starts Janus in a namespace of its own, on the server's cores, and a runner for it. */
    static Target open(LoadOptions o, PrintStream out) throws Exception {
        Path dir = o.out().toAbsolutePath().resolve("janus");
        NetNs ns = NetNs.create();
        JanusServer janus = null;
        try {
            janus = JanusServer.start(ns, dir, o.pinning().serverCpus());
            out.printf("janus %s started in namespace %s (pid %d, cores %s)%n", janus.wsUri(), ns.name(), janus.pid(),
                    CpuPinning.affinity(janus.pid()));
            LoadOptions jo = forJanus(o, janus.pid(), ns.hostAddress().getHostAddress());
            return new Target(ns, janus, jo, new LoadRunner(jo, out, JanusParticipant.factory(janus.wsUri())));
        } catch (Exception | Error e) {
            if (janus != null) {
                janus.close();
            }
            ns.close();
            throw e;
        }
    }

    /** The whole run against Janus alone. */
    static Report.Run run(LoadOptions o, PrintStream out) throws Exception {
        try (Target t = open(o, out)) {
            t.runner().warmUp();
            LinkedHashMap<String, LoadRunner> one = new LinkedHashMap<>();
            one.put("janus", t.runner());
            List<StepResult> steps = LoadRunner.ramp(one, out).get("janus");
            return new Report.Run("janus", t.options(), steps);
        }
    }

    /** The same options, but measuring Janus's process and binding to our end of the namespace's veth pair. */
    static LoadOptions forJanus(LoadOptions o, long pid, String bind) {
        return o.withServer(pid, bind);
    }
}
