package org.consultbridge.signaling.clinical;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.consultbridge.signaling.consultation.ConsultationRegistry;
import org.consultbridge.signaling.consultation.Participant;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.ws.ErrorCode;

/**
 * Full-resolution still images (issue #8, docs/protocol.md "Still images"): a doctor asks a room (or guest) of the
 * same consultation for a still; the room's page captures it, encrypts it end to end and sends it in chunks, which
 * this class relays to the requesting doctor alone. It never holds more than one chunk at a time (the one it is
 * relaying): nothing is stored. What it keeps per transfer is a few numbers (who, how large, which chunk is next,
 * which the doctor acknowledged), in memory, until the transfer ends, fails, idles out or a party leaves.
 *
 * <p>Limits, so that nobody can make the server (or the doctor's socket) allocate without bound: a transfer is at
 * most {@link #MAX_STILL_BYTES}; chunks at most {@link #MAX_CHUNK_BYTES}, strictly in order, and at most
 * {@link #WINDOW} chunks ahead of the doctor's acknowledgement; at most {@link #MAX_TRANSFERS_PER_CONSULTATION}
 * transfers at once per consultation; requests per doctor from a token bucket.
 *
 * <p>Transfers are keyed by participant id, not by socket: a participant that reconnects (a new socket with the
 * same id) continues its transfers, and the doctor resumes one from the last chunk it has ({@code stillResume}).
 * Thread-safety: each transfer's state is touched under its own lock (the room's socket thread relays chunks, the
 * doctor's acknowledges them).
 */
public final class StillRelay {

    public static final String STILL_INVALID = "still-invalid";
    public static final String STILL_UNKNOWN = "still-unknown";
    public static final String STILL_TOO_LARGE = "still-too-large";
    public static final String STILL_OUT_OF_ORDER = "still-out-of-order";
    public static final String STILL_WINDOW = "still-window";
    public static final String STILL_BUSY = "still-busy";
    public static final String STILL_TOO_FREQUENT = "still-too-frequent";

    /** Largest still (ciphertext) a transfer may announce: a 12-megapixel JPEG fits, an unbounded upload does not. */
    public static final int MAX_STILL_BYTES = 8 * 1024 * 1024;
    /** Chunk sizes: 1 KiB to 16 KiB, a multiple of 3 (so that the chunks' base64 texts concatenate). */
    public static final int MIN_CHUNK_BYTES = 1024;
    public static final int MAX_CHUNK_BYTES = 16 * 1024;
    /** Chunks relayed but not yet acknowledged by the doctor: bounds what waits in the doctor's socket. */
    public static final int WINDOW = 16;
    public static final int MAX_TRANSFERS_PER_CONSULTATION = 2;
    /** Requests per doctor: a burst of 4, then one per 10 s. */
    static final int REQUEST_BURST = 4;
    static final double REQUESTS_PER_SECOND = 0.1;
    /** A transfer without any message for this long is forgotten (both parties are told). */
    public static final long IDLE_TIMEOUT_NANOS = 60_000_000_000L;

    private static final HexFormat HEX = HexFormat.of();

    private final ObjectMapper json;
    private final ConsultationRegistry registry;
    private final LongSupplier nanoTime;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, Transfer> transfers = new ConcurrentHashMap<>();
    /** Request budgets per consultation and doctor id (so that reconnecting does not refill one). */
    private final Map<String, Budget> budgets = new ConcurrentHashMap<>();

    public StillRelay(ObjectMapper json, ConsultationRegistry registry) {
        this(json, registry, System::nanoTime);
    }

    StillRelay(ObjectMapper json, ConsultationRegistry registry, LongSupplier nanoTime) {
        this.json = json;
        this.registry = registry;
        this.nanoTime = nanoTime;
    }

    private enum Phase { REQUESTED, SENDING }

    /** One still on its way from {@code source} (room or guest) to {@code doctor}. Guarded by itself. */
    private static final class Transfer {
        final String id;
        final String consultationId;
        final String doctor;
        final String source;
        Phase phase = Phase.REQUESTED;
        int size;
        int chunkBytes;
        int chunks;
        /** The next chunk the relay accepts from the source. */
        int nextSeq;
        /** The doctor has every chunk up to this one (-1: none). */
        int acked = -1;
        long lastActivity;

        Transfer(String id, String consultationId, String doctor, String source, long now) {
            this.id = id;
            this.consultationId = consultationId;
            this.doctor = doctor;
            this.source = source;
            this.lastActivity = now;
        }
    }

    /** A token bucket of still requests. */
    private static final class Budget {
        double tokens = REQUEST_BURST;
        long last;

        Budget(long now) {
            last = now;
        }

        synchronized boolean take(long now) {
            tokens = Math.min(REQUEST_BURST, tokens + (now - last) / 1e9 * REQUESTS_PER_SECOND);
            last = now;
            if (tokens < 1) {
                return false;
            }
            tokens -= 1;
            return true;
        }
    }

    /** Thrown inside the handlers: the request is refused with this code. */
    private static final class Refused extends Exception {
        final String code;

        Refused(String code, String message) {
            super(message, null, false, false);
            this.code = code;
        }
    }

    /**
     * One still message from {@code from} (admitted, in {@code consultationId}); replies to it ({@code ack}, with
     * {@code stillId} for a request, or an error with the request's {@code id}) and relays what is to be relayed.
     */
    public void onMessage(Participant from, String consultationId, JsonNode msg, JsonNode id) {
        ObjectNode reply;
        Transfer requested = null;
        try {
            expireIdle();
            reply = switch (msg.path("type").asText()) {
                case "stillRequest" -> {
                    requested = onRequest(from, consultationId, msg);
                    ObjectNode ack = message("ack");
                    ack.put("stillId", requested.id);
                    yield ack;
                }
                case "stillOffer" -> onOffer(from, consultationId, msg);
                case "stillChunk" -> onChunk(from, consultationId, msg);
                case "stillAck" -> onAck(from, consultationId, msg);
                case "stillResume" -> onResume(from, consultationId, msg);
                case "stillDone" -> onDone(from, consultationId, msg);
                case "stillError" -> onError(from, consultationId, msg);
                default -> throw new Refused(ErrorCode.BAD_MESSAGE, "not a still message");
            };
        } catch (Refused r) {
            reply = message("error");
            reply.put("code", r.code);
            reply.put("message", r.getMessage());
        }
        if (id != null && !id.isNull()) {
            reply.set("id", id);
        }
        from.connection().send(reply.toString());
        if (requested != null) { // after the ack: the doctor knows the id before the room can answer
            Participant source = admitted(consultationId, requested.source);
            if (source != null) {
                ObjectNode relay = message("stillRequest");
                relay.put("stillId", requested.id);
                relay.put("from", from.id());
                source.connection().send(relay.toString());
            }
        }
    }

    /** {@code stillRequest} {participantId}: a doctor asks a room or guest of its consultation for a still. */
    private Transfer onRequest(Participant from, String cid, JsonNode msg) throws Refused {
        if (from.role() != Role.DOCTOR) {
            throw new Refused(ErrorCode.NOT_ALLOWED, "only a doctor may request a still image");
        }
        String target = text(msg, "participantId");
        Participant source = admitted(cid, target);
        if (source == null || source == from) {
            throw new Refused(ErrorCode.UNKNOWN_PARTICIPANT, "no other participant with that id in the call");
        }
        if (source.role() != Role.ROOM && source.role() != Role.GUEST) {
            throw new Refused(ErrorCode.NOT_ALLOWED, "still images are taken from a room or guest");
        }
        long now = nanoTime.getAsLong();
        synchronized (transfers) { // the count and the new transfer together (two doctors at once)
            int running = 0;
            for (Transfer t : transfers.values()) {
                if (t.consultationId.equals(cid)) {
                    running++;
                }
            }
            if (running >= MAX_TRANSFERS_PER_CONSULTATION) {
                throw new Refused(STILL_BUSY, "at most " + MAX_TRANSFERS_PER_CONSULTATION
                        + " still transfers at once in a consultation");
            }
            if (!budgets.computeIfAbsent(cid + "/" + from.id(), k -> new Budget(now)).take(now)) {
                throw new Refused(STILL_TOO_FREQUENT, "at most " + REQUEST_BURST
                        + " still requests at once, then one per " + Math.round(1 / REQUESTS_PER_SECOND) + " s");
            }
            byte[] raw = new byte[8];
            random.nextBytes(raw);
            Transfer t = new Transfer("st-" + HEX.formatHex(raw), cid, from.id(), source.id(), now);
            transfers.put(t.id, t);
            return t;
        }
    }

    /**
     * {@code stillOffer} {stillId, size, chunkBytes, chunks, sha256, keyId, iv}: the source announces the encrypted
     * still; relayed to the doctor with {@code from}.
     */
    private ObjectNode onOffer(Participant from, String cid, JsonNode msg) throws Refused {
        Transfer t = transfer(msg, cid, from, false);
        int size = integer(msg, "size");
        int chunkBytes = integer(msg, "chunkBytes");
        int chunks = integer(msg, "chunks");
        String sha = text(msg, "sha256");
        String iv = text(msg, "iv");
        int keyId = integer(msg, "keyId");
        if (size > MAX_STILL_BYTES) {
            fail(t, STILL_TOO_LARGE, "the still is larger than the server relays");
            throw new Refused(STILL_TOO_LARGE, "a still may have at most " + MAX_STILL_BYTES + " bytes");
        }
        if (size < 1 || chunkBytes < MIN_CHUNK_BYTES || chunkBytes > MAX_CHUNK_BYTES || chunkBytes % 3 != 0
                || chunks != (size + chunkBytes - 1) / chunkBytes) {
            throw new Refused(STILL_INVALID, "'size' >= 1, 'chunkBytes' a multiple of 3 from " + MIN_CHUNK_BYTES
                    + " to " + MAX_CHUNK_BYTES + ", 'chunks' = ceil(size / chunkBytes)");
        }
        if (!sha.matches("[0-9a-f]{64}") || keyId < 0 || keyId > 255 || iv.length() != 16 || decode(iv) == null) {
            throw new Refused(STILL_INVALID, "'sha256' is 64 hex digits, 'keyId' 0-255, 'iv' base64 of 12 bytes");
        }
        Participant doctor;
        synchronized (t) {
            if (t.phase != Phase.REQUESTED) {
                throw new Refused(STILL_INVALID, "this still was offered already");
            }
            doctor = admitted(cid, t.doctor);
            if (doctor == null) {
                throw new Refused(STILL_UNKNOWN, "the doctor who asked is no longer in the call");
            }
            t.phase = Phase.SENDING;
            t.size = size;
            t.chunkBytes = chunkBytes;
            t.chunks = chunks;
            t.lastActivity = nanoTime.getAsLong();
        }
        ObjectNode relay = message("stillOffer");
        relay.put("stillId", t.id);
        relay.put("from", from.id());
        relay.put("size", size);
        relay.put("chunkBytes", chunkBytes);
        relay.put("chunks", chunks);
        relay.put("sha256", sha);
        relay.put("keyId", keyId);
        relay.put("iv", iv);
        doctor.connection().send(relay.toString());
        return message("ack");
    }

    /** {@code stillChunk} {stillId, seq, data}: the next chunk, relayed unchanged to the doctor alone. */
    private ObjectNode onChunk(Participant from, String cid, JsonNode msg) throws Refused {
        Transfer t = transfer(msg, cid, from, false);
        int seq = integer(msg, "seq");
        String data = text(msg, "data");
        if (data.length() > (MAX_CHUNK_BYTES / 3) * 4 + 4) {
            throw new Refused(STILL_INVALID, "a chunk has at most " + MAX_CHUNK_BYTES + " bytes");
        }
        byte[] bytes = decode(data);
        synchronized (t) {
            if (t.phase != Phase.SENDING) {
                throw new Refused(STILL_INVALID, "offer the still (stillOffer) before its chunks");
            }
            if (seq < 0 || seq >= t.chunks) {
                throw new Refused(STILL_INVALID, "the still has chunks 0 to " + (t.chunks - 1));
            }
            if (seq != t.nextSeq) {
                throw new Refused(STILL_OUT_OF_ORDER, "expected chunk " + t.nextSeq + ", not " + seq);
            }
            if (seq > t.acked + WINDOW) {
                throw new Refused(STILL_WINDOW, "at most " + WINDOW + " chunks ahead of the doctor's acknowledgement");
            }
            int expected = seq == t.chunks - 1 ? t.size - (t.chunks - 1) * t.chunkBytes : t.chunkBytes;
            if (bytes == null || bytes.length != expected) {
                throw new Refused(STILL_INVALID, "chunk " + seq + " must be base64 of " + expected + " bytes");
            }
            Participant doctor = admitted(cid, t.doctor);
            if (doctor == null) {
                throw new Refused(STILL_UNKNOWN, "the doctor who asked is no longer in the call");
            }
            t.nextSeq = seq + 1;
            t.lastActivity = nanoTime.getAsLong();
            ObjectNode relay = message("stillChunk");
            relay.put("stillId", t.id);
            relay.put("seq", seq);
            relay.put("data", data);
            // under the transfer's lock: chunks reach the doctor's outbox in the order they were accepted
            doctor.connection().send(relay.toString());
        }
        return message("ack");
    }

    /** {@code stillAck} {stillId, seq}: the doctor has every chunk up to seq; relayed to the source (its window). */
    private ObjectNode onAck(Participant from, String cid, JsonNode msg) throws Refused {
        Transfer t = transfer(msg, cid, from, true);
        int seq = integer(msg, "seq");
        synchronized (t) {
            if (seq < 0 || seq >= t.nextSeq) {
                throw new Refused(STILL_INVALID, "chunk " + seq + " was not relayed yet");
            }
            t.acked = Math.max(t.acked, seq);
            t.lastActivity = nanoTime.getAsLong();
        }
        relayToOther(t, from, "stillAck", n -> n.put("seq", seq));
        return message("ack");
    }

    /**
     * {@code stillResume} {stillId, fromSeq}: after a dropped link the doctor asks for the chunks from fromSeq on
     * again (at most from the next one the relay expects); the source is told and sends them again.
     */
    private ObjectNode onResume(Participant from, String cid, JsonNode msg) throws Refused {
        Transfer t = transfer(msg, cid, from, true);
        int fromSeq = integer(msg, "fromSeq");
        synchronized (t) {
            if (t.phase != Phase.SENDING || fromSeq < 0 || fromSeq > t.nextSeq) {
                throw new Refused(STILL_INVALID, t.phase != Phase.SENDING ? "nothing was offered yet"
                        : "'fromSeq' must be from 0 to " + t.nextSeq);
            }
            t.nextSeq = fromSeq;
            t.acked = Math.min(t.acked, fromSeq - 1);
            t.lastActivity = nanoTime.getAsLong();
        }
        relayToOther(t, from, "stillResume", n -> n.put("fromSeq", fromSeq));
        return message("ack");
    }

    /** {@code stillDone} {stillId}: the doctor has the still (decrypted and checked); the source may forget it. */
    private ObjectNode onDone(Participant from, String cid, JsonNode msg) throws Refused {
        Transfer t = transfer(msg, cid, from, true);
        transfers.remove(t.id);
        relayToOther(t, from, "stillDone", n -> { });
        return message("ack");
    }

    /** {@code stillError} {stillId, code, message}: either side gives up; relayed to the other, forgotten. */
    private ObjectNode onError(Participant from, String cid, JsonNode msg) throws Refused {
        Transfer t = transfer(msg, cid, from, null);
        String code = text(msg, "code");
        JsonNode m = msg.get("message");
        if (!code.matches("[a-z0-9-]{1,40}") || (m != null && (!m.isTextual() || m.asText().length() > 200))) {
            throw new Refused(STILL_INVALID, "'code' is 1-40 of [a-z0-9-], 'message' at most 200 characters");
        }
        transfers.remove(t.id);
        relayToOther(t, from, "stillError", n -> {
            n.put("code", code);
            if (m != null) {
                n.put("message", m.asText());
            }
        });
        return message("ack");
    }

    /** A participant left for good: its transfers end, the other side is told ({@code still-participant-left}). */
    public void left(String consultationId, String participantId) {
        for (Transfer t : new ArrayList<>(transfers.values())) {
            if (t.consultationId.equals(consultationId)
                    && (t.doctor.equals(participantId) || t.source.equals(participantId))) {
                fail(t, "still-participant-left", participantId + " left the call");
            }
        }
        budgets.remove(consultationId + "/" + participantId);
    }

    /** Transfers in progress (tests, metrics). */
    public int transfers() {
        return transfers.size();
    }

    private void expireIdle() {
        long now = nanoTime.getAsLong();
        for (Transfer t : transfers.values()) {
            boolean idle;
            synchronized (t) {
                idle = now - t.lastActivity > IDLE_TIMEOUT_NANOS;
            }
            if (idle) {
                fail(t, "still-timeout", "no progress for " + IDLE_TIMEOUT_NANOS / 1_000_000_000L + " s");
            }
        }
    }

    /** Ends a transfer and tells both parties that are still in the call. */
    private void fail(Transfer t, String code, String text) {
        if (transfers.remove(t.id) == null) {
            return;
        }
        ObjectNode n = message("stillError");
        n.put("stillId", t.id);
        n.put("code", code);
        n.put("message", text);
        String out = n.toString();
        for (String pid : List.of(t.doctor, t.source)) {
            Participant p = admitted(t.consultationId, pid);
            if (p != null) {
                p.connection().send(out);
            }
        }
    }

    /**
     * The transfer named by {@code stillId}, if {@code from} is its doctor ({@code doctorSide} true), its source
     * (false) or either (null); unknown otherwise (nobody learns of others' transfers).
     */
    private Transfer transfer(JsonNode msg, String cid, Participant from, Boolean doctorSide) throws Refused {
        String id = text(msg, "stillId");
        Transfer t = transfers.get(id);
        boolean mine = t != null && t.consultationId.equals(cid)
                && ((doctorSide != Boolean.FALSE && t.doctor.equals(from.id()))
                || (doctorSide != Boolean.TRUE && t.source.equals(from.id())));
        if (!mine) {
            throw new Refused(STILL_UNKNOWN, "no such still transfer of yours");
        }
        return t;
    }

    private void relayToOther(Transfer t, Participant from, String type,
                              java.util.function.Consumer<ObjectNode> fields) {
        String other = t.doctor.equals(from.id()) ? t.source : t.doctor;
        Participant p = admitted(t.consultationId, other);
        if (p == null) {
            return; // reconnecting or gone: a resume (or left()) takes care of it
        }
        ObjectNode n = message(type);
        n.put("stillId", t.id);
        fields.accept(n);
        p.connection().send(n.toString());
    }

    private Participant admitted(String cid, String participantId) {
        for (Participant p : registry.admitted(cid)) {
            if (p.id().equals(participantId)) {
                return p;
            }
        }
        return null;
    }

    private ObjectNode message(String type) {
        ObjectNode n = json.createObjectNode();
        n.put("type", type);
        return n;
    }

    private static String text(JsonNode msg, String field) throws Refused {
        JsonNode v = msg.get(field);
        if (v == null || !v.isTextual() || v.asText().length() > 100 && !field.equals("data")) {
            throw new Refused(field.equals("stillId") ? STILL_UNKNOWN : STILL_INVALID,
                    "missing string field '" + field + "'");
        }
        return v.asText();
    }

    private static int integer(JsonNode msg, String field) throws Refused {
        JsonNode v = msg.get(field);
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new Refused(STILL_INVALID, "missing integer field '" + field + "'");
        }
        return v.asInt();
    }

    /** Strict base64 (RFC 4648 §4); null when malformed. */
    private static byte[] decode(String text) {
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
