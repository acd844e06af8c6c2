package org.consultbridge.signaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.MediaBridges;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.audit.AuditSettings;
import org.consultbridge.signaling.consultation.ReconnectSettings;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reconnects (issue #7) over real WebSockets against the real server and bridge: a participant whose connection
 * drops keeps its place and bridge endpoint for the grace period (3 s here) and takes it back with its resume token,
 * without a new admission, with ICE restarts on both transports; the others see "reconnecting" and "connected".
 * Refused: a wrong token, another participant's, a used one, one after the grace period (then the participant has
 * left: its endpoint closed, the others told, the audit log has the leave), and a one-time join token after that.
 */
class ReconnectProtocolTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration GRACE = Duration.ofSeconds(3);
    static final Pattern UFRAG = Pattern.compile("a=ice-ufrag:(\\S+)");
    static MediaBridge bridge;
    static SignalingServer server;
    static TokenService tokens;
    @TempDir
    static Path auditDir;

    @BeforeAll
    static void start() throws Exception {
        bridge = MediaBridges.start(new BridgeConfig("127.0.0.1", 0, List.of()));
        tokens = new TokenService("reconnect-secret-reconnect-secret-reconnect-01", "consultbridge",
                Duration.ofHours(12), Duration.ofSeconds(60));
        ServerConfig config = ServerConfig.load().withHttpPort(0);
        // liveness pings off: a dropped test client closes its TCP connection, which the server sees at once
        config = config.withAdmission(config.admission().withWaitingRoom(true).withOneTimeTokens(true)
                .withAudit(new AuditSettings(true, auditDir, Duration.ofDays(90), ""))
                .withReconnect(new ReconnectSettings(GRACE, Duration.ZERO, Duration.ZERO)));
        server = SignalingServer.start(config, tokens, bridge);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        bridge.close();
    }

    static String token(String consultation, String participant, Role role) {
        return tokens.mint(consultation, participant, role, participant + " name", Duration.ofHours(1));
    }

    static WsClient hello(String token) throws Exception {
        WsClient c = new WsClient(server.port());
        c.send("type", "hello", "id", 1, "version", 1, "token", token);
        return c;
    }

    static WsClient resume(String consultation, String participant, String resumeToken) throws Exception {
        WsClient c = new WsClient(server.port());
        c.send("type", "hello", "id", 1, "version", 1, "consultationId", consultation, "participantId", participant,
                "resume", resumeToken);
        return c;
    }

    static void refused(WsClient c, String code) throws Exception {
        JsonNode err = c.await("error");
        assertThat(err.path("code").asText()).isEqualTo(code);
        assertThat(err.path("id").asInt()).isEqualTo(1);
        assertThat(c.closed.get(5, TimeUnit.SECONDS)).isEqualTo(4401);
    }

    /** A doctor in the call and an admitted room; returns the room's resume token. */
    static String admittedRoom(WsClient doctor, WsClient room, String roomId) throws Exception {
        assertThat(doctor.await("welcome").path("resume").path("token").asText()).hasSize(43);
        assertThat(room.await("welcome").path("admitted").asBoolean()).isFalse();
        assertThat(room.messages.stream().anyMatch(m -> m.has("resume"))).as("no token while waiting").isFalse();
        doctor.send("type", "admit", "id", 2, "participantId", roomId);
        JsonNode admitted = room.await("admitted");
        JsonNode resume = admitted.path("resume");
        assertThat(resume.path("graceSeconds").asLong()).isEqualTo(GRACE.toSeconds());
        String token = resume.path("token").asText();
        assertThat(token).matches("[A-Za-z0-9_-]{43}");
        doctor.await("participantJoined");
        return token;
    }

    static String ufrag(String sdp) {
        Matcher m = UFRAG.matcher(sdp);
        assertThat(m.find()).as("ice-ufrag in " + sdp).isTrue();
        return m.group(1);
    }

    /** All messages of a type that have arrived so far (without waiting), removing them from the queue. */
    static List<JsonNode> drain(WsClient c, String type) {
        List<JsonNode> out = new ArrayList<>();
        c.messages.removeIf(m -> {
            boolean match = m.path("type").asText().equals(type);
            if (match) {
                out.add(m);
            }
            return match;
        });
        return out;
    }

    @Test
    void aDroppedRoomKeepsItsPlaceAndResumesWithoutANewAdmissionWithIceRestarts() throws Exception {
        try (WsClient doctor = hello(token("c-rc", "dr-rc", Role.DOCTOR))) {
            WsClient room = hello(token("c-rc", "room-rc", Role.ROOM));
            String resumeToken = admittedRoom(doctor, room, "room-rc");
            // both publish: the room then receives the doctor's tracks (a subscribe offer) and has its own producers
            doctor.send("type", "publishOffer", "id", 3, "sdp", SignalingProtocolTest.chromiumOffer());
            doctor.await("publishAnswer");
            String firstSubscribeUfrag = ufrag(room.await("subscribeOffer").path("sdp").asText());
            room.send("type", "publishOffer", "id", 3, "sdp", SignalingProtocolTest.chromiumOffer());
            String firstPublishUfrag = ufrag(room.await("publishAnswer").path("sdp").asText());
            BridgeEndpoint endpoint = bridge.endpoint("c-rc", "room-rc").orElseThrow();

            room.close(); // the connection drops: no leave
            JsonNode state = doctor.await("participantState");
            assertThat(state.path("participantId").asText()).isEqualTo("room-rc");
            assertThat(state.path("state").asText()).isEqualTo("reconnecting");
            // its place and its media on the bridge are kept
            assertThat(bridge.endpoint("c-rc", "room-rc")).containsSame(endpoint);
            assertThat(server.registry().admitted("c-rc")).extracting(p -> p.id()).contains("room-rc");
            drain(doctor, "waitingRoom");

            try (WsClient again = resume("c-rc", "room-rc", resumeToken)) {
                JsonNode welcome = again.await("welcome");
                assertThat(welcome.path("id").asInt()).isEqualTo(1);
                assertThat(welcome.path("resumed").asBoolean()).isTrue();
                assertThat(welcome.path("admitted").asBoolean()).isTrue();
                assertThat(welcome.path("participants").findValuesAsText("participantId")).containsExactly("dr-rc");
                String next = welcome.path("resume").path("token").asText();
                assertThat(next).hasSize(43).isNotEqualTo(resumeToken);
                // ICE restart, subscribe side: a new offer with new credentials, though the first was never answered
                String restartedUfrag = ufrag(again.await("subscribeOffer").path("sdp").asText());
                assertThat(restartedUfrag).isNotEqualTo(firstSubscribeUfrag);
                // publish side: the client offers new credentials, the bridge answers with new ones too
                again.send("type", "publishOffer", "id", 2, "sdp", SignalingProtocolTest.chromiumOffer()
                        .replace("a=ice-ufrag:l8l2", "a=ice-ufrag:r3st"));
                assertThat(ufrag(again.await("publishAnswer").path("sdp").asText())).isNotEqualTo(firstPublishUfrag);
                again.send("type", "iceRestart", "id", 3);
                assertThat(again.await("ack").path("id").asInt()).isEqualTo(3);
                assertThat(ufrag(again.await("subscribeOffer").path("sdp").asText())).isNotEqualTo(restartedUfrag);

                JsonNode back = doctor.await("participantState");
                assertThat(back.path("participantId").asText()).isEqualTo("room-rc");
                assertThat(back.path("state").asText()).isEqualTo("connected");
                assertThat(bridge.endpoint("c-rc", "room-rc")).containsSame(endpoint);
                // no new admission: the doctor saw no waiting-room entry and no second participantJoined
                Thread.sleep(300);
                assertThat(drain(doctor, "waitingRoom")).allSatisfy(w -> assertThat(w.path("waiting")).isEmpty());
                assertThat(drain(doctor, "participantJoined")).isEmpty();

                // the used token resumes no more; the room stays in the call
                try (WsClient replay = resume("c-rc", "room-rc", resumeToken)) {
                    refused(replay, "resume-invalid");
                }
                again.send("type", "mute", "id", 4, "audio", true, "video", false);
                again.await("ack");
                assertThat(doctor.await("muteChanged").path("participantId").asText()).isEqualTo("room-rc");
                again.send("type", "leave", "id", 5);
                again.await("ack");
                // a leave is no drop: gone at once, nobody "reconnecting"
                assertThat(doctor.await("participantLeft").path("participantId").asText()).isEqualTo("room-rc");
                assertThat(drain(doctor, "participantState")).isEmpty();
                try (WsClient late = resume("c-rc", "room-rc", next)) {
                    refused(late, "resume-invalid");
                }
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> bridge.endpoint("c-rc", "room-rc").isEmpty());
        }
    }

    @Test
    void wrongForeignUsedAndExpiredTokensAreRefusedAndAfterTheGraceTheParticipantHasLeft() throws Exception {
        String roomJoin = token("c-rg", "room-rg", Role.ROOM);
        try (WsClient doctor = hello(token("c-rg", "dr-rg", Role.DOCTOR))) {
            WsClient room = hello(roomJoin);
            String resumeToken = admittedRoom(doctor, room, "room-rg");
            WsClient guest = hello(token("c-rg", "guest-rg", Role.GUEST));
            guest.await("welcome");
            doctor.send("type", "admit", "id", 3, "participantId", "guest-rg");
            String guestToken = guest.await("admitted").path("resume").path("token").asText();

            room.close();
            assertThat(doctor.await("participantState").path("state").asText()).isEqualTo("reconnecting");
            // a token that was never issued, a malformed one, the guest's token for the room, the room's for another
            // consultation: all refused, and none of them ends the room's grace
            for (String[] bad : new String[][] {
                    {"c-rg", "room-rg", "A".repeat(43)},
                    {"c-rg", "room-rg", "x".repeat(5000)},
                    {"c-rg", "room-rg", guestToken},
                    {"c-other", "room-rg", resumeToken}}) {
                try (WsClient c = resume(bad[0], bad[1], bad[2])) {
                    refused(c, "resume-invalid");
                }
            }
            try (WsClient c = new WsClient(server.port())) {
                c.send("type", "hello", "id", 1, "version", 1, "resume", resumeToken); // without whose it is
                assertThat(c.await("error").path("code").asText()).isEqualTo("bad-message");
            }
            // the guest's own token still works for the guest (a foreign use did not spend it)
            guest.close();
            try (WsClient guestAgain = resume("c-rg", "guest-rg", guestToken)) {
                assertThat(guestAgain.await("welcome").path("resumed").asBoolean()).isTrue();

                // the room does not come back within the grace period: it has left
                JsonNode left = doctor.await("participantLeft");
                assertThat(left.path("participantId").asText()).isEqualTo("room-rg");
                await().atMost(Duration.ofSeconds(5)).until(() -> bridge.endpoint("c-rg", "room-rg").isEmpty());
                assertThat(server.registry().participants("c-rg")).extracting(p -> p.id())
                        .containsExactlyInAnyOrder("dr-rg", "guest-rg");
                try (WsClient late = resume("c-rg", "room-rg", resumeToken)) {
                    refused(late, "resume-expired");
                }
                // and its one-time join link cannot be used again
                try (WsClient replay = hello(roomJoin)) {
                    refused(replay, "token-reused");
                }
            }
        }
        var audit = server.waitingRoom().audit();
        audit.flush();
        String room = audit.pseudonym("room-rg");
        List<String> events = new ArrayList<>();
        try (var files = Files.list(auditDir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).toList()) {
                for (String line : Files.readString(f).split("\n")) {
                    JsonNode n = JSON.readTree(line);
                    if (n.path("consultation").asText().equals("c-rg") && room.equals(n.path("participant").asText())) {
                        events.add(n.path("event").asText() + (n.has("reason") ? " " + n.path("reason").asText() : ""));
                    }
                }
            }
        }
        assertThat(events).containsExactly("waiting", "admitted", "reconnecting", "left", "refused token-reused");
    }

    @Test
    void aJoinerDuringTheGraceSeesWhoIsReconnecting() throws Exception {
        try (WsClient doctor = hello(token("c-rj", "dr-rj", Role.DOCTOR))) {
            WsClient room = hello(token("c-rj", "room-rj", Role.ROOM));
            admittedRoom(doctor, room, "room-rj");
            room.close();
            doctor.await("participantState");
            try (WsClient staff = hello(token("c-rj", "staff-rj", Role.STAFF))) {
                JsonNode welcome = staff.await("welcome");
                JsonNode roomEntry = null;
                for (JsonNode p : welcome.path("participants")) {
                    if (p.path("participantId").asText().equals("room-rj")) {
                        roomEntry = p;
                    }
                }
                assertThat(roomEntry).isNotNull();
                assertThat(roomEntry.path("state").asText()).isEqualTo("reconnecting");
                assertThat(staff.await("participantLeft").path("participantId").asText()).isEqualTo("room-rj");
            }
        }
    }
}
