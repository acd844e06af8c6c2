package org.consultbridge.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.dtls.DtlsCertificate;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.SignalingServer;
import org.consultbridge.signaling.limits.LimitSettings;
import org.consultbridge.signaling.limits.SignalingGuard;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.Test;

/**
 * Issue #7: a flood of joins (WebSocket connections with bad and good tokens, and sockets that never say hello)
 * and of signalling messages on one socket, all from one address, while a real call runs through the bridge: two
 * simulated participants (the load generator's, real STUN, DTLS, SRTP) in one consultation, from the same address.
 * The limits hold (refusals counted, the flooding socket closed with 4429, the join budget not exceeded), the
 * server stays responsive, and the call is unaffected: its media keeps flowing at the rate it had before the flood,
 * without a loss spike, and neither participant sees an error.
 */
class FloodTest {

    static final String SECRET = "flood-secret-flood-secret-flood-secret-0123";
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration FLOOD = Duration.ofSeconds(8);
    static final int JOIN_BURST = 10;

    record Window(long received, long expected) {
        double lossPercent() {
            return expected == 0 ? 0 : 100.0 * Math.max(0, expected - received) / expected;
        }
    }

    static Window sample(Metrics m, Runnable during, Duration length) throws InterruptedException {
        long r0 = m.packetsReceived.sum();
        long e0 = m.packetsExpected.sum();
        long end = System.nanoTime() + length.toNanos();
        if (during != null) {
            during.run();
        }
        long left = end - System.nanoTime();
        if (left > 0) {
            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(left));
        }
        return new Window(m.packetsReceived.sum() - r0, m.packetsExpected.sum() - e0);
    }

    @Test
    void floodsOfJoinsAndMessagesAreLimitedWhileACallGoesOn() throws Exception {
        MediaBridge bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        TokenService tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        ServerConfig base = ServerConfig.load().withHttp("127.0.0.1", 0);
        // the defaults, except: nothing exempt (call and flood share 127.0.0.1), a join budget of 10, 20 sockets
        LimitSettings limits = new LimitSettings(JOIN_BURST, JOIN_BURST, 50, 100, 100, 20, 5000,
                Duration.ofSeconds(3), 10_000, Set.of(), Set.of(), List.of());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, io.netty.channel.epoll.Epoll.isAvailable()
                ? io.netty.channel.epoll.EpollIoHandler.newFactory() : NioIoHandler.newFactory()); // as MediaPeer wants
        Metrics metrics = new Metrics();
        HttpClient http = HttpClient.newHttpClient();
        ExecutorService flooders = Executors.newFixedThreadPool(5);
        try (SignalingServer server = SignalingServer.start(base.withHostile(base.hostile().withLimits(limits)),
                tokens, bridge)) {
            URI ws = URI.create("ws://127.0.0.1:" + server.port() + "/ws");
            TokenMinter minter = new TokenMinter(SECRET);
            DtlsCertificate cert = DtlsCertificate.generate();
            InetAddress loopback = InetAddress.getByName("127.0.0.1");
            List<SimParticipant> call = List.of(
                    new SimParticipant("dr-call", ws, minter.mint("c-call", "dr-call", "doctor"), group, loopback,
                            cert, metrics, Impairment.NONE, new int[] {300}),
                    new SimParticipant("room-call", ws, minter.mint("c-call", "room-call", "room"), group, loopback,
                            cert, metrics, Impairment.NONE, new int[] {300}));
            call.forEach(SimParticipant::start);
            for (long end = System.nanoTime() + 20_000_000_000L; !call.stream().allMatch(SimParticipant::joined)
                    && System.nanoTime() < end; ) {
                Thread.sleep(100);
            }
            assertThat(call).as(String.valueOf(metrics.failureReasons)).allMatch(SimParticipant::joined);
            // the first seconds carry keyframes, the first layer choices and the estimator's probing: the call's
            // steady rate is what the flood must not change
            Thread.sleep(6000);
            Window before = sample(metrics, null, Duration.ofSeconds(4));
            assertThat(before.received()).as("the call's media before the flood").isGreaterThan(400);

            AtomicLong welcomes = new AtomicLong();
            AtomicLong tokenErrors = new AtomicLong();
            AtomicLong joinLimited = new AtomicLong();
            AtomicLong upgradesRefused = new AtomicLong();
            AtomicLong pageMillisMax = new AtomicLong();
            CompletableFuture<Integer> spamClosed = new CompletableFuture<>();
            AtomicLong spamSent = new AtomicLong();
            AtomicLong spamLimited = new AtomicLong();
            long deadline = System.nanoTime() + FLOOD.toNanos();
            List<Future<?>> running = new ArrayList<>();
            Window during = sample(metrics, () -> {
                for (int t = 0; t < 3; t++) { // joins: connect, hello (bad or good token), first answer, close
                    int thread = t;
                    running.add(flooders.submit(() -> {
                        for (int i = 0; System.nanoTime() < deadline; i++) {
                            String token = i % 2 == 0 ? "not-a-token"
                                    : minter.mint("c-flood-" + thread + "-" + i, "p", "guest");
                            JsonNode first = helloOnce(http, ws, token, upgradesRefused);
                            if (first == null) {
                                continue;
                            }
                            switch (first.path("type").asText() + "/" + first.path("code").asText()) {
                                case "welcome/" -> welcomes.incrementAndGet();
                                case "error/rate-limited" -> joinLimited.incrementAndGet();
                                default -> tokenErrors.incrementAndGet();
                            }
                        }
                        return null;
                    }));
                }
                running.add(flooders.submit(() -> { // one socket's message flood: pings as fast as it can write
                    spam(http, ws, minter.mint("c-spam", "spammer", "guest"), spamClosed, spamSent, spamLimited,
                            deadline);
                    return null;
                }));
                running.add(flooders.submit(() -> { // sockets that never say hello, and the page meanwhile
                    List<WebSocket> idle = new ArrayList<>();
                    for (int i = 0; i < 30; i++) {
                        try {
                            idle.add(http.newWebSocketBuilder().buildAsync(ws, new WebSocket.Listener() { })
                                    .get(5, TimeUnit.SECONDS));
                        } catch (java.util.concurrent.ExecutionException e) {
                            if (e.getCause() instanceof WebSocketHandshakeException) {
                                upgradesRefused.incrementAndGet();
                            }
                        }
                    }
                    while (System.nanoTime() < deadline) {
                        long t0 = System.nanoTime();
                        HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                                + server.port() + "/room.html")).timeout(Duration.ofSeconds(5)).build(),
                                HttpResponse.BodyHandlers.ofString());
                        assertThat(page.statusCode()).isEqualTo(200);
                        pageMillisMax.accumulateAndGet(Math.max(1, (System.nanoTime() - t0) / 1_000_000), Math::max);
                        Thread.sleep(200);
                    }
                    idle.forEach(WebSocket::abort);
                    return null;
                }));
            }, FLOOD);
            for (Future<?> f : running) {
                f.get(30, TimeUnit.SECONDS);
            }
            Window after = sample(metrics, null, Duration.ofSeconds(3));
            SignalingGuard guard = server.guard();
            String figures = String.format("before %s (%.2f %% loss), during %s (%.2f %%), after %s; welcomes %d, "
                            + "token errors %d, join-limited %d, upgrades refused %d, spam sent %d limited %d closed %s, "
                            + "page max %d ms", before, before.lossPercent(), during, during.lossPercent(), after,
                    welcomes.get(), tokenErrors.get(), joinLimited.get(), upgradesRefused.get(), spamSent.get(),
                    spamLimited.get(), spamClosed.getNow(null), pageMillisMax.get());
            System.out.println("FloodTest: " + figures);

            // the limits held: no more joins than the budget (10 at once + 10/min refill over the flood), the rest
            // refused and counted; the flooding socket was refused, then closed; idle sockets over the cap refused
            assertThat(welcomes.get() + tokenErrors.get()).as(figures).isLessThanOrEqualTo(JOIN_BURST + 2);
            assertThat(joinLimited.get()).as(figures).isGreaterThan(20);
            assertThat(guard.rejectedCount(SignalingGuard.REASON_JOIN_RATE)).isGreaterThanOrEqualTo(joinLimited.get());
            assertThat(spamLimited.get()).as(figures).isGreaterThan(0);
            assertThat(spamClosed.get(10, TimeUnit.SECONDS)).as(figures).isEqualTo(4429);
            assertThat(guard.rejectedCount(SignalingGuard.REASON_MESSAGE_FLOOD)).isGreaterThan(0);
            assertThat(upgradesRefused.get()).as(figures).isGreaterThan(0);
            assertThat(guard.rejectedCount(SignalingGuard.REASON_SOCKETS_PER_ADDRESS)).isGreaterThan(0);
            assertThat(pageMillisMax.get()).as("the server stays responsive: " + figures).isLessThan(2000);
            // the call went on: same media rate (per second) during and after, no loss spike, no error
            double rateBefore = before.received() / 4.0;
            assertThat(during.received() / (double) FLOOD.toSeconds()).as(figures).isGreaterThan(0.8 * rateBefore);
            assertThat(after.received() / 3.0).as(figures).isGreaterThan(0.8 * rateBefore);
            assertThat(during.lossPercent()).as(figures).isLessThan(before.lossPercent() + 1.0);
            assertThat(metrics.failures.sum()).as(String.valueOf(metrics.failureReasons)).isZero();
            assertThat(call).allMatch(SimParticipant::joined);
            call.forEach(SimParticipant::close);
        } finally {
            flooders.shutdownNow();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            bridge.close();
        }
    }

    /** Connects, sends one hello, returns the first message (or null when the upgrade was refused or silent). */
    static JsonNode helloOnce(HttpClient http, URI ws, String token, AtomicLong refused) throws Exception {
        LinkedBlockingQueue<String> in = new LinkedBlockingQueue<>();
        WebSocket s;
        try {
            s = http.newWebSocketBuilder().buildAsync(ws, collector(in, null)).get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException) {
                refused.incrementAndGet();
                Thread.sleep(20);
                return null;
            }
            throw e;
        }
        try {
            s.sendText("{\"type\":\"hello\",\"id\":1,\"version\":1,\"token\":\"" + token + "\"}", true)
                    .get(5, TimeUnit.SECONDS);
            String first = in.poll(5, TimeUnit.SECONDS);
            return first == null ? null : JSON.readTree(first);
        } finally {
            s.abort();
        }
    }

    static void spam(HttpClient http, URI ws, String token, CompletableFuture<Integer> closed, AtomicLong sent,
                     AtomicLong limited, long deadline) throws Exception {
        LinkedBlockingQueue<String> in = new LinkedBlockingQueue<>();
        WebSocket s = http.newWebSocketBuilder().buildAsync(ws, collector(in, closed)).get(5, TimeUnit.SECONDS);
        s.sendText("{\"type\":\"hello\",\"id\":0,\"version\":1,\"token\":\"" + token + "\"}", true).join();
        for (int i = 1; !closed.isDone() && System.nanoTime() < deadline && i < 100_000; i++) {
            try {
                s.sendText("{\"type\":\"ping\",\"id\":" + i + "}", true).get(5, TimeUnit.SECONDS);
                sent.incrementAndGet();
            } catch (java.util.concurrent.ExecutionException e) {
                break; // the server closed the socket while we wrote
            }
        }
        closed.get(10, TimeUnit.SECONDS);
        limited.set(in.stream().filter(m -> m.contains("\"rate-limited\"")).count());
    }

    static WebSocket.Listener collector(LinkedBlockingQueue<String> in, CompletableFuture<Integer> closed) {
        return new WebSocket.Listener() {
            private final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    in.add(partial.toString());
                    partial.setLength(0);
                }
                w.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket w, int code, String reason) {
                if (closed != null) {
                    closed.complete(code);
                }
                return null;
            }

            @Override
            public void onError(WebSocket w, Throwable error) {
                if (closed != null) {
                    closed.complete(-1);
                }
            }
        };
    }
}
