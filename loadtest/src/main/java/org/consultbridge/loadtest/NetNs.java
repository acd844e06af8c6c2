package org.consultbridge.loadtest;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace of our own with a veth pair into it: 10.98.k.1/24 on our side, 10.98.k.2/24 inside. A peer
 * that, like libnice, ignores loopback (Janus) runs inside it; the generator binds to our side, so every packet
 * crosses only addresses this class created. Needs root and {@code ip} (iproute2). Removed on {@link #close()} and,
 * should the JVM end first, by a shutdown hook.
 */
final class NetNs implements AutoCloseable {

    private final String name;
    private final String hostIf;
    private final String nsIf;
    private final InetAddress hostAddress;
    private final InetAddress nsAddress;
    private final Thread hook;
    private boolean closed;

    private NetNs(int k) throws IOException, InterruptedException {
        this.name = "cbjanus" + k;
        this.hostIf = "cbj" + k + "h";
        this.nsIf = "cbj" + k + "n";
        this.hostAddress = InetAddress.getByName("10.98." + k + ".1");
        this.nsAddress = InetAddress.getByName("10.98." + k + ".2");
        this.hook = new Thread(this::remove, "netns-cleanup-" + name);
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            ip("netns", "add", name);
            ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf);
            ip("link", "set", nsIf, "netns", name);
            ip("addr", "add", hostAddress.getHostAddress() + "/24", "dev", hostIf);
            ip("link", "set", hostIf, "up");
            ip("-n", name, "addr", "add", nsAddress.getHostAddress() + "/24", "dev", nsIf);
            ip("-n", name, "link", "set", nsIf, "up");
            ip("-n", name, "link", "set", "lo", "up");
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** A fresh namespace on a 10.98.k.0/24 subnet no interface of this machine uses yet. */
    static NetNs create() throws IOException, InterruptedException {
        String used = run(List.of("ip", "-o", "addr")) + run(List.of("ip", "netns", "list"));
        for (int attempt = 0; attempt < 50; attempt++) {
            int k = ThreadLocalRandom.current().nextInt(1, 250);
            if (!used.contains("10.98." + k + ".") && !used.contains("cbjanus" + k)) {
                return new NetNs(k);
            }
        }
        throw new IOException("no free 10.98.k.0/24 subnet");
    }

    String name() {
        return name;
    }

    /** Our end of the pair: the generator binds its sockets here. */
    InetAddress hostAddress() {
        return hostAddress;
    }

    /** The end inside the namespace: the server listens here. */
    InetAddress nsAddress() {
        return nsAddress;
    }

    /** The interface inside the namespace (for Janus's {@code ice_enforce_list}). */
    String nsInterface() {
        return nsIf;
    }

    /** {@code command} run inside the namespace ({@code ip netns exec} execs it: the pid is the command's). */
    List<String> exec(List<String> command) {
        List<String> l = new ArrayList<>(List.of("ip", "netns", "exec", name));
        l.addAll(command);
        return l;
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        List<String> l = new ArrayList<>();
        l.add("ip");
        l.addAll(List.of(args));
        run(l);
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
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

    /** Deleting the namespace deletes its end of the pair, and with it ours. */
    private synchronized void remove() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            run(List.of("ip", "netns", "del", name));
        } catch (IOException | InterruptedException e) {
            // nothing left to undo, or the JVM is going down
        }
        try {
            run(List.of("ip", "link", "del", hostIf)); // only if setup failed before the pair moved
        } catch (IOException | InterruptedException e) {
            // normally gone with the namespace
        }
    }

    @Override
    public void close() {
        remove();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook runs (and finds nothing to do)
        }
    }
}
