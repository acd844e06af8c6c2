package org.consultbridge.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Proves the end-to-end wiring: a page served from the test JVM (default namespace) to Chromium inside a test
 * namespace, getUserMedia in a secure context, and media between two peer connections that uses only the
 * namespace's veth address.
 */
class HarnessSelfTest {

    private static final String MARKER = "cbt-loopback-page-ready";

    /** Two RTCPeerConnections in one page, connected to each other, sending the fake camera and microphone. */
    private static final String LOOPBACK_PAGE = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>cbt loopback</title></head>
            <body>
            <video id="remoteVideo" autoplay playsinline muted></video>
            <audio id="remoteAudio" autoplay></audio>
            <script>
            window.startLoopback = async function () {
              const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 360}});
              const a = new RTCPeerConnection({iceServers: []});
              const b = new RTCPeerConnection({iceServers: []});
              a.onicecandidate = e => { if (e.candidate) b.addIceCandidate(e.candidate); };
              b.onicecandidate = e => { if (e.candidate) a.addIceCandidate(e.candidate); };
              b.ontrack = e => {
                const el = document.getElementById(e.track.kind === 'video' ? 'remoteVideo' : 'remoteAudio');
                el.srcObject = e.streams[0];
              };
              stream.getTracks().forEach(t => a.addTrack(t, stream));
              await a.setLocalDescription();
              await b.setRemoteDescription(a.localDescription);
              await b.setLocalDescription();
              await a.setRemoteDescription(b.localDescription);
              window.pcA = a;
              window.pcB = b;
              return 'started';
            };
            console.log('%MARKER%');
            </script>
            </body></html>
            """.replace("%MARKER%", MARKER);

    @Test
    @Timeout(60)
    void chromiumInNamespaceLoadsPageFromHostAndSendsMediaOverVethAddress() throws Exception {
        NetNamespace.requireAvailable();
        AtomicInteger pageRequests = new AtomicInteger();
        try (NetNamespace ns = NetNamespace.create();
             ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getByName(ns.hostAddress()), 0), 16);
            server.setExecutor(executor);
            server.createContext("/loopback.html", exchange -> {
                pageRequests.incrementAndGet();
                byte[] body = LOOPBACK_PAGE.getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            server.start();
            String origin = "http://" + ns.hostAddress() + ":" + server.getAddress().getPort();
            try (Browser browser = Browser.start(ns, origin)) {
                System.out.println("cbt-e2e: browser started in " + browser.startupTime().toMillis() + " ms, logs "
                        + browser.logDir());
                long openStart = System.nanoTime();
                browser.open(origin + "/loopback.html");
                Duration openTime = Duration.ofNanos(System.nanoTime() - openStart);
                System.out.println("cbt-e2e: first page load took " + openTime.toMillis() + " ms");
                // A slow first load means Chromium waited on DNS that left the namespace (see NetNamespace).
                assertThat(openTime).isLessThan(Duration.ofSeconds(5));
                assertThat(pageRequests).hasPositiveValue();
                assertThat(browser.execute("return window.isSecureContext")).isEqualTo(true);
                assertThat(browser.execute("return location.origin")).isEqualTo(origin);

                assertThat(browser.execute("return window.startLoopback()")).isEqualTo("started");
                long started = System.nanoTime();
                Number frames = browser.waitFor(WebRtcStats.videoFramesDecodedAbove("window.pcB", 30),
                        Duration.ofSeconds(20));
                System.out.println("cbt-e2e: " + frames + " video frames decoded "
                        + Duration.ofNanos(System.nanoTime() - started).toMillis() + " ms after startLoopback");

                List<WebRtcStats.InboundRtp> inbound = WebRtcStats.inboundRtp(browser, "window.pcB");
                assertThat(WebRtcStats.videoFramesDecoded(inbound)).as("video frames decoded").isGreaterThan(30);
                assertThat(WebRtcStats.audioPacketsReceived(inbound)).as("audio packets received").isPositive();
                assertThat(WebRtcStats.byTrack(inbound)).hasSize(2);

                WebRtcStats.CandidatePair pair = WebRtcStats.selectedPair(browser, "window.pcB")
                        .orElseThrow(() -> new AssertionError("no selected pair\n" + browser.diagnostics()));
                assertThat(pair.state()).isEqualTo("succeeded");
                assertThat(pair.localAddress()).as("local address of " + pair).isEqualTo(ns.nsAddress());
                assertThat(pair.remoteAddress()).as("remote address of " + pair).isEqualTo(ns.nsAddress());
                assertThat(pair.remotePort()).isPositive();
                assertThat(pair.bytesReceived()).isPositive();

                // Chromium gathered nothing but the veth address: no loopback, no machine address, no IPv6.
                assertThat(WebRtcStats.localCandidateAddresses(browser, "window.pcA")).isNotEmpty()
                        .containsOnly(ns.nsAddress());
                assertThat(WebRtcStats.localCandidateAddresses(browser, "window.pcB")).isNotEmpty()
                        .containsOnly(ns.nsAddress());

                assertThat(browser.consoleLog()).contains(MARKER);

                // The other entry points, and failures that name the log folder.
                assertThat(browser.executeAsync("const done = arguments[arguments.length - 1];"
                        + " setTimeout(() => done(arguments[0] + 1), 10);", 41)).isEqualTo(42);
                assertThat(browser.screenshotPng()).startsWith(0x89, 'P', 'N', 'G');
                assertThatThrownBy(() -> browser.execute("throw new Error('boom')"))
                        .hasMessageContaining("javascript error").hasMessageContaining("boom")
                        .hasMessageContaining(browser.logDir().toString());
                assertThatThrownBy(() -> browser.waitFor("window.neverSet === true", Duration.ofMillis(300)))
                        .isInstanceOf(AssertionError.class).hasMessageContaining("window.neverSet")
                        .hasMessageContaining(browser.logDir().toString());

                browser.close();
                assertThat(HostCommand.check("ip", "netns", "pids", ns.name())).as("processes left in namespace")
                        .isBlank();
            } finally {
                server.stop(0);
            }
        }
    }

    @Test
    @Timeout(30)
    void namespaceSeesOnlyItsOwnAddressesAndLeavesNothingBehind() throws Exception {
        NetNamespace.requireAvailable();
        String name;
        String hostInterface;
        try (NetNamespace ns = NetNamespace.create()) {
            name = ns.name();
            hostInterface = ns.hostInterface();
            assertThat(ns.hostAddress()).matches("10\\.99\\.\\d+\\.1");
            assertThat(ns.nsAddress()).isEqualTo(ns.hostAddress().replaceAll("\\.1$", ".2"));
            assertThat(HostCommand.check("ip", "-o", "-4", "addr", "show", "dev", hostInterface))
                    .contains(ns.hostAddress() + "/24");

            Process p = ns.exec(List.of("ip", "-o", "addr", "show")).redirectErrorStream(true).start();
            String inside = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).isZero();
            assertThat(inside).contains("inet " + ns.nsAddress() + "/24", "inet 127.0.0.1/8")
                    .doesNotContain("inet6 fe80");
            Process resolv = ns.exec(List.of("cat", "/etc/resolv.conf")).redirectErrorStream(true).start();
            assertThat(new String(resolv.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                    .contains("nameserver 127.0.0.1").doesNotContain("nameserver 10.");
            assertThat(resolv.waitFor()).isZero();

            // A process started in the namespace is ended by close().
            Process sleeper = ns.exec(List.of("sleep", "300")).start();
            assertThat(sleeper.isAlive()).isTrue();
            ns.close();
            assertThat(sleeper.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        }
        assertThat(NetNamespace.namespaceExists(name)).isFalse();
        assertThat(HostCommand.tryRun("ip", "link", "show", hostInterface).ok()).isFalse();
        assertThat(Path.of("/etc/netns", name)).doesNotExist();
    }

    @Test
    @Timeout(30)
    void staleNamespacesOfDeadCreatorsAreRemovedAndLiveOnesKept() throws Exception {
        NetNamespace.requireAvailable();
        long pidMax = Long.parseLong(NetNamespace.readProcFile(Path.of("/proc/sys/kernel/pid_max")).strip());
        String dead = NetNamespace.PREFIX + (pidMax + 1) + "-0"; // a pid above pid_max never runs
        String live = NetNamespace.PREFIX + "1-" + ProcessHandle.current().pid(); // pid 1 outlives us
        Path orphanedEtc = Path.of("/etc/netns", NetNamespace.PREFIX + (pidMax + 1) + "-1");
        HostCommand.check("ip", "netns", "add", dead);
        HostCommand.check("ip", "netns", "add", live);
        Files.createDirectories(orphanedEtc);
        Files.writeString(orphanedEtc.resolve("resolv.conf"), "nameserver 127.0.0.1\n");
        try {
            List<String> removed = NetNamespace.removeStale(Instant.now().plusSeconds(5));
            assertThat(removed).contains(dead).doesNotContain(live);
            assertThat(orphanedEtc).doesNotExist();
            assertThat(NetNamespace.namespaceExists(dead)).isFalse();
            assertThat(NetNamespace.namespaceExists(live)).isTrue();
            // Namespaces younger than the cut-off are never touched, even when their creator is gone.
            HostCommand.check("ip", "netns", "add", dead);
            assertThat(NetNamespace.removeStale(Instant.now().minusSeconds(60))).doesNotContain(dead);
            assertThat(NetNamespace.namespaceExists(dead)).isTrue();
        } finally {
            HostCommand.tryRun("ip", "netns", "delete", dead);
            HostCommand.tryRun("ip", "netns", "delete", live);
            Files.deleteIfExists(orphanedEtc.resolve("resolv.conf"));
            Files.deleteIfExists(orphanedEtc);
        }
    }
}
