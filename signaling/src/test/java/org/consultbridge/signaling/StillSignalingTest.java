package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.clinical.StillRelay;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Still images (issue #8, docs/protocol.md "Still images") over real WebSockets against the real server: who may
 * ask whom, the relay to the requesting doctor alone, every limit refused with its code (size, chunk size, order,
 * window, concurrency, request rate), resume after a participant's socket was replaced (a reconnect), and the end of
 * a transfer when a party leaves. The clients here play the pages' part with made-up ciphertext: the server only
 * ever sees ciphertext anyway.
 */
class StillSignalingTest {

    private static final String SECRET = "stills-secret-stills-secret-stills-secret";
    private static MediaBridge bridge;
    private static SignalingServer server;
    private static TokenService tokens;

    @BeforeAll
    static void start() throws Exception {
        bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        ServerConfig config = ServerConfig.load().withHttpPort(0);
        server = SignalingServer.start(config.withAdmission(config.admission().withWaitingRoom(false)), tokens,
                bridge);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        bridge.close();
    }

    /** A test client whose messages can be taken out of order (a relay may overtake a reply). */
    private static final class Peer implements AutoCloseable {
        final WsClient ws;
        final List<JsonNode> seen = new ArrayList<>();
        private int nextId = 100;

        Peer(WsClient ws) {
            this.ws = ws;
        }

        JsonNode take(Predicate<JsonNode> wanted, String what) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (true) {
                for (Iterator<JsonNode> it = seen.iterator(); it.hasNext(); ) {
                    JsonNode m = it.next();
                    if (wanted.test(m)) {
                        it.remove();
                        return m;
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no " + what + " within 10 s; got " + seen);
                }
                JsonNode m = ws.messages.poll(100, TimeUnit.MILLISECONDS);
                if (m != null) {
                    seen.add(m);
                }
            }
        }

        JsonNode next(String type) throws InterruptedException {
            return take(m -> m.path("type").asText().equals(type), type);
        }

        /** Sends a request with a fresh id and returns its reply (ack or error). */
        JsonNode ask(Object... keyValues) throws Exception {
            int id = nextId++;
            Object[] all = new Object[keyValues.length + 2];
            System.arraycopy(keyValues, 0, all, 0, keyValues.length);
            all[keyValues.length] = "id";
            all[keyValues.length + 1] = id;
            ws.send(all);
            return take(m -> m.path("id").asInt(-1) == id, "reply to " + id);
        }

        String refused(Object... keyValues) throws Exception {
            JsonNode r = ask(keyValues);
            assertThat(r.path("type").asText()).as("reply: %s", r).isEqualTo("error");
            return r.path("code").asText();
        }

        void ok(Object... keyValues) throws Exception {
            JsonNode r = ask(keyValues);
            assertThat(r.path("type").asText()).as("reply: %s", r).isEqualTo("ack");
        }

        /** Nothing of this type arrived (after a ping's round trip, so that anything sent before it is here). */
        void noneOf(String type) throws Exception {
            assertThat(ask("type", "ping").path("type").asText()).isEqualTo("pong");
            List<JsonNode> all = new ArrayList<>(seen);
            ws.messages.drainTo(all);
            assertThat(all).noneMatch(m -> m.path("type").asText().equals(type));
        }

        @Override
        public void close() {
            ws.close();
        }
    }

    private static Peer joined(SignalingServer s, String consultation, String participant, Role role)
            throws Exception {
        WsClient c = new WsClient(s.port());
        c.send("type", "hello", "id", 1, "version", 1, "token",
                tokens.mint(consultation, participant, role, participant, Duration.ofHours(1)));
        Peer p = new Peer(c);
        p.next("welcome");
        return p;
    }

    private static Peer joined(String consultation, String participant, Role role) throws Exception {
        return joined(server, consultation, participant, role);
    }

    private static final String IV = Base64.getEncoder().encodeToString(new byte[12]);
    private static final String SHA = "ab".repeat(32);

    private static String chunk(int bytes, int seed) {
        byte[] b = new byte[bytes];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (seed * 7 + i);
        }
        return Base64.getEncoder().encodeToString(b);
    }

    /** The doctor asks, the room sees the request: the transfer's id. */
    private static String request(Peer doctor, Peer room, String roomId) throws Exception {
        JsonNode ack = doctor.ask("type", "stillRequest", "participantId", roomId);
        assertThat(ack.path("type").asText()).as("%s", ack).isEqualTo("ack");
        String id = ack.path("stillId").asText();
        assertThat(id).matches("st-[0-9a-f]{16}");
        JsonNode req = room.next("stillRequest");
        assertThat(req.path("stillId").asText()).isEqualTo(id);
        return id;
    }

    private static void offer(Peer room, String id, int size, int chunkBytes) throws Exception {
        room.ok("type", "stillOffer", "stillId", id, "size", size, "chunkBytes", chunkBytes,
                "chunks", (size + chunkBytes - 1) / chunkBytes, "sha256", SHA, "keyId", 3, "iv", IV);
    }

    @Test
    void onlyADoctorAsksAndOnlyARoomOrGuestInTheSameCallIsAsked() throws Exception {
        try (Peer doctor = joined("c-roles", "dr-r", Role.DOCTOR);
             Peer staff = joined("c-roles", "staff-r", Role.STAFF);
             Peer room = joined("c-roles", "room-r", Role.ROOM);
             Peer guest = joined("c-roles", "guest-r", Role.GUEST);
             Peer elsewhere = joined("c-other", "room-x", Role.ROOM)) {
            assertThat(room.refused("type", "stillRequest", "participantId", "guest-r")).isEqualTo("not-allowed");
            assertThat(guest.refused("type", "stillRequest", "participantId", "room-r")).isEqualTo("not-allowed");
            assertThat(staff.refused("type", "stillRequest", "participantId", "room-r")).isEqualTo("not-allowed");
            assertThat(doctor.refused("type", "stillRequest", "participantId", "staff-r")).isEqualTo("not-allowed");
            assertThat(doctor.refused("type", "stillRequest", "participantId", "dr-r"))
                    .isEqualTo("unknown-participant");
            assertThat(doctor.refused("type", "stillRequest", "participantId", "room-x"))
                    .isEqualTo("unknown-participant");
            assertThat(doctor.refused("type", "stillRequest")).isEqualTo("still-invalid");
            // a guest may be asked; its still goes to the doctor who asked, not to the other participants
            String id = request(doctor, guest, "guest-r");
            // the transfer belongs to the doctor and the guest: the room cannot feed it, staff cannot acknowledge it
            assertThat(room.refused("type", "stillOffer", "stillId", id, "size", 10, "chunkBytes", 1026, "chunks", 1,
                    "sha256", SHA, "keyId", 0, "iv", IV)).isEqualTo("still-unknown");
            assertThat(doctor.refused("type", "stillOffer", "stillId", id, "size", 10, "chunkBytes", 1026,
                    "chunks", 1, "sha256", SHA, "keyId", 0, "iv", IV)).isEqualTo("still-unknown");
            offer(guest, id, 2000, 1026);
            assertThat(doctor.next("stillOffer").path("from").asText()).isEqualTo("guest-r");
            assertThat(staff.refused("type", "stillAck", "stillId", id, "seq", 0)).isEqualTo("still-unknown");
            guest.ok("type", "stillChunk", "stillId", id, "seq", 0, "data", chunk(1026, 0));
            guest.ok("type", "stillChunk", "stillId", id, "seq", 1, "data", chunk(974, 1));
            assertThat(doctor.next("stillChunk").path("seq").asInt()).isZero();
            assertThat(doctor.next("stillChunk").path("data").asText()).isEqualTo(chunk(974, 1));
            doctor.ok("type", "stillDone", "stillId", id);
            guest.next("stillDone");
            for (Peer p : List.of(staff, room, elsewhere)) {
                for (String type : List.of("stillRequest", "stillOffer", "stillChunk", "stillDone")) {
                    p.noneOf(type);
                }
            }
        }
    }

    @Test
    void aWaitingRoomCanNeitherBeAskedNorSend() throws Exception {
        try (SignalingServer waiting = SignalingServer.start(ServerConfig.load().withHttpPort(0), tokens, bridge);
             Peer doctor = joined(waiting, "c-wait", "dr-w", Role.DOCTOR);
             Peer room = joined(waiting, "c-wait", "room-w", Role.ROOM)) {
            doctor.next("waitingRoom");
            assertThat(doctor.refused("type", "stillRequest", "participantId", "room-w"))
                    .isEqualTo("unknown-participant");
            assertThat(room.refused("type", "stillChunk", "stillId", "st-0000000000000000", "seq", 0, "data", "AAAA"))
                    .isEqualTo("not-admitted");
        }
    }

    @Test
    void aTransferIsRelayedInOrderWithinItsLimits() throws Exception {
        try (Peer doctor = joined("c-relay", "dr-t", Role.DOCTOR);
             Peer room = joined("c-relay", "room-t", Role.ROOM)) {
            String id = request(doctor, room, "room-t");
            // offers outside the limits
            assertThat(room.refused("type", "stillOffer", "stillId", id, "size", 3000, "chunkBytes", 1025,
                    "chunks", 3, "sha256", SHA, "keyId", 3, "iv", IV)).as("not a multiple of 3").isEqualTo("still-invalid");
            assertThat(room.refused("type", "stillOffer", "stillId", id, "size", 3000, "chunkBytes", 1026,
                    "chunks", 4, "sha256", SHA, "keyId", 3, "iv", IV)).as("wrong count").isEqualTo("still-invalid");
            assertThat(room.refused("type", "stillOffer", "stillId", id, "size", 3000, "chunkBytes", 20001,
                    "chunks", 1, "sha256", SHA, "keyId", 3, "iv", IV)).as("chunk too large").isEqualTo("still-invalid");
            assertThat(room.refused("type", "stillOffer", "stillId", id, "size", 3000, "chunkBytes", 1026,
                    "chunks", 3, "sha256", "xyz", "keyId", 3, "iv", IV)).isEqualTo("still-invalid");
            assertThat(room.refused("type", "stillChunk", "stillId", id, "seq", 0, "data", chunk(1026, 0)))
                    .as("a chunk before the offer").isEqualTo("still-invalid");
            int chunkBytes = 16383;
            int chunks = 20;
            int size = chunkBytes * (chunks - 1) + 100;
            offer(room, id, size, chunkBytes);
            JsonNode offer = doctor.next("stillOffer");
            assertThat(offer.path("size").asInt()).isEqualTo(size);
            assertThat(offer.path("chunks").asInt()).isEqualTo(chunks);
            assertThat(offer.path("sha256").asText()).isEqualTo(SHA);
            assertThat(offer.path("iv").asText()).isEqualTo(IV);
            assertThat(offer.path("keyId").asInt()).isEqualTo(3);
            assertThat(room.refused("type", "stillOffer", "stillId", id, "size", size, "chunkBytes", chunkBytes,
                    "chunks", chunks, "sha256", SHA, "keyId", 3, "iv", IV)).as("offered twice").isEqualTo("still-invalid");
            // order, size, window
            assertThat(room.refused("type", "stillChunk", "stillId", id, "seq", 1, "data", chunk(chunkBytes, 1)))
                    .isEqualTo("still-out-of-order");
            assertThat(room.refused("type", "stillChunk", "stillId", id, "seq", 0, "data", chunk(chunkBytes - 3, 0)))
                    .isEqualTo("still-invalid");
            assertThat(room.refused("type", "stillChunk", "stillId", id, "seq", 0, "data", "not base64!"))
                    .isEqualTo("still-invalid");
            for (int seq = 0; seq < StillRelay.WINDOW; seq++) {
                room.ok("type", "stillChunk", "stillId", id, "seq", seq, "data", chunk(chunkBytes, seq));
            }
            assertThat(room.refused("type", "stillChunk", "stillId", id, "seq", StillRelay.WINDOW,
                    "data", chunk(chunkBytes, StillRelay.WINDOW))).as("ahead of the doctor's acks").isEqualTo("still-window");
            for (int seq = 0; seq < StillRelay.WINDOW; seq++) {
                JsonNode c = doctor.next("stillChunk");
                assertThat(c.path("seq").asInt()).isEqualTo(seq);
                assertThat(c.path("data").asText()).isEqualTo(chunk(chunkBytes, seq));
            }
            assertThat(doctor.refused("type", "stillAck", "stillId", id, "seq", StillRelay.WINDOW))
                    .as("an ack of a chunk not relayed").isEqualTo("still-invalid");
            doctor.ok("type", "stillAck", "stillId", id, "seq", 3);
            assertThat(room.next("stillAck").path("seq").asInt()).isEqualTo(3);
            for (int seq = StillRelay.WINDOW; seq < chunks - 1; seq++) {
                room.ok("type", "stillChunk", "stillId", id, "seq", seq, "data", chunk(chunkBytes, seq));
            }
            assertThat(room.refused("type", "stillChunk", "stillId", id, "seq", chunks - 1, "data", chunk(chunkBytes, 0)))
                    .as("the last chunk is shorter").isEqualTo("still-invalid");
            room.ok("type", "stillChunk", "stillId", id, "seq", chunks - 1, "data", chunk(100, 9));
            assertThat(room.refused("type", "stillChunk", "stillId", id, "seq", chunks, "data", chunk(100, 9)))
                    .isEqualTo("still-invalid");
            for (int seq = StillRelay.WINDOW; seq < chunks; seq++) {
                assertThat(doctor.next("stillChunk").path("seq").asInt()).isEqualTo(seq);
            }
            doctor.ok("type", "stillAck", "stillId", id, "seq", chunks - 1);
            doctor.ok("type", "stillDone", "stillId", id);
            room.next("stillDone");
            assertThat(room.refused("type", "stillChunk", "stillId", id, "seq", 0, "data", chunk(chunkBytes, 0)))
                    .as("forgotten when done").isEqualTo("still-unknown");
        }
    }

    @Test
    void aStillLargerThanTheLimitIsRefusedAndTheDoctorTold() throws Exception {
        try (Peer doctor = joined("c-large", "dr-l", Role.DOCTOR);
             Peer room = joined("c-large", "room-l", Role.ROOM)) {
            String id = request(doctor, room, "room-l");
            int size = StillRelay.MAX_STILL_BYTES + 1;
            assertThat(room.refused("type", "stillOffer", "stillId", id, "size", size, "chunkBytes", 16383,
                    "chunks", (size + 16382) / 16383, "sha256", SHA, "keyId", 0, "iv", IV)).isEqualTo("still-too-large");
            JsonNode e = doctor.next("stillError");
            assertThat(e.path("stillId").asText()).isEqualTo(id);
            assertThat(e.path("code").asText()).isEqualTo("still-too-large");
            assertThat(room.refused("type", "stillChunk", "stillId", id, "seq", 0, "data", "AAAA"))
                    .isEqualTo("still-unknown");
        }
    }

    @Test
    void transfersAtOnceAndRequestsPerDoctorAreLimited() throws Exception {
        try (Peer doctor = joined("c-busy", "dr-b", Role.DOCTOR);
             Peer room = joined("c-busy", "room-b", Role.ROOM)) {
            String first = request(doctor, room, "room-b");
            String second = request(doctor, room, "room-b");
            assertThat(doctor.refused("type", "stillRequest", "participantId", "room-b")).isEqualTo("still-busy");
            // the room cannot take a still (camera off): it says so, the doctor is told, the slot is free
            room.ok("type", "stillError", "stillId", first, "code", "still-camera-off", "message", "the camera is off");
            JsonNode e = doctor.next("stillError");
            assertThat(e.path("code").asText()).isEqualTo("still-camera-off");
            assertThat(room.refused("type", "stillError", "stillId", second, "code", "Not A Code"))
                    .isEqualTo("still-invalid");
            doctor.ok("type", "stillError", "stillId", second, "code", "still-cancelled");
            assertThat(room.next("stillError").path("code").asText()).isEqualTo("still-cancelled");
            // four requests at once, then one per ten seconds
            String third = request(doctor, room, "room-b");
            doctor.ok("type", "stillError", "stillId", third, "code", "still-cancelled");
            String fourth = request(doctor, room, "room-b");
            doctor.ok("type", "stillError", "stillId", fourth, "code", "still-cancelled");
            assertThat(doctor.refused("type", "stillRequest", "participantId", "room-b"))
                    .isEqualTo("still-too-frequent");
        }
    }

    @Test
    void afterTheRoomReconnectsTheDoctorResumesFromItsLastChunk() throws Exception {
        int chunkBytes = 3000;
        int chunks = 8;
        int size = chunkBytes * chunks;
        try (Peer doctor = joined("c-resume", "dr-s", Role.DOCTOR)) {
            Peer room = joined("c-resume", "room-s", Role.ROOM);
            String id = request(doctor, room, "room-s");
            offer(room, id, size, chunkBytes);
            doctor.next("stillOffer");
            for (int seq = 0; seq < 5; seq++) {
                room.ok("type", "stillChunk", "stillId", id, "seq", seq, "data", chunk(chunkBytes, seq));
            }
            for (int seq = 0; seq < 3; seq++) { // the doctor got three before the link dropped
                assertThat(doctor.next("stillChunk").path("seq").asInt()).isEqualTo(seq);
                doctor.ok("type", "stillAck", "stillId", id, "seq", seq);
            }
            // the room's link drops and it comes back on a new socket (the same participant id)
            Peer again = joined("c-resume", "room-s", Role.ROOM);
            assertThat(room.ws.closed.get(5, TimeUnit.SECONDS)).isEqualTo(4409);
            room.close();
            assertThat(doctor.refused("type", "stillResume", "stillId", id, "fromSeq", 6))
                    .as("beyond what was relayed").isEqualTo("still-invalid");
            doctor.ok("type", "stillResume", "stillId", id, "fromSeq", 3);
            assertThat(again.next("stillResume").path("fromSeq").asInt()).isEqualTo(3);
            assertThat(again.refused("type", "stillChunk", "stillId", id, "seq", 5, "data", chunk(chunkBytes, 5)))
                    .isEqualTo("still-out-of-order");
            for (int seq = 3; seq < chunks; seq++) {
                again.ok("type", "stillChunk", "stillId", id, "seq", seq, "data", chunk(chunkBytes, seq));
            }
            // the doctor drops the two it had from before (they came again) and takes the rest in order
            List<Integer> got = new ArrayList<>();
            while (got.size() < chunks - 3 + 2) {
                JsonNode c = doctor.next("stillChunk");
                got.add(c.path("seq").asInt());
                assertThat(c.path("data").asText()).isEqualTo(chunk(chunkBytes, c.path("seq").asInt()));
            }
            assertThat(got).containsExactly(3, 4, 3, 4, 5, 6, 7);
            doctor.ok("type", "stillAck", "stillId", id, "seq", chunks - 1);
            assertThat(again.next("stillAck").path("seq").asInt()).isEqualTo(chunks - 1);

            // the doctor's own socket is replaced: it resumes from the start and gets everything again
            Peer doctor2 = joined("c-resume", "dr-s", Role.DOCTOR);
            doctor2.ok("type", "stillResume", "stillId", id, "fromSeq", 0);
            assertThat(again.next("stillResume").path("fromSeq").asInt()).isZero();
            for (int seq = 0; seq < chunks; seq++) {
                again.ok("type", "stillChunk", "stillId", id, "seq", seq, "data", chunk(chunkBytes, seq));
                assertThat(doctor2.next("stillChunk").path("seq").asInt()).isEqualTo(seq);
            }
            doctor2.ok("type", "stillDone", "stillId", id);
            again.next("stillDone");
            again.close();
            doctor2.close();
        }
    }

    @Test
    void aPartyThatLeavesEndsTheTransfer() throws Exception {
        try (Peer doctor = joined("c-left", "dr-x", Role.DOCTOR)) {
            Peer room = joined("c-left", "room-x2", Role.ROOM);
            String id = request(doctor, room, "room-x2");
            offer(room, id, 5000, 3000);
            room.ok("type", "leave");
            JsonNode e = doctor.next("stillError");
            assertThat(e.path("stillId").asText()).isEqualTo(id);
            assertThat(e.path("code").asText()).isEqualTo("still-participant-left");
            assertThat(doctor.refused("type", "stillResume", "stillId", id, "fromSeq", 0)).isEqualTo("still-unknown");
            room.close();
        }
    }
}
