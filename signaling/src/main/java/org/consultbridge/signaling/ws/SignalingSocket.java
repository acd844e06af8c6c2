package org.consultbridge.signaling.ws;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.sdp.SdpException;
import org.consultbridge.signaling.clinical.ClinicalProfile;
import org.consultbridge.signaling.clinical.E2eeRelay;
import org.consultbridge.signaling.consultation.Consultation;
import org.consultbridge.signaling.consultation.ConsultationRegistry.JoinResult;
import org.consultbridge.signaling.consultation.Participant;
import org.consultbridge.signaling.consultation.ParticipantConnection;
import org.consultbridge.signaling.limits.ConnectionGuard;
import org.consultbridge.signaling.token.JoinClaims;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenException;
import org.consultbridge.turn.TurnCredentials;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One participant's WebSocket: the signalling protocol of docs/protocol.md. Jetty delivers this socket's messages
 * one at a time; messages to it from other threads (bridge call-backs, other participants) go through an outbox
 * that keeps one write in flight.
 */
public final class SignalingSocket implements Session.Listener.AutoDemanding, ParticipantConnection {

    public static final int PROTOCOL_VERSION = 1;
    /** What a participant in the waiting room may not do yet (ping, leave and clientStats it may). */
    private static final Set<String> NEEDS_ADMISSION = Set.of("publishOffer", "subscribeAnswer", "iceCandidate",
            "mute", "e2eeKey", "e2eeMediaKey", "setProfile", "iceRestart", "stillRequest", "stillOffer", "stillChunk",
            "stillAck", "stillResume", "stillDone", "stillError");
    /** A resume token is 43 characters (32 bytes, base64url); anything much longer is not one. */
    private static final int MAX_RESUME_TOKEN = 128;
    private static final Logger LOG = LoggerFactory.getLogger(SignalingSocket.class);
    /** A client that does not read its messages is cut off rather than allowed to grow our memory. */
    private static final int MAX_QUEUED = 512;

    private final SignalingContext ctx;
    /** Issue #7: this socket's message rate, its address's join rate, the hello deadline. */
    private final ConnectionGuard guard;
    private final ArrayDeque<String> outbox = new ArrayDeque<>();
    private boolean writing;
    private int closeCode;
    private String closeReason;
    private volatile Session session;
    private volatile boolean closed;
    /** The client said leave: its closing socket is not a dropped connection (no grace period). */
    private volatile boolean leaving;
    /** Reconnects: when the last frame (message or pong) arrived, and the ping task that checks it. */
    private volatile long lastHeardNanos = System.nanoTime();
    private volatile ScheduledFuture<?> liveness;

    private Participant participant;
    private String consultationId;
    private Consultation consultation;
    /** Issue #8: the clinical profile claim of this participant's token (null: none). */
    private ClinicalProfile tokenProfile;
    /** Issue #8: this socket's allowance of end-to-end key messages. */
    private final E2eeRelay.Budget e2eeBudget = new E2eeRelay.Budget();
    /**
     * The participant knows it is in the call (welcome or admitted sent). A subscribe offer that became due before
     * goes out after.
     */
    private boolean welcomed;
    private boolean offerPending;
    /** The welcome went out; an admission that came before it (a fast doctor) waits in pendingAdmission. */
    private boolean helloDone;
    private List<Participant> pendingAdmission;
    /** Issue #8: this socket is an equipment check (hello with mode precheck), not a participant. */
    private Precheck precheck;

    public SignalingSocket(SignalingContext ctx) {
        this(ctx, ConnectionGuard.unlimited());
    }

    public SignalingSocket(SignalingContext ctx, ConnectionGuard guard) {
        this.ctx = ctx;
        this.guard = guard;
    }

    @Override
    public void onWebSocketOpen(Session s) {
        this.session = s;
        guard.opened(() -> {
            error(null, ErrorCode.HELLO_TIMEOUT, "no hello with a valid token in time");
            close(ErrorCode.CLOSE_HELLO_TIMEOUT, "hello timeout");
        });
        Reconnects r = ctx.waitingRoom().reconnects();
        if (r.settings().livenessEnabled()) {
            lastHeardNanos = System.nanoTime();
            liveness = r.every(r.settings().pingInterval(), this::checkLiveness);
        }
    }

    /**
     * Reconnects: a link that goes silent closes no TCP connection for minutes. Every ping interval the server
     * pings (RFC 6455 §5.5.2; browsers answer by themselves); a socket from which nothing came for the liveness
     * timeout is cut, which for a participant in the call starts its grace period.
     */
    private void checkLiveness() {
        Session s = session;
        if (closed || s == null) {
            ScheduledFuture<?> l = liveness;
            if (l != null) {
                l.cancel(false);
            }
            return;
        }
        long silentNanos = System.nanoTime() - lastHeardNanos;
        if (silentNanos > ctx.waitingRoom().reconnects().settings().livenessTimeout().toNanos()) {
            LOG.info("signalling socket of {} silent for {} ms: taken as dropped",
                    participant == null ? "a client" : participant.id(), silentNanos / 1_000_000);
            liveness.cancel(false);
            s.disconnect();
            cleanup(1006); // at once, whenever Jetty reports the close (then a no-op)
            return;
        }
        try {
            s.sendPing(ByteBuffer.allocate(0), Callback.NOOP);
        } catch (RuntimeException e) { // a session closing meanwhile: its close ends this task
            LOG.debug("ping failed: {}", e.toString());
        }
    }

    @Override
    public void onWebSocketPong(ByteBuffer payload) {
        lastHeardNanos = System.nanoTime();
    }

    @Override
    public void onWebSocketText(String text) {
        lastHeardNanos = System.nanoTime();
        ConnectionGuard.Verdict verdict = guard.onMessage(); // before parsing: a flood costs no JSON work
        if (verdict != ConnectionGuard.Verdict.ALLOW) {
            error(null, ErrorCode.RATE_LIMITED, "too many messages: this one was not processed");
            if (verdict == ConnectionGuard.Verdict.CLOSE) {
                close(ErrorCode.CLOSE_RATE_LIMITED, "rate limited");
            }
            return;
        }
        JsonNode msg;
        try {
            msg = ctx.json().readTree(text);
        } catch (JsonProcessingException e) {
            error(null, ErrorCode.BAD_JSON, "message is not valid JSON");
            return;
        }
        JsonNode id = msg == null ? null : msg.get("id");
        if (msg == null || !msg.isObject() || !msg.path("type").isTextual()) {
            error(id, ErrorCode.BAD_MESSAGE, "a message is a JSON object with a string 'type'");
            return;
        }
        String type = msg.get("type").asText();
        try {
            Precheck check = precheck;
            if (check != null) {
                check.onMessage(type, msg, id);
                return;
            }
            if (!type.equals("hello") && !type.equals("ping") && participant == null) {
                error(id, ErrorCode.NOT_JOINED, "send hello with a token first");
                return;
            }
            if (participant != null && participant.connection() != this) {
                return; // it resumed on a newer connection, which speaks for it now; this one is being closed
            }
            if (participant != null && !participant.admitted() && NEEDS_ADMISSION.contains(type)) {
                error(id, ErrorCode.NOT_ADMITTED, participant.dismissed() ? "no longer in the consultation"
                        : "waiting for a doctor to admit you");
                return;
            }
            switch (type) {
                case "hello" -> onHello(msg, id);
                case "publishOffer" -> onPublishOffer(msg, id);
                case "subscribeAnswer" -> onSubscribeAnswer(msg, id);
                case "iceCandidate" -> reply(id, "ack"); // ICE-lite bridge: learns addresses from checks
                case "mute" -> onMute(msg, id);
                case "clientStats" -> onClientStats(msg, id);
                case "admit" -> ctx.waitingRoom().admit(participant, consultationId, msg, id);
                case "decline" -> ctx.waitingRoom().decline(participant, consultationId, msg, id);
                case "remove" -> ctx.waitingRoom().remove(participant, consultationId, msg, id);
                case "endConsultation" -> ctx.waitingRoom().end(participant, consultationId, id);
                case "e2eeKey" -> answer(id, ctx.e2ee().onKey(participant, others(), msg, e2eeBudget));
                case "e2eeMediaKey" -> answer(id, ctx.e2ee().onMediaKey(participant,
                        ctx.registry().admitted(consultationId), msg, e2eeBudget));
                case "setProfile" -> {
                    String[] refused = ctx.profiles().onSetProfile(consultation, participant,
                            ctx.registry().admitted(consultationId), msg, () -> reply(id, "ack"));
                    if (refused != null) {
                        answer(id, refused);
                    }
                }
                case "iceRestart" -> onIceRestart(id);
                case "stillRequest", "stillOffer", "stillChunk", "stillAck", "stillResume", "stillDone",
                     "stillError" -> ctx.stills().onMessage(participant, consultationId, msg, id); // issue #8
                case "leave" -> {
                    leaving = true;
                    reply(id, "ack");
                    close(1000, "left");
                }
                case "ping" -> reply(id, "pong");
                default -> error(id, ErrorCode.BAD_MESSAGE, "unknown message type: " + abbreviate(type));
            }
        } catch (RuntimeException e) {
            LOG.warn("signalling message of type {} failed", abbreviate(type), e);
            error(id, ErrorCode.INTERNAL, "internal error");
        }
    }

    private void onHello(JsonNode msg, JsonNode id) {
        if (participant != null) {
            error(id, ErrorCode.ALREADY_JOINED, "this socket already joined");
            return;
        }
        if (msg.path("version").asInt(-1) != PROTOCOL_VERSION) {
            error(id, ErrorCode.PROTOCOL_VERSION, "this server speaks protocol version " + PROTOCOL_VERSION);
            close(ErrorCode.CLOSE_PROTOCOL, "protocol version");
            return;
        }
        String badMode = Precheck.badMode(msg);
        if (badMode != null) {
            error(id, ErrorCode.BAD_MESSAGE, badMode);
            return;
        }
        if (!guard.allowJoin()) {
            error(id, ErrorCode.RATE_LIMITED, "too many joins from your address; retry in "
                    + guard.joinRetryAfterSeconds() + " s");
            close(ErrorCode.CLOSE_RATE_LIMITED, "rate limited");
            return;
        }
        if (msg.has("resume")) {
            onResume(msg, id);
            return;
        }
        JoinClaims claims;
        try {
            // a hello may name its consultation (the page's URL does): then it must be the token's
            JsonNode named = msg.get("consultationId");
            claims = ctx.tokens().verify(msg.path("token").asText(""), named != null && named.isTextual()
                    ? named.asText() : null);
        } catch (TokenException e) {
            error(id, e.code(), e.getMessage());
            close(ErrorCode.CLOSE_TOKEN, e.code());
            return;
        }
        WaitingRoom.Refusal refusal = ctx.waitingRoom().refusal(claims);
        if (refusal != null) {
            error(id, refusal.code(), refusal.message());
            close(refusal.closeCode(), refusal.code());
            return;
        }
        if (Precheck.requested(msg)) { // issue #8: an equipment check, nobody is told (Precheck)
            Precheck check = Precheck.start(ctx, this, claims, msg, id);
            if (check != null) {
                boolean gone;
                synchronized (this) {
                    precheck = check;
                    gone = closed;
                }
                guard.joined();
                if (gone) {
                    check.close();
                }
            }
            return;
        }
        Participant p = new Participant(claims.participantId(), claims.role(), claims.displayName(),
                claims.tokenId(), claims.expiresAt(), this);
        JoinResult result = ctx.waitingRoom().join(claims.consultationId(), p);
        if (result instanceof JoinResult.Ended) {
            error(id, ErrorCode.CONSULTATION_ENDED, "this consultation was ended by its doctor");
            close(ErrorCode.CLOSE_ENDED, "consultation ended");
            return;
        }
        if (result instanceof JoinResult.Full full) {
            error(id, ErrorCode.CONSULTATION_FULL, "consultation has its maximum of " + full.max() + " participants");
            close(ErrorCode.CLOSE_FULL, "full");
            return;
        }
        if (result instanceof JoinResult.Draining) { // issue #5: this node takes no new consultations
            ctx.ops().metrics().joinRefused();
            error(id, ErrorCode.DRAINING, "this server is draining: it takes no new consultations");
            close(ErrorCode.CLOSE_DRAINING, "draining");
            return;
        }
        JoinResult.Joined joined = (JoinResult.Joined) result;
        if (joined.replaced() != null) {
            ctx.waitingRoom().reconnects().forget(joined.replaced()); // its resume token goes with it
            joined.replaced().connection().close(ErrorCode.CLOSE_REPLACED, "replaced by a new connection");
        }
        synchronized (this) {
            participant = p;
            consultationId = claims.consultationId();
            consultation = joined.consultation();
            tokenProfile = ClinicalProfile.fromWire(claims.profile());
        }
        guard.joined();
        LOG.info("participant {} ({}) joined consultation {}{}", p.id(), p.role().wire(), claims.consultationId(),
                p.admitted() ? "" : " (waiting room)");

        ObjectNode welcome = message("welcome", id);
        welcome.put("protocolVersion", PROTOCOL_VERSION);
        welcome.put("participantId", p.id());
        welcome.put("consultationId", claims.consultationId());
        welcome.put("role", p.role().wire());
        welcome.put("displayName", p.displayName());
        welcome.put("admitted", p.admitted());
        ctx.e2ee().describeWelcome(welcome);
        welcome.put("profile", ctx.profiles().current(joined.consultation()).wire());
        putIceServers(ctx, welcome, p.id());
        if (p.admitted()) {
            startCall(welcome, joined.others());
        } else {
            welcome.putArray("participants"); // who is in the call is shown once admitted
            send(welcome);
            List<Participant> admittedMeanwhile;
            synchronized (this) {
                helloDone = true;
                admittedMeanwhile = pendingAdmission;
                pendingAdmission = null;
            }
            if (admittedMeanwhile != null) {
                startCall(message("admitted", null), admittedMeanwhile);
            }
        }
        ctx.waitingRoom().joined(claims.consultationId(), p, joined);
    }

    /**
     * Reconnects: {@code hello} with {@code resume} (and the {@code consultationId} and {@code participantId} it was
     * issued for) takes the participant's place back: same admission, same bridge endpoint, a new resume token. The
     * media resumes with an ICE restart: a new subscribe offer with new credentials now, the publish side with the
     * client's next offer.
     */
    private void onResume(JsonNode msg, JsonNode id) {
        JsonNode token = msg.get("resume");
        JsonNode cidNode = msg.get("consultationId");
        JsonNode pidNode = msg.get("participantId");
        if (token == null || !token.isTextual() || cidNode == null || !cidNode.isTextual() || pidNode == null
                || !pidNode.isTextual()) {
            error(id, ErrorCode.BAD_MESSAGE, "a resume needs string fields 'resume', 'consultationId' and "
                    + "'participantId'");
            return;
        }
        Reconnects reconnects = ctx.waitingRoom().reconnects();
        Object result = !reconnects.enabled() || token.asText().length() > MAX_RESUME_TOKEN
                ? Reconnects.Refusal.INVALID
                : reconnects.resume(token.asText(), cidNode.asText(), pidNode.asText(), this);
        if (result instanceof Reconnects.Refusal refusal) {
            error(id, refusal.code(), refusal.message());
            close(ErrorCode.CLOSE_TOKEN, refusal.code());
            return;
        }
        Reconnects.Resumed r = (Reconnects.Resumed) result;
        Participant p = r.participant();
        String cid = r.consultation().id();
        synchronized (this) {
            participant = p;
            consultationId = cid;
            consultation = r.consultation();
            helloDone = true;
            welcomed = true;
        }
        guard.joined();
        if (r.previous() != null && r.previous() != this) {
            r.previous().close(ErrorCode.CLOSE_REPLACED, "resumed on a new connection");
        }
        LOG.info("participant {} resumed its place in consultation {}", p.id(), cid);
        List<Participant> others = ctx.registry().admitted(cid).stream().filter(o -> o != p).toList();
        ObjectNode welcome = message("welcome", id);
        welcome.put("protocolVersion", PROTOCOL_VERSION);
        welcome.put("participantId", p.id());
        welcome.put("consultationId", cid);
        welcome.put("role", p.role().wire());
        welcome.put("displayName", p.displayName());
        welcome.put("admitted", true);
        welcome.put("resumed", true);
        ctx.e2ee().describeWelcome(welcome);
        welcome.put("profile", ctx.profiles().current(r.consultation()).wire());
        putIceServers(ctx, welcome, p.id());
        putResume(welcome, r.nextToken());
        ArrayNode list = welcome.putArray("participants");
        others.forEach(o -> list.add(describe(o)));
        send(welcome);
        if (r.wasReconnecting()) {
            ObjectNode n = message("participantState", null);
            n.put("participantId", p.id());
            n.put("state", "connected");
            broadcast(others, n);
        }
        ctx.waitingRoom().resumed(cid, p);
        ctx.ops().reconnected(cid, p, "resumed");
        BridgeEndpoint e = p.endpoint();
        if (e != null) {
            e.restartIce(); // the subscribe offer that follows carries new credentials
            ctx.ops().iceRestarted(cid, p, "subscribe: resumed");
        }
    }

    /**
     * The client's ICE failed while its signalling stayed up: ICE restart of the subscribe side (a new offer follows);
     * the client restarts its publish side with a new offer of its own.
     */
    private void onIceRestart(JsonNode id) {
        BridgeEndpoint e = participant.endpoint();
        if (e == null) {
            error(id, ErrorCode.NOT_ADMITTED, "no media yet");
            return;
        }
        reply(id, "ack");
        e.restartIce();
        ctx.ops().iceRestarted(consultationId, participant, "subscribe: client asked");
    }

    private void putResume(ObjectNode msg, String token) {
        ObjectNode resume = msg.putObject("resume");
        resume.put("token", token);
        resume.put("graceSeconds", ctx.waitingRoom().reconnects().settings().grace().toSeconds());
    }

    /**
     * The {@code iceServers} of a {@code welcome}: draft-uberti-behave-turn-rest-00 §2.2 ephemeral TURN credentials
     * bound to {@code participantId}, none without TURN. Also for equipment checks ({@link Precheck}).
     */
    static void putIceServers(SignalingContext ctx, ObjectNode welcome, String participantId) {
        ArrayNode iceServers = welcome.putArray("iceServers");
        if (ctx.turn() != null && ctx.turn().enabled()) {
            TurnCredentials c = TurnCredentials.issue(ctx.turn().signingSecret(), participantId,
                    ctx.turn().credentialTtl(), Instant.now());
            ObjectNode server = iceServers.addObject();
            ArrayNode urls = server.putArray("urls");
            ctx.turn().iceUrls().forEach(urls::add);
            server.put("username", c.username());
            server.put("credential", c.password());
        }
    }

    /** Admitted from the waiting room (called on the admitting doctor's thread). */
    @Override
    public void enterCall(List<Participant> others) {
        synchronized (this) {
            if (!helloDone) {
                pendingAdmission = others; // onHello sends the welcome first, then this
                return;
            }
        }
        startCall(message("admitted", null), others);
    }

    /**
     * Puts the participant into the call: its bridge endpoint, {@code msg} (welcome or admitted) with the others in
     * the call, then any subscribe offer that became due, and {@code participantJoined} to the others.
     */
    private void startCall(ObjectNode msg, List<Participant> others) {
        Participant p;
        String cid;
        Consultation c;
        ClinicalProfile claimed;
        synchronized (this) {
            p = participant;
            cid = consultationId;
            c = consultation;
            claimed = tokenProfile;
        }
        if (p == null) {
            return;
        }
        BridgeEndpoint endpoint = ctx.bridge().createEndpoint(cid, p.id(), new BridgeListener(p));
        p.setEndpoint(endpoint);
        if (!ctx.registry().isPresent(cid, p) || !p.admitted()) {
            endpoint.close(); // it left, or was removed, or the consultation ended meanwhile (see cleanup)
            return;
        }
        // issue #8: a doctor's token may choose the clinical profile; the newcomer's endpoint gets the preference
        msg.put("profile", ctx.profiles().onJoin(c, p, claimed, others).wire());
        Reconnects reconnects = ctx.waitingRoom().reconnects();
        if (reconnects.enabled()) {
            putResume(msg, reconnects.issue(c, p));
        }
        ArrayNode list = msg.putArray("participants");
        for (Participant o : others) {
            list.add(describe(o));
        }
        send(msg);
        boolean sendOffer;
        synchronized (this) {
            helloDone = true;
            welcomed = true;
            sendOffer = offerPending;
            offerPending = false;
        }
        ObjectNode announce = message("participantJoined", null);
        announce.set("participant", describe(p));
        broadcast(others, announce);
        if (sendOffer) {
            offerSubscribe();
        }
        updateMainSources(ctx.registry().admitted(cid));
    }

    /**
     * Tells the bridge whose video each participant should see best: a doctor the telemedicine room (else a
     * guest), everyone else a doctor. The allocator gives that video the best layer the downlink carries.
     */
    static void updateMainSources(List<Participant> all) {
        for (Participant p : all) {
            BridgeEndpoint e = p.endpoint();
            if (e == null) {
                continue;
            }
            Participant main = null;
            for (Role wanted : p.role() == Role.DOCTOR ? new Role[] {Role.ROOM, Role.GUEST, Role.DOCTOR}
                    : new Role[] {Role.DOCTOR, Role.ROOM, Role.GUEST}) {
                for (Participant o : all) {
                    if (main == null && o != p && o.role() == wanted) {
                        main = o;
                    }
                }
            }
            try {
                e.setMainSource(main == null ? null : main.id());
            } catch (RuntimeException ex) {
                LOG.debug("setting the main source of {} failed: {}", p.id(), ex.toString());
            }
        }
    }

    private void onPublishOffer(JsonNode msg, JsonNode id) {
        String sdp = requireText(msg, "sdp", id);
        if (sdp == null) {
            return;
        }
        try {
            String answer = participant.endpoint().acceptPublishOffer(sdp);
            ObjectNode r = message("publishAnswer", id);
            r.put("sdp", answer);
            send(r);
        } catch (SdpException e) {
            error(id, ErrorCode.SDP_INVALID, e.getMessage());
        }
    }

    private void onSubscribeAnswer(JsonNode msg, JsonNode id) {
        String sdp = requireText(msg, "sdp", id);
        if (sdp == null) {
            return;
        }
        try {
            participant.endpoint().acceptSubscribeAnswer(sdp);
            reply(id, "ack");
        } catch (SdpException e) {
            error(id, ErrorCode.SDP_INVALID, e.getMessage());
        }
    }

    private void onMute(JsonNode msg, JsonNode id) {
        if (!msg.path("audio").isBoolean() || !msg.path("video").isBoolean()) {
            error(id, ErrorCode.BAD_MESSAGE, "mute needs boolean 'audio' and 'video'");
            return;
        }
        participant.setMuted(msg.get("audio").asBoolean(), msg.get("video").asBoolean());
        reply(id, "ack");
        ObjectNode n = message("muteChanged", null);
        n.put("participantId", participant.id());
        n.put("audio", participant.audioMuted());
        n.put("video", participant.videoMuted());
        broadcast(others(), n);
    }

    /** Replies to a request handled elsewhere: {@code ack}, or the error it was refused with. */
    private void answer(JsonNode id, String[] refused) {
        if (refused == null) {
            reply(id, "ack");
        } else {
            error(id, refused[0], refused[1]);
        }
    }

    /** The client's getStats() summary (issue #5): validated and kept by the ops monitor. */
    private void onClientStats(JsonNode msg, JsonNode id) {
        String[] refused = ctx.ops().clientStats(participant, msg);
        if (refused == null) {
            reply(id, "ack");
        } else {
            error(id, refused[0], refused[1]);
        }
    }

    /**
     * Bridge call-backs: run on the bridge's event loop, must not block (sending is queued). They go to the
     * participant's current connection: after a resume that is another socket than the one that made the endpoint.
     */
    private final class BridgeListener implements EndpointListener {
        private final Participant owner;

        BridgeListener(Participant owner) {
            this.owner = owner;
        }

        private SignalingSocket target() {
            return owner.connection() instanceof SignalingSocket s ? s : SignalingSocket.this;
        }

        @Override
        public void subscribeRenegotiationNeeded() {
            SignalingSocket t = target();
            synchronized (t) {
                if (!t.welcomed) {
                    t.offerPending = true;
                    return;
                }
            }
            t.offerSubscribe();
        }

        @Override
        public void videoSuspended(String sourceEndpointId, boolean suspended) {
            ObjectNode n = message("videoSuspended", null);
            n.put("participantId", sourceEndpointId);
            n.put("suspended", suspended);
            target().send(n);
        }

        @Override
        public void transportStateChanged(TransportDirection direction, TransportState state) {
            ObjectNode n = message("transportState", null);
            n.put("direction", direction.name().toLowerCase(Locale.ROOT));
            n.put("state", state.name().toLowerCase(Locale.ROOT));
            target().send(n);
        }
    }

    private void offerSubscribe() {
        Participant p = participant;
        if (p == null || p.endpoint() == null || closed) {
            return;
        }
        Optional<String> offer = p.endpoint().createSubscribeOffer();
        offer.ifPresent(sdp -> {
            ObjectNode n = message("subscribeOffer", null);
            n.put("sdp", sdp);
            send(n);
        });
    }

    /** The others in the call (admitted). */
    private List<Participant> others() {
        return ctx.registry().admitted(consultationId).stream().filter(o -> o != participant).toList();
    }

    private void broadcast(List<Participant> to, ObjectNode msg) {
        String text = msg.toString();
        for (Participant o : to) {
            o.connection().send(text);
        }
    }

    private ObjectNode describe(Participant p) {
        ObjectNode n = ctx.json().createObjectNode();
        n.put("participantId", p.id());
        n.put("role", p.role().wire());
        n.put("displayName", p.displayName());
        n.put("audioMuted", p.audioMuted());
        n.put("videoMuted", p.videoMuted());
        n.put("state", p.reconnecting() ? "reconnecting" : "connected");
        E2eeRelay.describe(p, n);
        return n;
    }

    private String requireText(JsonNode msg, String field, JsonNode id) {
        JsonNode v = msg.get(field);
        if (v == null || !v.isTextual()) {
            error(id, ErrorCode.BAD_MESSAGE, "missing string field '" + field + "'");
            return null;
        }
        return v.asText();
    }

    private ObjectNode message(String type, JsonNode id) {
        ObjectNode n = ctx.json().createObjectNode();
        n.put("type", type);
        if (id != null && !id.isNull()) {
            n.set("id", id);
        }
        return n;
    }

    private void reply(JsonNode id, String type) {
        send(message(type, id));
    }

    private void error(JsonNode id, String code, String text) {
        ObjectNode n = message("error", id);
        n.put("code", code);
        n.put("message", text);
        send(n);
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private void send(ObjectNode msg) {
        send(msg.toString());
    }

    @Override
    public void send(String json) {
        synchronized (this) {
            if (closed || session == null) {
                return;
            }
            if (outbox.size() >= MAX_QUEUED) {
                LOG.info("closing a signalling socket that does not read its messages");
                closed = true;
                outbox.clear();
                session.close(1008, "too many unread messages", Callback.NOOP);
                return;
            }
            outbox.add(json);
            if (writing) {
                return;
            }
            writing = true;
        }
        pump();
    }

    private void pump() {
        String next;
        Session s;
        synchronized (this) {
            next = outbox.poll();
            s = session;
            if (next == null || closed) {
                writing = false;
                if (closeCode != 0 && s != null) {
                    s.close(closeCode, closeReason, Callback.NOOP);
                    closeCode = 0;
                }
                return;
            }
        }
        s.sendText(next, Callback.from(this::pump, failure -> {
            synchronized (this) {
                writing = false;
                outbox.clear();
            }
        }));
    }

    @Override
    public void close(int code, String reason) {
        Session s;
        synchronized (this) {
            s = session;
            if (s == null) {
                return;
            }
            if (writing) {
                // let queued messages (an error reply) go out first; pump() closes when the outbox is empty
                closeCode = code;
                closeReason = reason;
                return;
            }
        }
        s.close(code, reason, Callback.NOOP);
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason) {
        guard.closed();
        cleanup(statusCode);
    }

    @Override
    public void onWebSocketError(Throwable cause) {
        LOG.debug("signalling socket error: {}", cause.toString());
        guard.closed();
        cleanup(1006); // RFC 6455 §7.4.1: closed abnormally
    }

    private void cleanup(int statusCode) {
        ScheduledFuture<?> l = liveness;
        if (l != null) {
            l.cancel(false);
        }
        Participant p;
        String cid;
        Precheck check;
        synchronized (this) {
            check = precheck;
        }
        if (check != null) {
            check.close();
        }
        synchronized (this) {
            if (closed && participant == null) {
                return;
            }
            closed = true;
            outbox.clear();
            p = participant;
            cid = consultationId;
            participant = null;
        }
        if (p == null || p.connection() != this) {
            return; // never joined, or it resumed on a newer connection that speaks for it now
        }
        if (keepsPlace(statusCode, cid, p)) {
            Reconnects reconnects = ctx.waitingRoom().reconnects();
            if (reconnects.dropped(p, this, () -> leaveCall(cid, p))) {
                ObjectNode n = message("participantState", null);
                n.put("participantId", p.id());
                n.put("state", "reconnecting");
                broadcast(ctx.registry().admitted(cid).stream().filter(o -> o != p).toList(), n);
                ctx.waitingRoom().dropped(cid, p);
                LOG.info("participant {} of consultation {} lost its connection ({}): its place is kept for {} s",
                        p.id(), cid, statusCode, reconnects.settings().grace().toSeconds());
                return;
            }
        }
        leaveCall(cid, p);
    }

    /**
     * Whether a closed socket is a dropped connection whose participant keeps its place: it was in the call and did
     * not leave ({@code leave}, or a normal close from the client, RFC 6455 §7.4.1 1000), was not dismissed, and was
     * not cut off for a message too big (1009) or not reading its messages (1008).
     */
    private boolean keepsPlace(int statusCode, String cid, Participant p) {
        return ctx.waitingRoom().reconnects().enabled() && !leaving && p.admitted() && !p.dismissed()
                && statusCode != 1000 && statusCode != 1008 && statusCode != 1009
                && ctx.registry().isPresent(cid, p);
    }

    /** The participant is gone: it left, its connection closed for good, or its grace period ended. */
    private void leaveCall(String cid, Participant p) {
        ctx.waitingRoom().reconnects().forget(p);
        Optional<List<Participant>> others = ctx.registry().leave(cid, p);
        BridgeEndpoint e = p.endpoint();
        if (others.isPresent() && e != null) {
            // only when still registered: a replaced participant's endpoint went with the replacement; a removed
            // one's with the removal
            e.close();
        }
        others.ifPresent(list -> {
            List<Participant> inCall = list.stream().filter(Participant::admitted).toList();
            if (p.admitted()) {
                ObjectNode n = message("participantLeft", null);
                n.put("participantId", p.id());
                broadcast(inCall, n);
                updateMainSources(inCall);
            }
            ctx.waitingRoom().left(cid, p);
            ctx.stills().left(cid, p.id());
            LOG.info("participant {} left consultation {}", p.id(), cid);
        });
    }
}
