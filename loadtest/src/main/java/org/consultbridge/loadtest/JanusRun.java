package org.consultbridge.loadtest;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * One run of the load against Janus: a network namespace, Janus started in it, the generator bound to our end of
 * the veth pair, Janus's CPU and memory sampled by its pid; the same ramp, media and objectives as the ConsultBridge
 * run. Everything is torn down afterwards (Janus's log stays in {@code <out>/janus/janus.log}).
 */
final class JanusRun {

    private JanusRun() {
    }

    static Report.Run run(LoadOptions o, PrintStream out) throws Exception {
        Path dir = o.out().toAbsolutePath().resolve("janus");
        try (NetNs ns = NetNs.create(); JanusServer janus = JanusServer.start(ns, dir, o.pinning().serverCpus())) {
            out.printf("janus %s started in namespace %s (pid %d, cores %s)%n", janus.wsUri(), ns.name(), janus.pid(),
                    CpuPinning.affinity(janus.pid()));
            LoadOptions jo = forJanus(o, janus.pid(), ns.hostAddress().getHostAddress());
            try (LoadRunner runner = new LoadRunner(jo, out, JanusParticipant.factory(janus.wsUri()))) {
                List<StepResult> steps = runner.run();
                return new Report.Run("janus", jo, steps);
            }
        }
    }

    /** The same options, but measuring Janus's process and binding to our end of the namespace's veth pair. */
    static LoadOptions forJanus(LoadOptions o, long pid, String bind) {
        return o.withServer(pid, bind);
    }
}
