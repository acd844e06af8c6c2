package org.consultbridge.signaling.ws;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import org.consultbridge.signaling.audit.AuditLog;
import org.consultbridge.signaling.clinical.E2eeRelay;
import org.consultbridge.signaling.clinical.ProfileControl;
import org.consultbridge.signaling.consultation.AdmissionSettings;
import java.util.ArrayList;
import java.util.List;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.ServerConfig;
import org.consultbridge.signaling.consultation.ConsultationRegistry;
import org.consultbridge.signaling.ops.ClientStats;
import org.consultbridge.signaling.ops.OpsMonitor;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The signalling protocol's message handling on arbitrary text: what {@link SignalingSocket#onWebSocketText} does
 * with any frame a client can send, before and after a valid {@code hello} (so the SDP, mute, clientStats and
 * leave handlers are reached with a real bridge behind them), and {@link ClientStats#validate} on every JSON object.
 * Contract (docs/protocol.md): every message gets its reply or an {@code error} with a code; nothing escapes the
 * handler, and the code {@code internal} (the handler's catch-all for a bug) never appears. Input: the first byte
 * says whether to join first; the rest is split at newlines into messages. Seeds: one message of each type.
 */
class SignalingMessageFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static MediaBridge bridge;
    private static OpsMonitor ops;
    private static SignalingContext ctx;
    private static WaitingRoom waitingRoom;
    private static String hello;

    @BeforeAll
    static void start() {
        bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of(), 0));
        ServerConfig config = ServerConfig.load();
        TokenService tokens = new TokenService("fuzz-secret-fuzz-secret-fuzz-secret-0123", "consultbridge",
                Duration.ofHours(12), Duration.ofSeconds(60));
        ConsultationRegistry registry = new ConsultationRegistry(4);
        ops = new OpsMonitor(registry, bridge, config.ops(), JSON, null);
        // no waiting room: the fuzzed messages reach the call's handlers (publish, subscribe, mute, stats ...)
        AdmissionSettings admission = config.admission().withWaitingRoom(false);
        waitingRoom = new WaitingRoom(registry, bridge, JSON, admission,
                AuditLog.open(admission.audit(), Clock.systemUTC()), config.clockSkew(), config.tokenMaxLifetime(),
                Clock.systemUTC());
        ctx = new SignalingContext(tokens, registry, bridge, JSON, config.turn(), ops, waitingRoom,
                new E2eeRelay(JSON, config.clinical()), new ProfileControl(JSON, config.clinical()));
        hello = "{\"type\":\"hello\",\"id\":0,\"version\":1,\"token\":\""
                + tokens.mint("c-fuzz", "room-fuzz", Role.ROOM, "Raum", Duration.ofHours(12)) + "\"}";
    }

    @AfterAll
    static void stop() {
        waitingRoom.close();
        ops.close();
        bridge.close();
    }

    @FuzzTest(maxDuration = "5s")
    void messages(byte[] input) throws Exception {
        if (input.length == 0) {
            return;
        }
        List<String> sent = new ArrayList<>();
        SignalingSocket socket = new SignalingSocket(ctx);
        socket.onWebSocketOpen(session(sent));
        if ((input[0] & 1) != 0) {
            socket.onWebSocketText(hello);
        }
        String text = new String(input, 1, input.length - 1, StandardCharsets.UTF_8);
        for (String message : text.split("\n", 16)) {
            socket.onWebSocketText(message);
            try {
                JsonNode n = JSON.readTree(message);
                if (n != null && n.isObject()) {
                    ClientStats.validate(n);
                }
            } catch (com.fasterxml.jackson.core.JsonProcessingException notJson) {
                // bad-json: the socket answered it
            }
        }
        socket.onWebSocketClose(1000, "fuzz");
        for (String reply : sent) {
            JsonNode r = JSON.readTree(reply);
            if (r.path("code").asText().equals(ErrorCode.INTERNAL)) {
                throw new AssertionError("a message made the handler fail: " + reply);
            }
        }
    }

    /** A Jetty session that records what the socket sends and completes every write at once. */
    private static Session session(List<String> sent) {
        return (Session) Proxy.newProxyInstance(Session.class.getClassLoader(), new Class<?>[] {Session.class},
                (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "sendText" -> {
                            sent.add((String) args[0]);
                            ((Callback) args[1]).succeed();
                            return null;
                        }
                        case "close" -> {
                            if (args != null && args.length > 0 && args[args.length - 1] instanceof Callback cb) {
                                cb.succeed();
                            }
                            return null;
                        }
                        case "isOpen" -> {
                            return true;
                        }
                        case "hashCode" -> {
                            return System.identityHashCode(proxy);
                        }
                        case "equals" -> {
                            return proxy == args[0];
                        }
                        case "toString" -> {
                            return "FuzzSession";
                        }
                        default -> {
                            Class<?> t = method.getReturnType();
                            if (t == boolean.class) {
                                return false;
                            }
                            if (t == int.class || t == long.class) {
                                return t == int.class ? (Object) 0 : (Object) 0L;
                            }
                            return null;
                        }
                    }
                });
    }
}
