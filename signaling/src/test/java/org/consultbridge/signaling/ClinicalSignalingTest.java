package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #8 over real WebSockets against the real server: the end-to-end key relay (public keys to the others and
 * to late joiners, encrypted media keys to one recipient, every malformed message refused with its code) and the
 * clinical profile (doctor only, broadcast, token claim).
 */
class ClinicalSignalingTest {

    private static final String SECRET = "clinical-secret-clinical-secret-clinical";
    private static MediaBridge bridge;
    private static SignalingServer server;
    private static TokenService tokens;

    @BeforeAll
    static void start() throws Exception {
        bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        tokens = new TokenService(SECRET, "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60));
        // without the waiting room (issue #7), so that everyone is in the call at once; the waiting room's part is
        // checked on a server of its own below
        ServerConfig config = ServerConfig.load().withHttpPort(0);
        server = SignalingServer.start(config.withAdmission(config.admission().withWaitingRoom(false)), tokens,
                bridge);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        bridge.close();
    }

    private static WsClient join(SignalingServer s, String consultation, String participant, Role role, String profile)
            throws Exception {
        WsClient c = new WsClient(s.port());
        c.send("type", "hello", "id", 1, "version", 1, "token",
                tokens.mint(consultation, participant, role, participant, Duration.ofHours(1), profile));
        return c;
    }

    private static WsClient joined(String consultation, String participant, Role role) throws Exception {
        WsClient c = join(server, consultation, participant, role, null);
        c.await("welcome");
        return c;
    }

    /** The reply to request {@code id} (an ack or an error); other messages before it are dropped. */
    private static JsonNode reply(WsClient c, int id) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            JsonNode m = c.messages.poll(100, TimeUnit.MILLISECONDS);
            if (m != null && m.path("id").asInt(-1) == id) {
                return m;
            }
        }
        throw new AssertionError("no reply to " + id);
    }

    private static String errorCode(WsClient c, int id) throws InterruptedException {
        JsonNode r = reply(c, id);
        assertThat(r.path("type").asText()).as("reply to %d: %s", id, r).isEqualTo("error");
        return r.path("code").asText();
    }

    private static String point(int seed) {
        byte[] b = new byte[65];
        b[0] = 0x04;
        for (int i = 1; i < b.length; i++) {
            b[i] = (byte) (seed * 31 + i);
        }
        return Base64.getEncoder().encodeToString(b);
    }

    private static String ciphertext(int bytes) {
        return Base64.getEncoder().encodeToString(new byte[bytes]);
    }

    @Test
    void welcomeSaysEncryptionIsOnAndTheProfile() throws Exception {
        try (WsClient c = join(server, "c-w", "dr-w", Role.DOCTOR, null)) {
            JsonNode w = c.await("welcome");
            assertThat(w.path("e2ee").path("enabled").asBoolean()).isTrue();
            assertThat(w.path("e2ee").path("allowDisable").asBoolean()).isFalse();
            assertThat(w.path("profile").asText()).isEqualTo("balanced");
        }
    }

    @Test
    void publicKeysReachTheOthersAndLateJoinersAndMediaKeysOnlyTheirRecipient() throws Exception {
        try (WsClient doctor = joined("c-keys", "dr-k", Role.DOCTOR);
             WsClient room = joined("c-keys", "room-k", Role.ROOM)) {
            doctor.send("type", "e2eeKey", "id", 2, "publicKey", point(1));
            assertThat(reply(doctor, 2).path("type").asText()).isEqualTo("ack");
            JsonNode announced = room.await("e2eePublicKey");
            assertThat(announced.path("participantId").asText()).isEqualTo("dr-k");
            assertThat(announced.path("publicKey").asText()).isEqualTo(point(1));
            room.send("type", "e2eeKey", "id", 2, "publicKey", point(2));
            assertThat(reply(room, 2).path("type").asText()).isEqualTo("ack");
            assertThat(doctor.await("e2eePublicKey").path("participantId").asText()).isEqualTo("room-k");

            // a late joiner finds both keys in its welcome
            try (WsClient guest = join(server, "c-keys", "guest-k", Role.GUEST, null)) {
                JsonNode w = guest.await("welcome");
                List<String> keys = new ArrayList<>();
                w.path("participants").forEach(p -> keys.add(p.path("participantId").asText() + "="
                        + p.path("e2eePublicKey").asText()));
                assertThat(keys).containsExactlyInAnyOrder("dr-k=" + point(1), "room-k=" + point(2));

                // the doctor's media key for the room goes to the room only, marked as from the doctor
                doctor.send("type", "e2eeMediaKey", "id", 3, "to", "room-k", "ciphertext", ciphertext(61));
                assertThat(reply(doctor, 3).path("type").asText()).isEqualTo("ack");
                JsonNode mk = room.await("e2eeMediaKey");
                assertThat(mk.path("from").asText()).isEqualTo("dr-k");
                assertThat(mk.path("ciphertext").asText()).isEqualTo(ciphertext(61));
                assertThat(mk.has("to")).isFalse();
                // the guest has announced no key: nothing can be encrypted for it yet
                doctor.send("type", "e2eeMediaKey", "id", 4, "to", "guest-k", "ciphertext", ciphertext(61));
                assertThat(errorCode(doctor, 4)).isEqualTo("e2ee-unknown-target");
                guest.send("type", "ping", "id", 50);
                JsonNode next = reply(guest, 50);
                assertThat(next.path("type").asText()).isEqualTo("pong");
                assertThat(guest.messages).noneMatch(m -> m.path("type").asText().equals("e2eeMediaKey"));
            }
        }
    }

    @Test
    void malformedKeyMessagesAreRefusedWithTheirCodesAndTheSocketStaysOpen() throws Exception {
        try (WsClient doctor = joined("c-bad-keys", "dr-b", Role.DOCTOR);
             WsClient room = joined("c-bad-keys", "room-b", Role.ROOM);
             WsClient stranger = joined("c-elsewhere", "room-x", Role.ROOM)) {
            int id = 10;
            // sending a media key before announcing one's own public key
            doctor.send("type", "e2eeMediaKey", "id", ++id, "to", "room-b", "ciphertext", ciphertext(61));
            assertThat(errorCode(doctor, id)).isEqualTo("e2ee-invalid");
            for (Object bad : new Object[] {"not base64!", ciphertext(64), point(1).replace('A', '-'), 42,
                    Base64.getEncoder().encodeToString(new byte[65])}) {
                doctor.send("type", "e2eeKey", "id", ++id, "publicKey", bad);
                assertThat(errorCode(doctor, id)).as("publicKey %s", bad).isEqualTo("e2ee-invalid");
            }
            doctor.send("type", "e2eeKey", "id", ++id);
            assertThat(errorCode(doctor, id)).isEqualTo("e2ee-invalid");
            doctor.send("type", "e2eeKey", "id", ++id, "publicKey", point(3));
            assertThat(reply(doctor, id).path("type").asText()).isEqualTo("ack");
            room.send("type", "e2eeKey", "id", 2, "publicKey", point(4));
            stranger.send("type", "e2eeKey", "id", 2, "publicKey", point(5));
            assertThat(reply(stranger, 2).path("type").asText()).isEqualTo("ack");

            doctor.send("type", "e2eeMediaKey", "id", ++id, "to", "room-b", "ciphertext", ciphertext(10));
            assertThat(errorCode(doctor, id)).as("too short").isEqualTo("e2ee-invalid");
            doctor.send("type", "e2eeMediaKey", "id", ++id, "to", "room-b", "ciphertext", ciphertext(513));
            assertThat(errorCode(doctor, id)).as("too long").isEqualTo("e2ee-invalid");
            doctor.send("type", "e2eeMediaKey", "id", ++id, "to", "room-b", "ciphertext", "%%%%");
            assertThat(errorCode(doctor, id)).as("not base64").isEqualTo("e2ee-invalid");
            doctor.send("type", "e2eeMediaKey", "id", ++id, "ciphertext", ciphertext(61));
            assertThat(errorCode(doctor, id)).as("no recipient").isEqualTo("e2ee-invalid");
            doctor.send("type", "e2eeMediaKey", "id", ++id, "to", "room-x", "ciphertext", ciphertext(61));
            assertThat(errorCode(doctor, id)).as("another consultation").isEqualTo("e2ee-unknown-target");
            doctor.send("type", "e2eeMediaKey", "id", ++id, "to", "dr-b", "ciphertext", ciphertext(61));
            assertThat(errorCode(doctor, id)).as("oneself").isEqualTo("e2ee-unknown-target");
            doctor.send("type", "e2eeMediaKey", "id", ++id, "to", "nobody", "ciphertext", ciphertext(61));
            assertThat(errorCode(doctor, id)).isEqualTo("e2ee-unknown-target");

            // a flood is cut off, the socket stays open
            int refused = 0;
            int first = id + 1;
            for (int i = 0; i < 60; i++) {
                doctor.send("type", "e2eeMediaKey", "id", ++id, "to", "room-b", "ciphertext", ciphertext(61));
            }
            for (int i = first; i <= id; i++) {
                JsonNode r = reply(doctor, i);
                if (r.path("code").asText().equals("e2ee-too-frequent")) {
                    refused++;
                }
            }
            assertThat(refused).isBetween(15, 45);
            doctor.send("type", "ping", "id", ++id);
            assertThat(reply(doctor, id).path("type").asText()).isEqualTo("pong");
            assertThat(stranger.messages).noneMatch(m -> m.path("type").asText().equals("e2eeMediaKey"));
        }
    }

    @Test
    void onlyADoctorSwitchesTheProfileAndEveryoneIsTold() throws Exception {
        try (WsClient doctor = joined("c-prof", "dr-p", Role.DOCTOR);
             WsClient room = joined("c-prof", "room-p", Role.ROOM)) {
            room.send("type", "setProfile", "id", 5, "profile", "detail");
            assertThat(errorCode(room, 5)).isEqualTo("not-allowed");
            doctor.send("type", "setProfile", "id", 6, "profile", "fast");
            assertThat(errorCode(doctor, 6)).isEqualTo("profile-invalid");
            doctor.send("type", "setProfile", "id", 7);
            assertThat(errorCode(doctor, 7)).isEqualTo("profile-invalid");
            doctor.send("type", "setProfile", "id", 8, "profile", "motion");
            assertThat(reply(doctor, 8).path("type").asText()).isEqualTo("ack");
            for (WsClient c : List.of(doctor, room)) {
                JsonNode p = c.await("profile");
                assertThat(p.path("profile").asText()).isEqualTo("motion");
                assertThat(p.path("by").asText()).isEqualTo("dr-p");
            }
            try (WsClient guest = join(server, "c-prof", "guest-p", Role.GUEST, "detail")) {
                assertThat(guest.await("welcome").path("profile").asText())
                        .as("a guest's token does not choose the profile").isEqualTo("motion");
            }
        }
    }

    @Test
    void aDoctorsTokenChoosesTheProfileAndABadClaimIsRefused() throws Exception {
        try (WsClient room = joined("c-claim", "room-c", Role.ROOM);
             WsClient doctor = join(server, "c-claim", "dr-c", Role.DOCTOR, "detail")) {
            assertThat(doctor.await("welcome").path("profile").asText()).isEqualTo("detail");
            assertThat(room.await("profile").path("profile").asText()).isEqualTo("detail");
        }
        try (WsClient bad = join(server, "c-claim2", "dr-d", Role.DOCTOR, "sharp")) {
            assertThat(bad.await("error").path("code").asText()).isEqualTo("token-claims");
        }
    }

    @Test
    void nobodyInTheWaitingRoomSendsOrGetsKeysAndTheAdmissionBringsThemAndTheProfile() throws Exception {
        try (SignalingServer waiting = SignalingServer.start(ServerConfig.load().withHttpPort(0), tokens, bridge);
             WsClient doctor = join(waiting, "c-wait", "dr-w2", Role.DOCTOR, "motion")) {
            doctor.await("welcome");
            doctor.send("type", "e2eeKey", "id", 2, "publicKey", point(7));
            assertThat(reply(doctor, 2).path("type").asText()).isEqualTo("ack");
            try (WsClient room = join(waiting, "c-wait", "room-w2", Role.ROOM, null)) {
                JsonNode w = room.await("welcome");
                assertThat(w.path("admitted").asBoolean()).isFalse();
                assertThat(w.path("participants")).isEmpty();
                room.send("type", "e2eeKey", "id", 2, "publicKey", point(8));
                assertThat(errorCode(room, 2)).isEqualTo("not-admitted");
                room.send("type", "e2eeMediaKey", "id", 3, "to", "dr-w2", "ciphertext", ciphertext(61));
                assertThat(errorCode(room, 3)).isEqualTo("not-admitted");
                // the doctor cannot send a key to someone who waits
                doctor.send("type", "e2eeMediaKey", "id", 3, "to", "room-w2", "ciphertext", ciphertext(61));
                assertThat(errorCode(doctor, 3)).isEqualTo("e2ee-unknown-target");

                doctor.send("type", "admit", "id", 4, "participantId", "room-w2");
                JsonNode admitted = room.await("admitted");
                assertThat(admitted.path("profile").asText()).isEqualTo("motion");
                assertThat(admitted.path("participants").get(0).path("e2eePublicKey").asText()).isEqualTo(point(7));
                room.send("type", "e2eeKey", "id", 5, "publicKey", point(8));
                assertThat(reply(room, 5).path("type").asText()).isEqualTo("ack");
                assertThat(doctor.await("e2eePublicKey").path("participantId").asText()).isEqualTo("room-w2");
            }
        }
    }

    @Test
    void withEncryptionOffTheServerSaysSoAndRelaysNoKeys() throws Exception {
        ServerConfig config = ServerConfig.load().withHttpPort(0);
        try (SignalingServer off = SignalingServer.start(config.withClinical(config.clinical().withE2ee(false, true)),
                tokens, bridge);
             WsClient c = join(off, "c-off", "dr-off", Role.DOCTOR, null)) {
            JsonNode w = c.await("welcome");
            assertThat(w.path("e2ee").path("enabled").asBoolean()).isFalse();
            assertThat(w.path("e2ee").path("allowDisable").asBoolean()).isFalse();
            c.send("type", "e2eeKey", "id", 2, "publicKey", point(1));
            assertThat(errorCode(c, 2)).isEqualTo("e2ee-disabled");
        }
    }
}
