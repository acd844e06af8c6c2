package org.consultbridge.loadtest;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Janus (Debian's {@code janus} package, 1.1) started by the tool inside a {@link NetNs}, as the peer to compare
 * with: a configuration folder we generate (VideoRoom the only plugin, the WebSocket transport the only transport,
 * bound to the namespace's address; no STUN, TURN or NAT settings; ICE gathering on the namespace's veth only, since
 * libnice ignores loopback), so it is the same Janus anyone gets from {@code apt-get install janus}.
 */
final class JanusServer implements AutoCloseable {

    static final String BINARY = "/usr/bin/janus";
    private static final String LIB = "/usr/lib/x86_64-linux-gnu/janus";
    private static final List<String> OTHER_PLUGINS = List.of("audiobridge", "duktape", "echotest", "lua", "nosip",
            "recordplay", "sip", "streaming", "textroom", "videocall", "voicemail");
    private static final List<String> OTHER_TRANSPORTS = List.of("http", "mqtt", "nanomsg", "pfunix", "rabbitmq");
    private static final List<String> EVENT_HANDLERS = List.of("gelfevh", "mqttevh", "nanomsgevh", "rabbitmqevh",
            "sampleevh", "wsevh");
    static final int WS_PORT = 8188;

    private final NetNs ns;
    private final Process process;
    private final Path dir;
    /** Ends Janus should the tool exit without closing it (an exception, Ctrl-C). */
    private final Thread hook;

    private JanusServer(NetNs ns, Process process, Path dir) {
        this.ns = ns;
        this.process = process;
        this.dir = dir;
        this.hook = new Thread(process::destroyForcibly, "janus-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** True when the package is installed (the test and the CLI say so clearly otherwise). */
    static boolean installed() {
        return Files.isExecutable(Path.of(BINARY)) && Files.isDirectory(Path.of(LIB, "plugins"));
    }

    /** Writes the configuration into {@code dir}, starts Janus in {@code ns}, waits until its WebSocket API listens. */
    static JanusServer start(NetNs ns, Path dir) throws IOException, InterruptedException {
        return start(ns, dir, null);
    }

    /**
     * The same, pinned to {@code cpus} (a {@code taskset -c} list; null: unpinned) like the ConsultBridge server, so
     * both are measured on the same core: {@code ip netns exec NS taskset -c CPUS janus ...}, each exec'ing the next.
     */
    static JanusServer start(NetNs ns, Path dir, String cpus) throws IOException, InterruptedException {
        if (!installed()) {
            throw new IOException(BINARY + " not found: apt-get install -y janus");
        }
        Files.createDirectories(dir);
        writeConfig(ns, dir);
        List<String> janus = List.of(BINARY, "-C", dir.resolve("janus.jcfg").toString(), "-F", dir.toString());
        ProcessBuilder pb = new ProcessBuilder(ns.exec(new CpuPinning(cpus, null).serverCommand(janus)));
        pb.redirectErrorStream(true).redirectOutput(dir.resolve("janus.log").toFile());
        Process p = pb.start();
        JanusServer server = new JanusServer(ns, p, dir);
        try {
            server.awaitListening();
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    static void writeConfig(NetNs ns, Path dir) throws IOException {
        List<String> plugins = new ArrayList<>();
        OTHER_PLUGINS.forEach(n -> plugins.add("libjanus_" + n + ".so"));
        List<String> transports = new ArrayList<>();
        OTHER_TRANSPORTS.forEach(n -> transports.add("libjanus_" + n + ".so"));
        List<String> events = new ArrayList<>();
        EVENT_HANDLERS.forEach(n -> events.add("libjanus_" + n + ".so"));
        Files.writeString(dir.resolve("janus.jcfg"), """
                general: {
                	configs_folder = "%s"
                	plugins_folder = "%s/plugins"
                	transports_folder = "%s/transports"
                	events_folder = "%s/events"
                	loggers_folder = "%s/loggers"
                	debug_level = 3
                	debug_timestamps = true
                	session_timeout = 60
                	server_name = "consultbridge-loadtest-janus"
                }
                certificates: {
                }
                media: {
                	rtp_port_range = "20000-40000"
                }
                nat: {
                	nice_debug = false
                	full_trickle = false
                	ice_lite = false
                	ice_tcp = false
                	ignore_mdns = true
                	ice_enforce_list = "%s"
                }
                plugins: {
                	disable = "%s"
                }
                transports: {
                	disable = "%s"
                }
                loggers: {
                	disable = "libjanus_jsonlog.so"
                }
                events: {
                	broadcast = false
                	disable = "%s"
                }
                """.formatted(dir, LIB, LIB, LIB, LIB, ns.nsInterface(), String.join(",", plugins),
                String.join(",", transports), String.join(",", events)));
        Files.writeString(dir.resolve("janus.transport.websockets.jcfg"), """
                general: {
                	json = "plain"
                	ws = true
                	ws_port = %d
                	ws_ip = "%s"
                	wss = false
                }
                admin: {
                	admin_ws = false
                	admin_wss = false
                }
                """.formatted(WS_PORT, ns.nsAddress().getHostAddress()));
        Files.writeString(dir.resolve("janus.plugin.videoroom.jcfg"), """
                general: {
                }
                """);
    }

    private void awaitListening() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("janus exited with " + process.exitValue() + ": " + logTail());
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(ns.nsAddress(), WS_PORT), 500);
                return;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        throw new IOException("janus did not listen on " + wsUri() + " within 20 s: " + logTail());
    }

    String logTail() {
        try {
            List<String> lines = Files.readAllLines(dir.resolve("janus.log"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /** Janus's WebSocket API (subprotocol {@code janus-protocol}). */
    URI wsUri() {
        return URI.create("ws://" + ns.nsAddress().getHostAddress() + ":" + WS_PORT + "/");
    }

    long pid() {
        return process.pid();
    }

    NetNs netns() {
        return ns;
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
}
