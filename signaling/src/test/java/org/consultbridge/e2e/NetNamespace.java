package org.consultbridge.e2e;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Linux network namespace joined to the default namespace by a veth pair, for tests whose peers (Chromium,
 * aiortc, ...) must only see addresses the test created.
 *
 * <p>Why: Chromium never gathers loopback host candidates, so in the default namespace it would use the machine's
 * own interface address. Inside this namespace its only non-loopback address is {@link #nsAddress()}, and the only
 * way out is the veth to {@link #hostAddress()}, where the server under test (in the test JVM, default namespace)
 * listens.
 *
 * <p>Layout: namespace {@code cbt-<pid>-<n>}; host side {@code cbt<pid>x<n>} with {@code 10.99.<k>.1/24}; namespace
 * side {@code cbt0} with {@code 10.99.<k>.2/24}, {@code lo} up, default route via the host side, DNS pointed at the
 * namespace's own loopback (see {@link #writeResolvConf}), IPv6 off (no
 * link-local candidates; lo keeps ::1). {@code k} is the first /24 under {@code 10.99.0.0/16} no interface of the default
 * namespace uses, picked under a file lock so parallel JVMs never collide.
 *
 * <p>Needs root (CAP_NET_ADMIN) and iproute2. Tests call {@link #requireAvailable()} and fail, never skip, when that
 * is missing: CI runs as root.
 */
public final class NetNamespace implements AutoCloseable {

    /** Every namespace this harness creates starts with this prefix; stale-namespace cleanup touches nothing else. */
    public static final String PREFIX = "cbt-";

    private static final Pattern OUR_NAME = Pattern.compile("^cbt-(\\d+)-(\\d+)$");
    private static final Pattern SUBNET_IN_USE = Pattern.compile("inet 10\\.99\\.(\\d+)\\.\\d+/");
    private static final String NS_INTERFACE = "cbt0";
    private static final Path LOCK_FILE = Path.of(System.getProperty("java.io.tmpdir"), "cbt-netns.lock");
    private static final Path NETNS_ETC = Path.of("/etc/netns");
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final AtomicBoolean STALE_CLEANED = new AtomicBoolean();

    private final String name;
    private final String hostInterface;
    private final String hostAddress;
    private final String nsAddress;
    private final AtomicInteger nextPort = new AtomicInteger(9515);
    private final AtomicBoolean closed = new AtomicBoolean();

    private NetNamespace(String name, String hostInterface, int subnet) {
        this.name = name;
        this.hostInterface = hostInterface;
        this.hostAddress = "10.99." + subnet + ".1";
        this.nsAddress = "10.99." + subnet + ".2";
    }

    /** True if namespaces can be created here (root and a working {@code ip netns}). */
    public static boolean available() {
        return unavailableReason().isEmpty();
    }

    /** Why namespaces cannot be created here, or empty if they can. */
    public static Optional<String> unavailableReason() {
        try {
            String status = readProcFile(Path.of("/proc/self/status"));
            Matcher uid = Pattern.compile("(?m)^Uid:\\s+(\\d+)\\s+(\\d+)").matcher(status);
            String effectiveUid = uid.find() ? uid.group(2) : "unknown";
            if (!effectiveUid.equals("0")) {
                return Optional.of("end-to-end tests need root (CAP_NET_ADMIN) to create network namespaces; "
                        + "effective uid is " + effectiveUid);
            }
        } catch (IOException e) {
            return Optional.of("cannot read /proc/self/status: " + e.getMessage());
        }
        try {
            HostCommand.Result result = HostCommand.tryRun("ip", "netns", "list");
            if (!result.ok()) {
                return Optional.of("`ip netns list` failed (exit " + result.exitCode() + "): " + result.output().strip());
            }
        } catch (IllegalStateException e) {
            return Optional.of("iproute2 `ip` is not usable (apt-get install -y iproute2): " + e.getMessage());
        }
        return Optional.empty();
    }

    /** Throws an {@link IllegalStateException} explaining why namespaces are unavailable, so the test fails loudly. */
    public static void requireAvailable() {
        unavailableReason().ifPresent(reason -> {
            throw new IllegalStateException("network namespaces unavailable: " + reason);
        });
    }

    /** Creates a fresh namespace with its veth pair; on any failure nothing is left behind. */
    public static NetNamespace create() {
        requireAvailable();
        long pid = ProcessHandle.current().pid();
        int n = COUNTER.getAndIncrement();
        String name = PREFIX + pid + "-" + n;
        String hostInterface = "cbt" + pid + "x" + n; // at most 15 characters (IFNAMSIZ - 1) for pid <= 4194304
        if (hostInterface.length() > 15) {
            throw new IllegalStateException("interface name too long: " + hostInterface);
        }
        // The JVM-wide monitor serialises threads (a FileLock is per process), the file lock serialises JVMs.
        synchronized (NetNamespace.class) {
            return createLocked(name, hostInterface);
        }
    }

    private static NetNamespace createLocked(String name, String hostInterface) {
        try (FileChannel channel = FileChannel.open(LOCK_FILE, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = channel.lock()) {
            if (STALE_CLEANED.compareAndSet(false, true)) {
                Instant processStart = ProcessHandle.current().info().startInstant().orElse(Instant.now());
                removeStale(processStart);
            }
            int subnet = freeSubnet();
            NetNamespace ns = new NetNamespace(name, hostInterface, subnet);
            ns.setUp();
            E2eCleanup.register(ns);
            return ns;
        } catch (IOException e) {
            throw new IllegalStateException("cannot lock " + LOCK_FILE + ": " + e.getMessage(), e);
        }
    }

    private void setUp() {
        try {
            HostCommand.check("ip", "netns", "add", name);
            writeResolvConf(name);
            // The peer is created directly inside the namespace, so its name only has to be unique there.
            HostCommand.check("ip", "link", "add", hostInterface, "type", "veth",
                    "peer", "name", NS_INTERFACE, "netns", name);
            disableIpv6(List.of(), hostInterface);
            HostCommand.check("ip", "addr", "add", hostAddress + "/24", "dev", hostInterface);
            HostCommand.check("ip", "link", "set", hostInterface, "up");
            disableIpv6(List.of("ip", "netns", "exec", name), "default");
            disableIpv6(List.of("ip", "netns", "exec", name), NS_INTERFACE);
            HostCommand.check("ip", "-n", name, "link", "set", "lo", "up");
            HostCommand.check("ip", "-n", name, "addr", "add", nsAddress + "/24", "dev", NS_INTERFACE);
            HostCommand.check("ip", "-n", name, "link", "set", NS_INTERFACE, "up");
            HostCommand.check("ip", "-n", name, "route", "add", "default", "via", hostAddress);
        } catch (RuntimeException e) {
            try {
                close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new IllegalStateException("cannot create network namespace " + name + ": " + e.getMessage(), e);
        }
    }

    /**
     * Points DNS inside the namespace at its own loopback ({@code ip netns exec} bind-mounts
     * {@code /etc/netns/NAME/resolv.conf} over {@code /etc/resolv.conf}).
     *
     * <p>Why: Chromium resolves names at start-up; with the machine's resolver those queries left through the veth,
     * were dropped by the host, and delayed the first page load by about 13 s. Against 127.0.0.1 they fail at once,
     * and no test packet leaves the test's own addresses.
     */
    private static void writeResolvConf(String ns) {
        try {
            Path dir = Files.createDirectories(NETNS_ETC.resolve(ns));
            Files.writeString(dir.resolve("resolv.conf"),
                    "# written by the ConsultBridge e2e harness: no DNS leaves this test namespace\n"
                            + "nameserver 127.0.0.1\n");
        } catch (IOException e) {
            throw new IllegalStateException("cannot write " + NETNS_ETC.resolve(ns) + "/resolv.conf: " + e, e);
        }
    }

    private static void deleteResolvConf(String ns) {
        Path dir = NETNS_ETC.resolve(ns);
        try {
            Files.deleteIfExists(dir.resolve("resolv.conf"));
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            System.err.println("cbt-e2e: cannot delete " + dir + ": " + e);
        }
    }

    /**
     * Turns IPv6 off on one interface so Chromium gathers no link-local IPv6 candidates; a kernel without IPv6 has
     * nothing to turn off. {@code prefix} runs the write inside the namespace ({@code /proc/sys/net} is per namespace).
     */
    private static void disableIpv6(List<String> prefix, String iface) {
        String file = "/proc/sys/net/ipv6/conf/" + iface + "/disable_ipv6";
        List<String> command = new ArrayList<>(prefix);
        command.addAll(List.of("sh", "-c", "if [ -e " + file + " ]; then echo 1 > " + file + "; fi"));
        HostCommand.run(HostCommand.DEFAULT_TIMEOUT, command).orThrow();
    }

    /** Name of the namespace, as {@code ip netns} knows it. */
    public String name() {
        return name;
    }

    /** Address of the veth end in the default namespace: bind the server under test here. */
    public String hostAddress() {
        return hostAddress;
    }

    /** Address of the veth end inside the namespace: the only address browsers in it gather as host candidate. */
    public String nsAddress() {
        return nsAddress;
    }

    /** Name of the veth end in the default namespace (for {@code tc} rate limits, for example). */
    public String hostInterface() {
        return hostInterface;
    }

    /** Name of the veth end inside the namespace. */
    public String nsInterface() {
        return NS_INTERFACE;
    }

    /**
     * A TCP port for a service inside this namespace (ChromeDriver, a forwarder). The namespace is new and private,
     * so a per-namespace counter cannot collide with anything.
     */
    public int allocatePort() {
        return nextPort.getAndIncrement();
    }

    /** A process builder that runs {@code command} inside this namespace ({@code ip netns exec NAME ...}). */
    public ProcessBuilder exec(List<String> command) {
        if (closed.get()) {
            throw new IllegalStateException("namespace " + name + " is closed");
        }
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(command);
        return new ProcessBuilder(full);
    }

    /**
     * Kills every process still inside the namespace, then deletes it (which deletes both veth ends). Safe to call
     * twice and after a failed set-up.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            killProcessesIn(name);
            HostCommand.Result deleted = HostCommand.tryRun("ip", "netns", "delete", name);
            if (!deleted.ok() && namespaceExists(name)) {
                throw new IllegalStateException("cannot delete namespace " + name + ": " + deleted.output().strip());
            }
            // Deleting the namespace destroys the peer and with it the pair; this only matters if set-up failed
            // between creating the link and moving its peer.
            if (HostCommand.tryRun("ip", "link", "show", hostInterface).ok()) {
                HostCommand.tryRun("ip", "link", "delete", hostInterface);
            }
        } finally {
            deleteResolvConf(name);
            E2eCleanup.unregister(this);
        }
    }

    @Override
    public String toString() {
        return "NetNamespace[" + name + ", host " + hostAddress + " (" + hostInterface + "), ns " + nsAddress + "]";
    }

    /**
     * Removes namespaces left by earlier runs: only names {@code cbt-<pid>-<n>} created before {@code createdBefore}
     * whose creating process is gone (or whose pid now belongs to a younger process). Package-private for tests.
     *
     * @return the names removed
     */
    static List<String> removeStale(Instant createdBefore) {
        List<String> removed = new ArrayList<>();
        for (String ns : listNamespaces()) {
            Matcher m = OUR_NAME.matcher(ns);
            if (!m.matches()) {
                continue;
            }
            long pid = Long.parseLong(m.group(1));
            if (pid == ProcessHandle.current().pid()) {
                continue;
            }
            Optional<Instant> created = creationTime(ns);
            if (created.isEmpty() || !created.get().isBefore(createdBefore)) {
                continue;
            }
            if (creatorAlive(pid, created.get())) {
                continue;
            }
            killProcessesIn(ns);
            if (HostCommand.tryRun("ip", "netns", "delete", ns).ok()) {
                removed.add(ns);
            }
            deleteResolvConf(ns);
        }
        removeOrphanedResolvConfs();
        return removed;
    }

    /** Deletes {@code /etc/netns/cbt-<pid>-<n>} folders whose namespace is gone and whose creator has exited. */
    private static void removeOrphanedResolvConfs() {
        if (!Files.isDirectory(NETNS_ETC)) {
            return;
        }
        List<String> existing = listNamespaces();
        try (var dirs = Files.list(NETNS_ETC)) {
            for (Path dir : dirs.toList()) {
                String ns = dir.getFileName().toString();
                Matcher m = OUR_NAME.matcher(ns);
                if (m.matches() && !existing.contains(ns)
                        && ProcessHandle.of(Long.parseLong(m.group(1))).filter(ProcessHandle::isAlive).isEmpty()) {
                    deleteResolvConf(ns);
                }
            }
        } catch (IOException e) {
            System.err.println("cbt-e2e: cannot list " + NETNS_ETC + ": " + e);
        }
    }

    private static boolean creatorAlive(long pid, Instant namespaceCreated) {
        Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()) {
            return false;
        }
        // A process started after the namespace was created cannot have created it: the pid was reused.
        Optional<Instant> started = process.get().info().startInstant();
        return started.isEmpty() || !started.get().isAfter(namespaceCreated.plusSeconds(1));
    }

    private static Optional<Instant> creationTime(String ns) {
        try {
            return Optional.of(Files.getLastModifiedTime(Path.of("/run/netns", ns)).toInstant());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    static List<String> listNamespaces() {
        List<String> names = new ArrayList<>();
        for (String line : HostCommand.check("ip", "netns", "list").split("\n")) {
            String trimmed = line.strip();
            if (!trimmed.isEmpty()) {
                names.add(trimmed.split("\\s+")[0]); // "name (id: 3)"
            }
        }
        return names;
    }

    static boolean namespaceExists(String ns) {
        return listNamespaces().contains(ns);
    }

    /** SIGTERM, then SIGKILL after a grace period, for every process inside {@code ns}; repeats for late children. */
    private static void killProcessesIn(String ns) {
        for (int round = 0; round < 5; round++) {
            List<ProcessHandle> processes = pidsIn(ns).stream()
                    .map(ProcessHandle::of).flatMap(Optional::stream).toList();
            if (processes.isEmpty()) {
                return;
            }
            boolean force = round > 0;
            for (ProcessHandle p : processes) {
                if (force) {
                    p.destroyForcibly();
                } else {
                    p.destroy();
                }
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(force ? 2 : 3).toNanos();
            while (processes.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
                sleep(20);
            }
        }
    }

    private static List<Long> pidsIn(String ns) {
        HostCommand.Result result = HostCommand.tryRun("ip", "netns", "pids", ns);
        if (!result.ok()) {
            return List.of();
        }
        List<Long> pids = new ArrayList<>();
        for (String line : result.output().split("\n")) {
            String t = line.strip();
            if (t.matches("\\d+")) {
                pids.add(Long.parseLong(t));
            }
        }
        return pids;
    }

    private static int freeSubnet() {
        Set<Integer> used = new HashSet<>();
        Matcher m = SUBNET_IN_USE.matcher(HostCommand.check("ip", "-o", "-4", "addr", "show"));
        while (m.find()) {
            used.add(Integer.parseInt(m.group(1)));
        }
        for (int k = 1; k < 255; k++) {
            if (!used.contains(k)) {
                return k;
            }
        }
        throw new IllegalStateException("no free /24 left in 10.99.0.0/16 (stale namespaces? see `ip netns list`)");
    }

    /**
     * Reads a {@code /proc} file. Not {@code Files.readString}: procfs reports size 0 and JDK 25 then returned only
     * the first byte of {@code /proc/sys/kernel/pid_max}.
     */
    static String readProcFile(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
