package org.consultbridge.signaling.ws;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.sdp.SdpException;
import org.consultbridge.signaling.consultation.ParticipantConnection;
import org.consultbridge.signaling.token.JoinClaims;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue #8, the pre-call check: a {@code hello} with {@code "mode":"precheck"} (docs/protocol.md, "Equipment
 * check"). The token is verified exactly as for a join (same refusals, same per-address join rate), but nobody is
 * admitted, told or put in the waiting room, no one-time token is used up and nothing is written to the audit log or
 * the consultation's summary: the participant gets a bridge endpoint of its own in a private conference (so nothing
 * it sends is forwarded to anyone) whose publish transport only receives. The browser publishes its camera and
 * microphone for a few seconds and reads RTT, loss and its uplink estimate from its own {@code getStats()}: the
 * bridge's receiver reports (RFC 3550 §6.4.2) and transport-cc feedback give the browser those figures over the
 * real media path. The check ends after at most {@link #MAX_SECONDS} (the server says {@code precheckEnded} and
 * closes the socket).
 */
public final class Precheck {

    /** The longest check; a hello may ask for less with {@code seconds}. */
    public static final int MAX_SECONDS = 20;
    /** Checks running at once on this server (each costs one bridge endpoint receiving up to ~2 Mbit/s). */
    static final int MAX_CONCURRENT = 32;
    public static final String MODE = "precheck";

    private static final Logger LOG = LoggerFactory.getLogger(Precheck.class);
    private static final AtomicInteger RUNNING = new AtomicInteger();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final SignalingContext ctx;
    private final ParticipantConnection conn;
    private final JoinClaims claims;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile BridgeEndpoint endpoint;

    private Precheck(SignalingContext ctx, ParticipantConnection conn, JoinClaims claims) {
        this.ctx = ctx;
        this.conn = conn;
        this.claims = claims;
    }

    /** Whether a hello asks for an equipment check. */
    static boolean requested(JsonNode hello) {
        return MODE.equals(hello.path("mode").asText(null));
    }

    /** Why a hello's {@code mode} is not understood, or null (absent, {@code join} or {@code precheck}). */
    static String badMode(JsonNode hello) {
        JsonNode mode = hello.get("mode");
        if (mode == null || mode.isNull() || mode.isTextual() && (mode.asText().equals("join")
                || mode.asText().equals(MODE))) {
            return null;
        }
        return "'mode' is 'join' (the default) or 'precheck'";
    }

    /** How many checks run now (tests, metrics). */
    public static int running() {
        return RUNNING.get();
    }

    /**
     * Starts a check for a hello whose token verified (and passed the one-time check). Returns null when refused
     * (the error went out and the socket is closing).
     */
    static Precheck start(SignalingContext ctx, ParticipantConnection conn, JoinClaims claims, JsonNode hello,
                          JsonNode id) {
        if (RUNNING.incrementAndGet() > MAX_CONCURRENT) {
            RUNNING.decrementAndGet();
            conn.send(error(ctx, id, ErrorCode.RATE_LIMITED, "too many equipment checks at once; retry in a minute"));
            conn.close(ErrorCode.CLOSE_RATE_LIMITED, "rate limited");
            return null;
        }
        Precheck p = new Precheck(ctx, conn, claims);
        JsonNode asked = hello.get("seconds");
        int seconds = asked != null && asked.isNumber()
                ? (int) Math.max(1, Math.min(MAX_SECONDS, asked.asDouble())) : MAX_SECONDS;
        // a conference of its own: ':' is outside the consultation id alphabet, so it never meets a consultation
        byte[] nonce = new byte[8];
        RANDOM.nextBytes(nonce);
        String conference = "precheck:" + HexFormat.of().formatHex(nonce);
        p.endpoint = ctx.bridge().createEndpoint(conference, claims.participantId(), p.new Listener());

        ObjectNode welcome = message(ctx, "welcome", id);
        welcome.put("protocolVersion", SignalingSocket.PROTOCOL_VERSION);
        welcome.put("mode", MODE);
        welcome.put("participantId", claims.participantId());
        welcome.put("consultationId", claims.consultationId());
        welcome.put("role", claims.role().wire());
        welcome.put("displayName", claims.displayName());
        welcome.put("admitted", false);
        welcome.putArray("participants");
        welcome.put("seconds", seconds);
        SignalingSocket.putIceServers(ctx, welcome, claims.participantId()); // TURN too: the check tests it
        conn.send(welcome.toString());
        CompletableFuture.delayedExecutor(seconds, TimeUnit.SECONDS).execute(p::expire);
        LOG.info("equipment check of {} ({}) for consultation {}: at most {} s", claims.participantId(),
                claims.role().wire(), claims.consultationId(), seconds);
        return p;
    }

    /** A message on the check's socket after its welcome. */
    void onMessage(String type, JsonNode msg, JsonNode id) {
        switch (type) {
            case "publishOffer" -> {
                JsonNode sdp = msg.get("sdp");
                if (sdp == null || !sdp.isTextual()) {
                    conn.send(error(ctx, id, ErrorCode.BAD_MESSAGE, "missing string field 'sdp'"));
                    return;
                }
                BridgeEndpoint e = endpoint;
                if (e == null || closed.get()) {
                    return;
                }
                try {
                    ObjectNode r = message(ctx, "publishAnswer", id);
                    r.put("sdp", e.acceptPublishOffer(sdp.asText()));
                    conn.send(r.toString());
                } catch (SdpException ex) {
                    conn.send(error(ctx, id, ErrorCode.SDP_INVALID, ex.getMessage()));
                }
            }
            case "iceCandidate" -> conn.send(message(ctx, "ack", id).toString()); // ICE-lite: learns from checks
            case "ping" -> conn.send(message(ctx, "pong", id).toString());
            case "leave" -> {
                conn.send(message(ctx, "ack", id).toString());
                conn.close(1000, "left");
            }
            case "hello" -> conn.send(error(ctx, id, ErrorCode.ALREADY_JOINED, "this socket already said hello"));
            default -> conn.send(error(ctx, id, ErrorCode.NOT_ALLOWED,
                    "an equipment check only publishes: publishOffer, iceCandidate, ping, leave"));
        }
    }

    /** The time limit passed: tell the page, close the socket (and with it, through {@link #close()}, the endpoint). */
    private void expire() {
        if (closed.get()) {
            return;
        }
        ObjectNode n = message(ctx, "precheckEnded", null);
        n.put("reason", "time-limit");
        n.put("message", "the equipment check has ended (time limit)");
        conn.send(n.toString());
        conn.close(1000, "precheck ended");
        close();
    }

    /** Ends the check: its endpoint and its place among the running checks. Idempotent. */
    void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        RUNNING.decrementAndGet();
        BridgeEndpoint e = endpoint;
        if (e != null) {
            try {
                e.close();
            } catch (RuntimeException ex) {
                LOG.debug("closing the equipment check's endpoint failed: {}", ex.toString());
            }
        }
    }

    /** Bridge call-backs (bridge threads, must not block): the transport's state goes to the page. */
    private final class Listener implements EndpointListener {
        @Override
        public void subscribeRenegotiationNeeded() {
            // a private conference: there is never anything to receive
        }

        @Override
        public void transportStateChanged(TransportDirection direction, TransportState state) {
            ObjectNode n = message(ctx, "transportState", null);
            n.put("direction", direction.name().toLowerCase(Locale.ROOT));
            n.put("state", state.name().toLowerCase(Locale.ROOT));
            conn.send(n.toString());
        }
    }

    private static ObjectNode message(SignalingContext ctx, String type, JsonNode id) {
        ObjectNode n = ctx.json().createObjectNode();
        n.put("type", type);
        if (id != null && !id.isNull()) {
            n.set("id", id);
        }
        return n;
    }

    private static String error(SignalingContext ctx, JsonNode id, String code, String text) {
        ObjectNode n = message(ctx, "error", id);
        n.put("code", code);
        n.put("message", text);
        return n.toString();
    }
}
