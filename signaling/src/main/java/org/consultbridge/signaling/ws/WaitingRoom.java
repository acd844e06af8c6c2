package org.consultbridge.signaling.ws;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.audit.AuditLog;
import org.consultbridge.signaling.consultation.AdmissionSettings;
import org.consultbridge.signaling.consultation.ConsultationRegistry;
import org.consultbridge.signaling.consultation.ConsultationRegistry.JoinResult;
import org.consultbridge.signaling.consultation.ExpiringSet;
import org.consultbridge.signaling.consultation.Participant;
import org.consultbridge.signaling.token.JoinClaims;
import org.consultbridge.signaling.token.TokenService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consultation's door (issue #7): who joins at once and who waits, admitting, declining and removing
 * participants, ending the consultation, one-time tokens, and the audit log of all of it. The messages are those of
 * docs/protocol.md, "Waiting room".
 *
 * <ul>
 *   <li>Doctors and staff join at once; rooms and guests wait (connected, no bridge endpoint, so no media either
 *       way) until a doctor or staff admits them. Those who may admit get a {@code waitingRoom} list on joining and
 *       whenever it changes; those waiting get {@code waiting} with {@code doctorPresent}.</li>
 *   <li>Decline (a waiting participant) and remove (one in the call): the participant is told, its socket closed
 *       (4420 / 4421), its endpoint closed, and, with one-time tokens, its token dead.</li>
 *   <li>End (doctors only): every endpoint of the conference closed at once (keys gone), every socket told
 *       {@code consultationEnded} and closed (4410), and joins to that consultation refused from then on.</li>
 * </ul>
 *
 * Called on the acting participant's socket thread; state changes go through the registry's lock.
 */
public final class WaitingRoom implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WaitingRoom.class);

    /** Why a hello with a valid token is still refused. */
    public record Refusal(String code, String message, int closeCode) {
    }

    private final ConsultationRegistry registry;
    private final MediaBridge bridge;
    private final ObjectMapper json;
    private final AdmissionSettings settings;
    private final AuditLog audit;
    private final ExpiringSet usedTokens;
    /** Tokens are valid this much past their exp (clock skew); ended consultations stay ended for a token lifetime. */
    private final Duration clockSkew;
    private final Duration tokenLifetime;
    private final Clock clock;
    /** Reconnects: resume tokens, grace periods, the liveness timer. */
    private final Reconnects reconnects;

    public WaitingRoom(ConsultationRegistry registry, MediaBridge bridge, ObjectMapper json,
                       AdmissionSettings settings, AuditLog audit, Duration clockSkew, Duration tokenLifetime,
                       Clock clock) {
        this.registry = registry;
        this.bridge = bridge;
        this.json = json;
        this.settings = settings;
        this.audit = audit;
        this.clockSkew = clockSkew;
        this.tokenLifetime = tokenLifetime;
        this.clock = clock;
        this.usedTokens = new ExpiringSet(settings.usedTokenCapacity(), clock);
        this.reconnects = new Reconnects(settings.reconnect(), tokenLifetime.plus(clockSkew), clock);
    }

    public Reconnects reconnects() {
        return reconnects;
    }

    public boolean enabled() {
        return settings.waitingRoom();
    }

    public AuditLog audit() {
        return audit;
    }

    // ------------------------------------------------------------------ joining and leaving

    /** Checks after the token verified: a used one-time token. Null when the hello may go on. */
    Refusal refusal(JoinClaims claims) {
        if (settings.oneTimeTokens() && usedTokens.contains(claims.tokenId())) {
            audit.record("refused", claims.consultationId(), claims.participantId(), claims.role().wire(), null,
                    TokenService.REUSED);
            return new Refusal(TokenService.REUSED, "this one-time token was used by a participant who has left",
                    ErrorCode.CLOSE_TOKEN);
        }
        return null;
    }

    JoinResult join(String consultationId, Participant p) {
        JoinResult r = registry.join(consultationId, p, settings.waitingRoom());
        if (r instanceof JoinResult.Ended) {
            audit.record("refused", consultationId, p.id(), p.role().wire(), null, ErrorCode.CONSULTATION_ENDED);
        } else if (r instanceof JoinResult.Joined j) {
            audit.record(j.replaced() != null ? "reconnected" : p.admitted() ? "joined" : "waiting",
                    consultationId, p.id(), p.role().wire(), null, null);
        }
        return r;
    }

    /** After the welcome went out: tell those concerned. */
    void joined(String consultationId, Participant p, JoinResult.Joined joined) {
        if (!p.admitted()) {
            p.connection().send(waitingMessage(consultationId).toString());
            sendWaitingList(consultationId);
        }
        if (p.role().mayAdmit()) {
            p.connection().send(waitingListMessage(consultationId).toString());
            tellWaitingWhetherADoctorIsPresent(consultationId);
        }
    }

    /** The participant's socket closed while it was still registered (it left, or its connection dropped). */
    void left(String consultationId, Participant p) {
        reconnects.forget(p);
        audit.record("left", consultationId, p.id(), p.role().wire(), null, null);
        spendToken(p);
        if (!p.admitted()) {
            sendWaitingList(consultationId);
        }
        if (p.role().mayAdmit()) {
            tellWaitingWhetherADoctorIsPresent(consultationId);
        }
    }

    /** Reconnects: an admitted participant's connection dropped; its place is kept for the grace period. */
    void dropped(String consultationId, Participant p) {
        audit.record("reconnecting", consultationId, p.id(), p.role().wire(), null, null);
    }

    /** Reconnects: it took its place back on a new connection (the welcome went out). */
    void resumed(String consultationId, Participant p) {
        audit.record("resumed", consultationId, p.id(), p.role().wire(), null, null);
        if (p.role().mayAdmit()) {
            // what it may have missed while away
            p.connection().send(waitingListMessage(consultationId).toString());
        }
    }

    // ------------------------------------------------------------------ requests of doctors and staff

    void admit(Participant actor, String consultationId, JsonNode msg, JsonNode id) {
        if (!mayAdmit(actor, id)) {
            return;
        }
        String target = participantId(actor, msg, id);
        if (target == null) {
            return;
        }
        Optional<ConsultationRegistry.Admitted> a = registry.admit(consultationId, target);
        if (a.isEmpty()) {
            error(actor, id, ErrorCode.UNKNOWN_PARTICIPANT, "nobody with this participantId waits");
            return;
        }
        Participant p = a.get().participant();
        ack(actor, id);
        p.connection().enterCall(a.get().others());
        audit.record("admitted", consultationId, p.id(), p.role().wire(), actor.id(), null);
        LOG.info("participant {} admitted to consultation {}", p.id(), consultationId);
        sendWaitingList(consultationId);
    }

    void decline(Participant actor, String consultationId, JsonNode msg, JsonNode id) {
        if (!mayAdmit(actor, id)) {
            return;
        }
        String target = participantId(actor, msg, id);
        if (target == null) {
            return;
        }
        Optional<Participant> d = registry.dismiss(consultationId, target, false);
        if (d.isEmpty()) {
            error(actor, id, ErrorCode.UNKNOWN_PARTICIPANT, "nobody with this participantId waits");
            return;
        }
        Participant p = d.get();
        spendToken(p);
        p.connection().send(type("declined").toString());
        p.connection().close(ErrorCode.CLOSE_DECLINED, "declined");
        ack(actor, id);
        audit.record("declined", consultationId, p.id(), p.role().wire(), actor.id(), null);
        LOG.info("participant {} declined in consultation {}", p.id(), consultationId);
        sendWaitingList(consultationId);
    }

    void remove(Participant actor, String consultationId, JsonNode msg, JsonNode id) {
        String target = participantId(actor, msg, id);
        if (target == null) {
            return;
        }
        if (!actor.admitted() || !actor.role().mayAdmit()) {
            error(actor, id, ErrorCode.NOT_ALLOWED, "only a doctor or staff may remove participants");
            return;
        }
        if (target.equals(actor.id())) {
            error(actor, id, ErrorCode.NOT_ALLOWED, "to leave, send leave");
            return;
        }
        Participant t = registry.admitted(consultationId).stream().filter(o -> o.id().equals(target)).findFirst()
                .orElse(null);
        if (t == null) {
            error(actor, id, ErrorCode.UNKNOWN_PARTICIPANT, "nobody with this participantId is in the call");
            return;
        }
        if (!actor.role().mayRemove(t.role())) {
            error(actor, id, ErrorCode.NOT_ALLOWED, "staff may remove rooms and guests only");
            return;
        }
        Optional<Participant> d = registry.dismiss(consultationId, target, true);
        if (d.isEmpty() || d.get() != t) {
            error(actor, id, ErrorCode.UNKNOWN_PARTICIPANT, "nobody with this participantId is in the call");
            return;
        }
        BridgeEndpoint e = t.endpoint();
        if (e != null) {
            e.close(); // nothing more to or from it, whatever its browser does
        }
        spendToken(t);
        t.connection().send(type("removed").toString());
        t.connection().close(ErrorCode.CLOSE_REMOVED, "removed");
        ack(actor, id);
        List<Participant> rest = registry.admitted(consultationId);
        ObjectNode leftMsg = type("participantLeft");
        leftMsg.put("participantId", t.id());
        String text = leftMsg.toString();
        rest.forEach(o -> o.connection().send(text));
        SignalingSocket.updateMainSources(rest);
        audit.record("removed", consultationId, t.id(), t.role().wire(), actor.id(), null);
        LOG.info("participant {} removed from consultation {}", t.id(), consultationId);
        if (t.role().mayAdmit()) {
            tellWaitingWhetherADoctorIsPresent(consultationId);
        }
    }

    void end(Participant actor, String consultationId, JsonNode id) {
        if (!actor.admitted() || !actor.role().mayEnd()) {
            error(actor, id, ErrorCode.NOT_ALLOWED, "only a doctor may end the consultation");
            return;
        }
        // ended for as long as any token for it may still be valid
        List<Participant> all = registry.end(consultationId,
                clock.instant().plus(tokenLifetime).plus(clockSkew));
        int closed = bridge.closeConference(consultationId);
        ack(actor, id);
        String text = type("consultationEnded").toString();
        for (Participant p : all) {
            spendToken(p);
            p.connection().send(text);
            p.connection().close(ErrorCode.CLOSE_ENDED, "consultation ended");
        }
        audit.record("ended", consultationId, null, null, actor.id(), null);
        LOG.info("consultation {} ended: {} participants, {} bridge endpoints closed", consultationId, all.size(),
                closed);
    }

    // ------------------------------------------------------------------ helpers

    /** One-time tokens: the participant's token cannot join again (until it has expired anyway). */
    private void spendToken(Participant p) {
        reconnects.forget(p); // nor can it resume
        if (settings.oneTimeTokens() && p.tokenId() != null && p.tokenExpiresAt() != null) {
            usedTokens.add(p.tokenId(), p.tokenExpiresAt().plus(clockSkew));
        }
    }

    private boolean mayAdmit(Participant actor, JsonNode id) {
        if (actor.admitted() && actor.role().mayAdmit()) {
            return true;
        }
        error(actor, id, ErrorCode.NOT_ALLOWED, "only a doctor or staff may admit or decline");
        return false;
    }

    private String participantId(Participant actor, JsonNode msg, JsonNode id) {
        JsonNode v = msg.get("participantId");
        if (v == null || !v.isTextual()) {
            error(actor, id, ErrorCode.BAD_MESSAGE, "missing string field 'participantId'");
            return null;
        }
        return v.asText();
    }

    private void sendWaitingList(String consultationId) {
        String text = waitingListMessage(consultationId).toString();
        for (Participant a : registry.admitted(consultationId)) {
            if (a.role().mayAdmit()) {
                a.connection().send(text);
            }
        }
    }

    private ObjectNode waitingListMessage(String consultationId) {
        ObjectNode n = type("waitingRoom");
        ArrayNode list = n.putArray("waiting");
        for (Participant w : registry.waiting(consultationId)) {
            ObjectNode o = list.addObject();
            o.put("participantId", w.id());
            o.put("role", w.role().wire());
            o.put("displayName", w.displayName());
            o.put("since", w.since().toString());
        }
        return n;
    }

    private void tellWaitingWhetherADoctorIsPresent(String consultationId) {
        String text = waitingMessage(consultationId).toString();
        for (Participant w : registry.waiting(consultationId)) {
            w.connection().send(text);
        }
    }

    private ObjectNode waitingMessage(String consultationId) {
        ObjectNode n = type("waiting");
        n.put("doctorPresent", registry.admitted(consultationId).stream().anyMatch(a -> a.role().mayAdmit()));
        return n;
    }

    private ObjectNode type(String type) {
        ObjectNode n = json.createObjectNode();
        n.put("type", type);
        return n;
    }

    private void ack(Participant actor, JsonNode id) {
        ObjectNode n = type("ack");
        if (id != null && !id.isNull()) {
            n.set("id", id);
        }
        actor.connection().send(n.toString());
    }

    private void error(Participant actor, JsonNode id, String code, String message) {
        ObjectNode n = type("error");
        if (id != null && !id.isNull()) {
            n.set("id", id);
        }
        n.put("code", code);
        n.put("message", message);
        actor.connection().send(n.toString());
    }

    @Override
    public void close() {
        reconnects.close();
        audit.close();
    }
}
