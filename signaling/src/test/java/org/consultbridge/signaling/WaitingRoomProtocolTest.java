package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.PlainHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.audit.AuditSettings;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #7 over real WebSockets against the real server and bridge: the waiting room, admit / decline / remove /
 * end with their permissions, one-time tokens, every token error code reaching the client, and the audit log.
 */
class WaitingRoomProtocolTest {

    static final String SECRET = "waiting-secret-waiting-secret-waiting-0123";
    static final ObjectMapper JSON = new ObjectMapper();
    static MediaBridge bridge;
    static SignalingServer server;
    static TokenService tokens;
    static ECKey schedulingKey;
    @TempDir
    static Path auditDir;

    @BeforeAll
    static void start() throws Exception {
        bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        schedulingKey = new ECKeyGenerator(Curve.P_256).keyID("sched-1").generate();
        tokens = new TokenService(SECRET.getBytes(StandardCharsets.UTF_8), new JWKSet(schedulingKey.toPublicJWK()),
                "consultbridge", Duration.ofHours(12), Duration.ofSeconds(60), Clock.systemUTC());
        ServerConfig config = ServerConfig.load().withHttpPort(0);
        config = config.withAdmission(config.admission().withWaitingRoom(true).withOneTimeTokens(true)
                .withAudit(new AuditSettings(true, auditDir, Duration.ofDays(90), "")));
        server = SignalingServer.start(config, tokens, bridge);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        bridge.close();
    }

    static String token(String consultation, String participant, Role role, String name) {
        return tokens.mint(consultation, participant, role, name, Duration.ofHours(1));
    }

    static WsClient hello(String token) throws Exception {
        WsClient c = new WsClient(server.port());
        c.send("type", "hello", "id", 1, "version", 1, "token", token);
        return c;
    }

    static WsClient join(String consultation, String participant, Role role, String name, boolean admitted)
            throws Exception {
        return join(token(consultation, participant, role, name), admitted);
    }

    static WsClient join(String token, boolean admitted) throws Exception {
        WsClient c = hello(token);
        JsonNode welcome = c.await("welcome");
        assertThat(welcome.path("admitted").asBoolean()).isEqualTo(admitted);
        return c;
    }

    /** Waits for the next error and checks its code, id and the close code that follows. */
    static void refused(WsClient c, String code, int closeCode) throws Exception {
        JsonNode err = c.await("error");
        assertThat(err.path("code").asText()).isEqualTo(code);
        assertThat(err.path("id").asInt()).isEqualTo(1);
        assertThat(c.closed.get(5, TimeUnit.SECONDS)).isEqualTo(closeCode);
    }

    static List<String> ids(JsonNode waitingRoom) {
        List<String> out = new ArrayList<>();
        waitingRoom.path("waiting").forEach(w -> out.add(w.path("participantId").asText()));
        return out;
    }

    @Test
    void aRoomWaitsWithoutMediaUntilTheDoctorAdmitsIt() throws Exception {
        try (WsClient room = join("c-wait", "room-1", Role.ROOM, "Praxis Dorf / Erika Mustermann", false)) {
            assertThat(room.await("waiting").path("doctorPresent").asBoolean()).isFalse();
            // nothing of the call while waiting: no endpoint, no media, no mute
            room.send("type", "publishOffer", "id", 2, "sdp", SignalingProtocolTest.chromiumOffer());
            JsonNode e = room.await("error");
            assertThat(e.path("code").asText()).isEqualTo("not-admitted");
            assertThat(e.path("id").asInt()).isEqualTo(2);
            room.send("type", "mute", "id", 3, "audio", true, "video", true);
            assertThat(room.await("error").path("code").asText()).isEqualTo("not-admitted");
            room.send("type", "ping", "id", 4);
            room.await("pong");
            assertThat(bridge.endpoint("c-wait", "room-1")).isEmpty();
            // a room cannot let itself in
            room.send("type", "admit", "id", 5, "participantId", "room-1");
            assertThat(room.await("error").path("code").asText()).isEqualTo("not-allowed");

            try (WsClient doctor = join("c-wait", "dr-1", Role.DOCTOR, "Dr. Weber", true)) {
                JsonNode list = doctor.await("waitingRoom");
                assertThat(ids(list)).containsExactly("room-1");
                JsonNode w = list.path("waiting").get(0);
                assertThat(w.path("role").asText()).isEqualTo("room");
                // the doctor sees the patient's name
                assertThat(w.path("displayName").asText()).isEqualTo("Praxis Dorf / Erika Mustermann");
                assertThat(Instant.parse(w.path("since").asText())).isBeforeOrEqualTo(Instant.now());
                assertThat(room.await("waiting").path("doctorPresent").asBoolean()).isTrue();

                doctor.send("type", "admit", "id", 6, "participantId", "room-1");
                assertThat(doctor.await("ack").path("id").asInt()).isEqualTo(6);
                JsonNode admitted = room.await("admitted");
                assertThat(admitted.path("participants").get(0).path("participantId").asText()).isEqualTo("dr-1");
                assertThat(doctor.await("participantJoined").path("participant").path("participantId").asText())
                        .isEqualTo("room-1");
                assertThat(ids(doctor.await("waitingRoom"))).isEmpty();
                assertThat(bridge.endpoint("c-wait", "room-1")).isPresent();

                room.send("type", "publishOffer", "id", 7, "sdp", SignalingProtocolTest.chromiumOffer());
                assertThat(room.await("publishAnswer").path("sdp").asText()).contains("a=ice-lite");
                assertThat(doctor.await("subscribeOffer").path("sdp").asText()).contains("a=msid:room-1 ");
                // admitting twice: nobody waits with that id any more
                doctor.send("type", "admit", "id", 8, "participantId", "room-1");
                assertThat(doctor.await("error").path("code").asText()).isEqualTo("unknown-participant");
                doctor.send("type", "admit", "id", 9);
                assertThat(doctor.await("error").path("code").asText()).isEqualTo("bad-message");
            }
        }
    }

    @Test
    void aDeclinedParticipantIsClosedAndItsOneTimeTokenIsDead() throws Exception {
        String roomToken = token("c-decline", "room-2", Role.ROOM, "Raum Zwei");
        try (WsClient doctor = join("c-decline", "dr-2", Role.DOCTOR, "Dr. Zwei", true);
             WsClient room = join(roomToken, false)) {
            assertThat(ids(doctor.await("waitingRoom"))).isEmpty();
            assertThat(ids(doctor.await("waitingRoom"))).containsExactly("room-2");
            doctor.send("type", "decline", "id", 2, "participantId", "room-2");
            assertThat(doctor.await("ack").path("id").asInt()).isEqualTo(2);
            room.await("declined");
            assertThat(room.closed.get(5, TimeUnit.SECONDS)).isEqualTo(4420);
            assertThat(ids(doctor.await("waitingRoom"))).isEmpty();
            assertThat(bridge.endpoint("c-decline", "room-2")).isEmpty();

            try (WsClient again = hello(roomToken)) {
                refused(again, "token-reused", 4401);
            }
            // a new invitation (another token) for the same room may wait again
            try (WsClient fresh = join("c-decline", "room-2", Role.ROOM, "Raum Zwei", false)) {
                assertThat(ids(doctor.await("waitingRoom"))).containsExactly("room-2");
            }
        }
    }

    @Test
    void staffAdmitsAndRemovesGuestsButNeitherEndsNorRemovesTheDoctor() throws Exception {
        String guestToken = token("c-staff", "guest-3", Role.GUEST, "Dolmetscherin");
        try (WsClient staff = join("c-staff", "mfa-3", Role.STAFF, "MFA Schmidt", true);
             WsClient doctor = join("c-staff", "dr-3", Role.DOCTOR, "Dr. Drei", true);
             WsClient guest = join(guestToken, false)) {
            assertThat(guest.await("waiting").path("doctorPresent").asBoolean()).isTrue();
            staff.send("type", "admit", "id", 2, "participantId", "guest-3");
            staff.await("ack");
            guest.await("admitted");
            await().atMost(Duration.ofSeconds(5)).until(() -> bridge.endpoint("c-staff", "guest-3").isPresent());

            guest.send("type", "endConsultation", "id", 3);
            assertThat(guest.await("error").path("code").asText()).isEqualTo("not-allowed");
            guest.send("type", "remove", "id", 4, "participantId", "dr-3");
            assertThat(guest.await("error").path("code").asText()).isEqualTo("not-allowed");
            staff.send("type", "endConsultation", "id", 5);
            assertThat(staff.await("error").path("code").asText()).isEqualTo("not-allowed");
            staff.send("type", "remove", "id", 6, "participantId", "dr-3");
            assertThat(staff.await("error").path("code").asText()).isEqualTo("not-allowed");
            doctor.send("type", "remove", "id", 7, "participantId", "dr-3");
            assertThat(doctor.await("error").path("code").asText()).isEqualTo("not-allowed");
            doctor.send("type", "remove", "id", 8, "participantId", "nobody");
            assertThat(doctor.await("error").path("code").asText()).isEqualTo("unknown-participant");

            staff.send("type", "remove", "id", 9, "participantId", "guest-3");
            assertThat(staff.await("ack").path("id").asInt()).isEqualTo(9);
            guest.await("removed");
            assertThat(guest.closed.get(5, TimeUnit.SECONDS)).isEqualTo(4421);
            assertThat(doctor.await("participantLeft").path("participantId").asText()).isEqualTo("guest-3");
            // the guest's bridge endpoint went with the removal: no media to or from it
            assertThat(bridge.endpoint("c-staff", "guest-3")).isEmpty();
            try (WsClient again = hello(guestToken)) {
                refused(again, "token-reused", 4401);
            }
        }
    }

    @Test
    void aReconnectWhilePresentKeepsTheAdmissionButAfterLeavingTheOneTimeTokenIsDead() throws Exception {
        String roomToken = token("c-again", "room-4", Role.ROOM, "Raum Vier");
        try (WsClient doctor = join("c-again", "dr-4", Role.DOCTOR, "Dr. Vier", true)) {
            WsClient first = join(roomToken, false);
            doctor.send("type", "admit", "id", 2, "participantId", "room-4");
            first.await("admitted");
            // the page reloads: the same token again while the first connection is still there
            try (WsClient second = join(roomToken, true)) {
                assertThat(first.closed.get(5, TimeUnit.SECONDS)).isEqualTo(4409);
                first.close();
                second.send("type", "leave", "id", 3);
                second.await("ack");
            }
            assertThat(doctor.await("participantLeft").path("participantId").asText()).isEqualTo("room-4");
            try (WsClient third = hello(roomToken)) {
                refused(third, "token-reused", 4401);
            }
        }
    }

    @Test
    void endingTheConsultationClosesEverySocketAndEndpointAndRefusesNewJoins() throws Exception {
        try (WsClient doctor = join("c-end", "dr-5", Role.DOCTOR, "Dr. Fünf", true);
             WsClient room = join("c-end", "room-5", Role.ROOM, "Raum Fünf", false);
             WsClient guest = join("c-end", "guest-5", Role.GUEST, "Gast Fünf", false)) {
            doctor.send("type", "admit", "id", 2, "participantId", "room-5");
            doctor.await("ack");
            room.await("admitted");
            room.send("type", "publishOffer", "id", 3, "sdp", SignalingProtocolTest.chromiumOffer());
            room.await("publishAnswer");
            assertThat(bridge.endpoint("c-end", "dr-5")).isPresent();
            assertThat(bridge.endpoint("c-end", "room-5")).isPresent();

            doctor.send("type", "endConsultation", "id", 4);
            assertThat(doctor.await("ack").path("id").asInt()).isEqualTo(4);
            for (WsClient c : List.of(doctor, room, guest)) {
                c.await("consultationEnded");
                assertThat(c.closed.get(5, TimeUnit.SECONDS)).isEqualTo(4410);
            }
            assertThat(bridge.endpoint("c-end", "dr-5")).isEmpty();
            assertThat(bridge.endpoint("c-end", "room-5")).isEmpty();
            assertThat(server.registry().participants("c-end")).isEmpty();
            // an ended consultation stays ended, even for a new invitation
            try (WsClient late = hello(token("c-end", "dr-5b", Role.DOCTOR, "Dr. Spät"))) {
                refused(late, "consultation-ended", 4410);
            }
        }
    }

    @Test
    void theWaitingRoomCountsTowardsTheMaximum() throws Exception {
        List<WsClient> in = new ArrayList<>();
        try {
            in.add(join("c-max", "dr-6", Role.DOCTOR, "Dr. Sechs", true));
            for (int i = 0; i < 3; i++) {
                in.add(join("c-max", "guest-6" + i, Role.GUEST, "G" + i, false));
            }
            try (WsClient fifth = hello(token("c-max", "guest-65", Role.GUEST, "G5"))) {
                refused(fifth, "consultation-full", 4403);
            }
        } finally {
            in.forEach(WsClient::close);
        }
    }

    static String signed(JWSAlgorithm alg, String kid, com.nimbusds.jose.JWSSigner signer, JWTClaimsSet c)
            throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(kid).build(), c);
        jwt.sign(signer);
        return jwt.serialize();
    }

    static JWTClaimsSet.Builder claims() {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder().subject("room-9").issueTime(Date.from(now))
                .expirationTime(Date.from(now.plusSeconds(600))).claim("cid", "c-codes").claim("role", "room")
                .claim("name", "Raum Neun");
    }

    @Test
    void everyTokenErrorCodeReachesTheClientBeforeTheSocketCloses() throws Exception {
        Instant now = Instant.now();
        MACSigner hs = new MACSigner(SECRET);
        ECKey stranger = new ECKeyGenerator(Curve.P_256).keyID("other").generate();
        record Case(String token, String consultationInHello, String code) {
        }
        List<Case> cases = List.of(
                new Case("not-a-jwt", null, "token-invalid"),
                new Case(signed(JWSAlgorithm.HS256, null, hs, claims().issueTime(Date.from(now.minusSeconds(7200)))
                        .expirationTime(Date.from(now.minusSeconds(3600))).build()), null, "token-expired"),
                new Case(signed(JWSAlgorithm.HS256, null, hs, claims()
                        .notBeforeTime(Date.from(now.plusSeconds(3600))).build()), null, "token-not-yet-valid"),
                new Case(signed(JWSAlgorithm.HS256, null, new MACSigner("not-the-secret-not-the-secret-0123"),
                        claims().build()), null, "token-signature"),
                new Case(signed(JWSAlgorithm.HS256, null, hs, claims().build()), "c-other", "token-consultation"),
                new Case(signed(JWSAlgorithm.HS256, null, hs, claims().claim("name", null).build()), null,
                        "token-claim-missing"),
                new Case(signed(JWSAlgorithm.HS256, null, hs, claims().claim("role", "admin").build()), null,
                        "token-claims"),
                new Case(signed(JWSAlgorithm.ES256, "other", new ECDSASigner(stranger), claims().build()), null,
                        "token-unknown-key"),
                new Case(new PlainJWT(new PlainHeader(), claims().build()).serialize(), null, "token-algorithm"),
                new Case(signed(JWSAlgorithm.HS384, null, new MACSigner(SECRET + SECRET), claims().build()), null,
                        "token-algorithm"));
        for (Case k : cases) {
            try (WsClient c = new WsClient(server.port())) {
                if (k.consultationInHello() == null) {
                    c.send("type", "hello", "id", 1, "version", 1, "token", k.token());
                } else {
                    c.send("type", "hello", "id", 1, "version", 1, "token", k.token(), "consultationId",
                            k.consultationInHello());
                }
                JsonNode err = c.await("error");
                assertThat(err.path("code").asText()).as(k.code()).isEqualTo(k.code());
                assertThat(c.closed.get(5, TimeUnit.SECONDS)).as(k.code()).isEqualTo(4401);
            }
        }
        // and the good ones: the scheduling system's ES256 token, and a hello naming the right consultation
        try (WsClient ok = join(signed(JWSAlgorithm.ES256, "sched-1", new ECDSASigner(schedulingKey),
                claims().claim("role", "doctor").build()), true)) {
            ok.send("type", "ping", "id", 2);
            ok.await("pong");
        }
        try (WsClient named = new WsClient(server.port())) {
            named.send("type", "hello", "id", 1, "version", 1, "consultationId", "c-codes", "token",
                    signed(JWSAlgorithm.HS256, null, hs, claims().subject("room-10").build()));
            assertThat(named.await("welcome").path("consultationId").asText()).isEqualTo("c-codes");
        }
    }

    @Test
    void theAuditLogRecordsWhoWasWhereWithPseudonymsOnly() throws Exception {
        String roomToken = token("c-audit", "room-mueller", Role.ROOM, "Erika Mustermann");
        try (WsClient doctor = join("c-audit", "dr-weber", Role.DOCTOR, "Dr. Weber", true)) {
            try (WsClient room = join(roomToken, false)) {
                doctor.send("type", "admit", "id", 2, "participantId", "room-mueller");
                room.await("admitted");
                room.send("type", "leave", "id", 3);
                room.await("ack");
                doctor.await("participantLeft");
            }
            try (WsClient again = hello(roomToken)) {
                refused(again, "token-reused", 4401);
            }
            doctor.send("type", "endConsultation", "id", 4);
            doctor.await("consultationEnded");
        }
        var audit = server.waitingRoom().audit();
        audit.flush();
        String room = audit.pseudonym("room-mueller");
        String doctor = audit.pseudonym("dr-weber");
        List<JsonNode> mine = new ArrayList<>();
        try (var files = Files.list(auditDir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).toList()) {
                String text = Files.readString(f);
                assertThat(text).doesNotContain("Mustermann", "Weber", "room-mueller", "dr-weber", "v=0");
                for (String line : text.split("\n")) {
                    JsonNode n = JSON.readTree(line);
                    if (n.path("consultation").asText().equals("c-audit")) {
                        mine.add(n);
                    }
                }
            }
        }
        assertThat(mine).extracting(n -> n.path("event").asText() + " " + n.path("participant").asText("-") + " "
                + n.path("by").asText("-") + " " + n.path("reason").asText("-")).containsExactly(
                "joined " + doctor + " - -",
                "waiting " + room + " - -",
                "admitted " + room + " " + doctor + " -",
                "left " + room + " - -",
                "refused " + room + " - token-reused",
                "ended - " + doctor + " -");
    }

    @Test
    void logsAtInfoCarryNoNamesAndNoSdp() throws Exception {
        ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs =
                new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        root.addAppender(logs);
        try (WsClient doctor = join("c-logs", "dr-12", Role.DOCTOR, "Dr. Vertraulich", true);
             WsClient room = join("c-logs", "room-12", Role.ROOM, "Patientin Geheimname", false);
             WsClient guest = join("c-logs", "guest-12", Role.GUEST, "Gast Geheimname", false)) {
            doctor.send("type", "admit", "id", 2, "participantId", "room-12");
            room.await("admitted");
            doctor.send("type", "admit", "id", 3, "participantId", "guest-12");
            guest.await("admitted");
            room.send("type", "publishOffer", "id", 4, "sdp", SignalingProtocolTest.chromiumOffer());
            room.await("publishAnswer");
            room.send("type", "publishOffer", "id", 5, "sdp", "v=0\r\nm=video notaport RTP/SAVPF 96\r\n");
            room.await("error");
            doctor.send("type", "remove", "id", 6, "participantId", "guest-12");
            guest.await("removed");
            doctor.send("type", "endConsultation", "id", 7);
            doctor.await("consultationEnded");
        } finally {
            root.detachAppender(logs);
        }
        List<String> lines = logs.list.stream()
                .filter(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.INFO))
                .map(e -> e.getFormattedMessage() + (e.getThrowableProxy() == null ? ""
                        : " " + e.getThrowableProxy().getMessage()))
                .toList();
        assertThat(lines).anyMatch(l -> l.contains("room-12")); // the pseudonymous ids are there ...
        assertThat(String.join("\n", lines)).doesNotContain("Vertraulich", "Geheimname", "v=0", "a=ice-ufrag",
                "a=fingerprint", "a=candidate", "eyJ"); // ... names, SDP and tokens are not
    }

    @Test
    void withoutTheWaitingRoomEveryoneJoinsAtOnce() throws Exception {
        ServerConfig config = ServerConfig.load().withHttpPort(0);
        config = config.withAdmission(config.admission().withWaitingRoom(false).withAudit(AuditSettings.off()));
        try (SignalingServer open = SignalingServer.start(config, tokens, bridge);
             WsClient room = new WsClient(open.port())) {
            room.send("type", "hello", "id", 1, "version", 1, "token",
                    token("c-open", "room-11", Role.ROOM, "Raum Elf"));
            assertThat(room.await("welcome").path("admitted").asBoolean()).isTrue();
            room.send("type", "publishOffer", "id", 2, "sdp", SignalingProtocolTest.chromiumOffer());
            room.await("publishAnswer");
        }
    }
}
