package org.consultbridge.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One headless Chromium inside a {@link NetNamespace}, driven through ChromeDriver over the W3C WebDriver protocol.
 *
 * <p>Wiring: ChromeDriver runs inside the namespace ({@code ip netns exec NS chromedriver --port=P
 * --allowed-ips=HOST}); the test reaches it at {@code http://nsAddress:P/} over the veth, and ChromeDriver starts
 * Chromium inside the same namespace. Pages come from the server under test at {@code http://hostAddress:port}; that
 * origin is declared secure with {@code --unsafely-treat-insecure-origin-as-secure} so {@code getUserMedia} works
 * without TLS. Chromium's only non-loopback address is then {@code nsAddress}, and all media uses it.
 *
 * <p>Everything a failing test needs is in {@link #logDir()}: ChromeDriver's log, the process output, the page
 * console ({@code console.log}) and, after a {@link #waitFor} timeout, a screenshot. Failure messages name it.
 */
public final class Browser implements AutoCloseable {

    /** Real Chromium binary; {@code /usr/bin/chromium} is a shell wrapper. Override with {@code -Dcbt.chromium}. */
    public static final String CHROMIUM = System.getProperty("cbt.chromium", "/usr/lib/chromium/chromium");
    public static final String CHROMEDRIVER = System.getProperty("cbt.chromedriver", "/usr/bin/chromedriver");
    /** Where browser logs go; kept after the test. Override with {@code -Dcbt.e2e.logDir}. */
    public static final Path LOG_ROOT = Path.of(System.getProperty("cbt.e2e.logDir", "target/e2e-logs"))
            .toAbsolutePath();

    /** Flags measured to work headless on this kind of machine (see MACHINE-NOTES). */
    public static final List<String> BASE_FLAGS = List.of(
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-proxy-server", "--disable-dev-shm-usage",
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            "--autoplay-policy=no-user-gesture-required", "--window-size=1280,800");

    private static final Duration DRIVER_START_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration SESSION_TIMEOUT = Duration.ofSeconds(40);
    private static final Duration POLL_INTERVAL = Duration.ofMillis(100);
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final String PROFILE_PREFIX = "cbt-chrome-";
    private static final java.util.regex.Pattern PROFILE_NAME =
            java.util.regex.Pattern.compile("^" + PROFILE_PREFIX + "(\\d+)-\\d+$");
    private static final AtomicBoolean STALE_PROFILES_REMOVED = new AtomicBoolean();

    private final NetNamespace ns;
    private final Path logDir;
    private final Path profileDir;
    private final HttpClient http = WebDriverSession.newHttpClient();
    private final StringBuilder console = new StringBuilder();
    private final AtomicBoolean closed = new AtomicBoolean();
    private Process driver;
    private WebDriverSession session;
    private Duration startupTime = Duration.ZERO;

    private Browser(NetNamespace ns, Path logDir, Path profileDir) {
        this.ns = ns;
        this.logDir = logDir;
        this.profileDir = profileDir;
    }

    /** Starts a browser in {@code ns} that treats the given origins (e.g. {@code http://10.99.1.1:8080}) as secure. */
    public static Browser start(NetNamespace ns, String... secureOrigins) {
        return start(ns, Arrays.asList(secureOrigins), List.of());
    }

    /**
     * Starts ChromeDriver in {@code ns} and opens a Chromium session.
     *
     * @param secureOrigins origins for {@code --unsafely-treat-insecure-origin-as-secure} (scheme://host:port)
     * @param extraFlags more Chromium flags, e.g. {@code --force-fieldtrials=...}
     */
    public static Browser start(NetNamespace ns, List<String> secureOrigins, List<String> extraFlags) {
        long startNanos = System.nanoTime();
        String label = ns.name() + "-b" + COUNTER.getAndIncrement() + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("HHmmss"));
        Browser browser;
        try {
            Path logDir = Files.createDirectories(LOG_ROOT.resolve(label));
            removeStaleProfiles();
            Path profileDir = Files.createTempDirectory(PROFILE_PREFIX + ProcessHandle.current().pid() + "-");
            browser = new Browser(ns, logDir, profileDir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create browser directories under " + LOG_ROOT, e);
        }
        E2eCleanup.register(browser);
        try {
            browser.launch(secureOrigins, extraFlags);
        } catch (RuntimeException | Error e) {
            String diagnostics = browser.diagnostics()
                    + "\nprocess.log:\n" + tail(browser.logDir.resolve("process.log"), 2000)
                    + "\nchromedriver.log:\n" + tail(browser.logDir.resolve("chromedriver.log"), 3000);
            try {
                browser.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new IllegalStateException("browser did not start in " + ns.name() + ": " + e.getMessage()
                    + "\n" + diagnostics, e);
        }
        browser.startupTime = Duration.ofNanos(System.nanoTime() - startNanos);
        return browser;
    }

    private void launch(List<String> secureOrigins, List<String> extraFlags) {
        int port = ns.allocatePort();
        Path processLog = logDir.resolve("process.log");
        try {
            driver = ns.exec(List.of(CHROMEDRIVER, "--port=" + port, "--allowed-ips=" + ns.hostAddress(),
                            "--log-path=" + logDir.resolve("chromedriver.log"), "--log-level=INFO",
                            "--readable-timestamp"))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(processLog.toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + CHROMEDRIVER + " in " + ns.name(), e);
        }
        URI base = URI.create("http://" + ns.nsAddress() + ":" + port + "/");
        long deadline = System.nanoTime() + DRIVER_START_TIMEOUT.toNanos();
        while (!WebDriverSession.ready(http, base)) {
            if (!driver.isAlive()) {
                throw new IllegalStateException("chromedriver exited with code " + driver.exitValue());
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("chromedriver not ready at " + base + " within "
                        + DRIVER_START_TIMEOUT.toSeconds() + " s");
            }
            NetNamespace.sleep(25);
        }
        List<String> flags = new ArrayList<>(BASE_FLAGS);
        flags.add("--user-data-dir=" + profileDir);
        if (!secureOrigins.isEmpty()) {
            flags.add("--unsafely-treat-insecure-origin-as-secure=" + String.join(",", secureOrigins));
        }
        flags.addAll(extraFlags);
        Map<String, Object> capabilities = new LinkedHashMap<>();
        capabilities.put("browserName", "chrome");
        capabilities.put("pageLoadStrategy", "normal");
        capabilities.put("timeouts", Map.of("script", 30_000, "pageLoad", 30_000));
        capabilities.put("goog:loggingPrefs", Map.of("browser", "ALL"));
        capabilities.put("goog:chromeOptions", Map.of("binary", CHROMIUM, "args", flags));
        session = WebDriverSession.create(http, base, capabilities, SESSION_TIMEOUT);
    }

    /** The namespace this browser runs in. */
    public NetNamespace namespace() {
        return ns;
    }

    /** Folder with this browser's logs (kept after close). */
    public Path logDir() {
        return logDir;
    }

    /** Wall time from {@link #start} until the session was ready. */
    public Duration startupTime() {
        return startupTime;
    }

    /** Navigates and waits for the page's load event. */
    public void open(String url) {
        guard("open " + url, () -> {
            session.navigate(url);
            return null;
        });
    }

    /**
     * Runs {@code script} as a function body ({@code return ...} gives the result; {@code arguments[i]} are the
     * args). A returned promise is awaited (W3C execute script). Results: null, Boolean, Number, String, List, Map.
     */
    public Object execute(String script, Object... args) {
        return guard("execute", () -> session.executeSync(script, Arrays.asList(args)));
    }

    /** Runs an async script: it must call {@code arguments[arguments.length - 1]} with its result. */
    public Object executeAsync(String script, Object... args) {
        return guard("executeAsync", () -> session.executeAsync(script, Arrays.asList(args)));
    }

    /** Limit for async scripts and awaited promises (default 30 s). */
    public void setScriptTimeout(Duration timeout) {
        guard("set script timeout", () -> {
            session.setScriptTimeout(timeout);
            return null;
        });
    }

    /**
     * Polls the JavaScript expression {@code jsCondition} (it may evaluate to a promise) every 100 ms until it is
     * truthy and returns that value; fails with an {@link AssertionError} carrying the last value, the page console
     * and the log folder (where a screenshot is saved) if {@code timeout} passes first.
     */
    @SuppressWarnings("unchecked")
    public <T> T waitFor(String jsCondition, Duration timeout) {
        String expression = jsCondition.strip();
        while (expression.endsWith(";")) {
            expression = expression.substring(0, expression.length() - 1).strip();
        }
        String script = "return (" + expression + "\n);";
        long deadline = System.nanoTime() + timeout.toNanos();
        Object last;
        while (true) {
            last = execute(script);
            if (truthy(last)) {
                return (T) last;
            }
            if (System.nanoTime() > deadline) {
                break;
            }
            NetNamespace.sleep(POLL_INTERVAL.toMillis());
        }
        Path screenshot = saveScreenshot("waitFor-timeout");
        throw new AssertionError("condition not met within " + timeout.toMillis() + " ms: " + jsCondition
                + "\nlast value: " + last + (screenshot == null ? "" : "\nscreenshot: " + screenshot)
                + "\n" + diagnostics());
    }

    /** Everything the page wrote to its console (and failed loads) so far, one entry a line. */
    public synchronized String consoleLog() {
        if (session != null && !closed.get()) {
            try {
                session.drainBrowserLog().forEach(line -> console.append(line).append('\n'));
            } catch (RuntimeException e) {
                console.append("(console log unavailable: ").append(e.getMessage()).append(")\n");
            }
        }
        return console.toString();
    }

    /** A PNG screenshot of the current page. */
    public byte[] screenshotPng() {
        return guard("screenshot", () -> session.screenshotPng());
    }

    /** Text for failure messages: where the logs are and the tail of the page console. */
    public String diagnostics() {
        String consoleText;
        try {
            consoleText = consoleLog();
        } catch (RuntimeException e) {
            consoleText = "(unavailable: " + e + ")";
        }
        if (consoleText.length() > 4000) {
            consoleText = "..." + consoleText.substring(consoleText.length() - 4000);
        }
        return "browser logs: " + logDir + "\npage console:\n" + consoleText;
    }

    /** Quits the session, kills ChromeDriver and Chromium, deletes the profile; keeps the logs. Idempotent. */
    @Override
    public void close() {
        if (closed.get()) {
            return;
        }
        try {
            if (session != null) {
                try {
                    writeConsoleLog();
                    session.delete(Duration.ofSeconds(5));
                } catch (RuntimeException e) {
                    appendToProcessLog("harness: session delete failed: " + e);
                }
            }
            closed.set(true);
            if (driver != null) {
                List<ProcessHandle> tree = new ArrayList<>(driver.descendants().toList());
                tree.add(driver.toHandle());
                tree.forEach(ProcessHandle::destroy);
                awaitExit(tree, Duration.ofSeconds(3));
                tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
                awaitExit(tree, Duration.ofSeconds(2));
            }
        } finally {
            closed.set(true);
            deleteRecursively(profileDir);
            E2eCleanup.unregister(this);
        }
    }

    @Override
    public String toString() {
        return "Browser[" + ns.name() + ", logs " + logDir + "]";
    }

    private void writeConsoleLog() {
        try {
            Files.writeString(logDir.resolve("console.log"), consoleLog());
        } catch (IOException | RuntimeException e) {
            appendToProcessLog("harness: cannot write console.log: " + e);
        }
    }

    private Path saveScreenshot(String name) {
        try {
            Path file = logDir.resolve(name + "-" + System.currentTimeMillis() + ".png");
            Files.write(file, session.screenshotPng());
            return file;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private void appendToProcessLog(String line) {
        try {
            Files.writeString(logDir.resolve("process.log"), line + "\n",
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException ignored) {
            // the log folder itself is gone; nothing left to tell
        }
    }

    private interface Call<T> {
        T run();
    }

    /** Runs a WebDriver command, turning its failure into one that names the browser's log folder. */
    private <T> T guard(String what, Call<T> call) {
        if (closed.get() || session == null) {
            throw new IllegalStateException("browser is closed: " + this);
        }
        try {
            return call.run();
        } catch (WebDriverSession.WebDriverException e) {
            throw new IllegalStateException(what + " failed: " + e.getMessage() + "\n" + diagnostics(), e);
        }
    }

    private static boolean truthy(Object value) {
        if (value == null || Boolean.FALSE.equals(value) || "".equals(value)) {
            return false;
        }
        return !(value instanceof Number n) || n.doubleValue() != 0;
    }

    private static void awaitExit(List<ProcessHandle> processes, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (ProcessHandle p : processes) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            try {
                p.onExit().get(Math.max(1, left), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                return; // still alive after the grace period: the caller escalates
            }
        }
    }

    private static String tail(Path file, int maxChars) {
        try {
            String text = Files.readString(file);
            return text.length() <= maxChars ? text : "..." + text.substring(text.length() - maxChars);
        } catch (IOException e) {
            return "(" + file.getFileName() + " unreadable: " + e.getMessage() + ")";
        }
    }

    /**
     * Deletes profile folders {@code cbt-chrome-<pid>-<n>} in the temp folder whose JVM has exited (killed before its
     * shutdown hook ran). Once per JVM.
     */
    private static void removeStaleProfiles() {
        if (!STALE_PROFILES_REMOVED.compareAndSet(false, true)) {
            return;
        }
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        try (var entries = Files.list(tmp)) {
            for (Path dir : entries.toList()) {
                var m = PROFILE_NAME.matcher(dir.getFileName().toString());
                if (m.matches() && Files.isDirectory(dir)
                        && ProcessHandle.of(Long.parseLong(m.group(1))).filter(ProcessHandle::isAlive).isEmpty()) {
                    deleteRecursively(dir);
                }
            }
        } catch (IOException e) {
            System.err.println("cbt-e2e: cannot list " + tmp + ": " + e);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("cbt-e2e: cannot delete profile " + dir + ": " + e);
        }
    }
}
