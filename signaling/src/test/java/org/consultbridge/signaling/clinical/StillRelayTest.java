package org.consultbridge.signaling.clinical;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.consultbridge.signaling.consultation.ConsultationRegistry;
import org.consultbridge.signaling.consultation.Participant;
import org.consultbridge.signaling.consultation.ParticipantConnection;
import org.consultbridge.signaling.token.Role;
import org.junit.jupiter.api.Test;

/**
 * {@link StillRelay} on its own with a clock the test moves: transfers that idle out are ended and both sides told,
 * freeing their slot; a doctor's request allowance refills at one per 10 s. (The protocol over real WebSockets is
 * {@code StillSignalingTest}.)
 */
class StillRelayTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A participant's socket that keeps what it is sent. */
    private static final class Inbox implements ParticipantConnection {
        final List<JsonNode> got = new ArrayList<>();

        @Override
        public void send(String json) {
            try {
                got.add(JSON.readTree(json));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close(int code, String reason) {
        }

        @Override
        public void enterCall(List<Participant> others) {
        }

        JsonNode last() {
            return got.get(got.size() - 1);
        }
    }

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final ConsultationRegistry registry = new ConsultationRegistry(4);
    private final StillRelay relay = new StillRelay(JSON, registry, now::get);
    private final Inbox doctorInbox = new Inbox();
    private final Inbox roomInbox = new Inbox();
    private final Participant doctor = new Participant("dr", Role.DOCTOR, "Dr", doctorInbox);
    private final Participant room = new Participant("room", Role.ROOM, "Room", roomInbox);
    private int nextId;

    StillRelayTest() {
        registry.join("c", doctor, false);
        registry.join("c", room, false);
    }

    private JsonNode send(Participant from, Inbox inbox, Object... keyValues) {
        ObjectNode msg = JSON.createObjectNode();
        for (int i = 0; i < keyValues.length; i += 2) {
            msg.set((String) keyValues[i], JSON.valueToTree(keyValues[i + 1]));
        }
        int id = ++nextId;
        relay.onMessage(from, "c", msg, JSON.valueToTree(id));
        return inbox.got.stream().filter(m -> m.path("id").asInt(-1) == id).findFirst().orElseThrow();
    }

    private String request() {
        JsonNode r = send(doctor, doctorInbox, "type", "stillRequest", "participantId", "room");
        assertThat(r.path("type").asText()).as("%s", r).isEqualTo("ack");
        return r.path("stillId").asText();
    }

    @Test
    void anIdleTransferEndsAndBothSidesAreTold() {
        String id = request();
        assertThat(roomInbox.last().path("type").asText()).isEqualTo("stillRequest");
        request();
        assertThat(send(doctor, doctorInbox, "type", "stillRequest", "participantId", "room").path("code").asText())
                .isEqualTo(StillRelay.STILL_BUSY);
        now.addAndGet(StillRelay.IDLE_TIMEOUT_NANOS + 1);
        JsonNode third = send(doctor, doctorInbox, "type", "stillRequest", "participantId", "room");
        assertThat(third.path("type").asText()).as("the idle ones freed their slots").isEqualTo("ack");
        assertThat(doctorInbox.got).filteredOn(m -> m.path("type").asText().equals("stillError"))
                .extracting(m -> m.path("code").asText()).containsExactly("still-timeout", "still-timeout");
        assertThat(roomInbox.got).anyMatch(m -> m.path("type").asText().equals("stillError")
                && m.path("stillId").asText().equals(id) && m.path("code").asText().equals("still-timeout"));
        assertThat(relay.transfers()).isEqualTo(1);
    }

    @Test
    void activityKeepsATransferAlive() {
        String id = request();
        send(room, roomInbox, "type", "stillOffer", "stillId", id, "size", 2052, "chunkBytes", 1026, "chunks", 2,
                "sha256", "0".repeat(64), "keyId", 1, "iv", "AAAAAAAAAAAAAAAA");
        now.addAndGet(StillRelay.IDLE_TIMEOUT_NANOS - 1_000_000_000L);
        assertThat(send(room, roomInbox, "type", "stillChunk", "stillId", id, "seq", 0,
                "data", java.util.Base64.getEncoder().encodeToString(new byte[1026])).path("type").asText())
                .isEqualTo("ack");
        now.addAndGet(StillRelay.IDLE_TIMEOUT_NANOS - 1_000_000_000L);
        assertThat(send(doctor, doctorInbox, "type", "stillAck", "stillId", id, "seq", 0).path("type").asText())
                .isEqualTo("ack");
        assertThat(relay.transfers()).isEqualTo(1);
    }

    @Test
    void requestsRefillAtOnePerTenSeconds() {
        for (int i = 0; i < 4; i++) {
            send(doctor, doctorInbox, "type", "stillError", "stillId", request(), "code", "still-cancelled");
        }
        assertThat(send(doctor, doctorInbox, "type", "stillRequest", "participantId", "room").path("code").asText())
                .isEqualTo(StillRelay.STILL_TOO_FREQUENT);
        now.addAndGet(9_000_000_000L);
        assertThat(send(doctor, doctorInbox, "type", "stillRequest", "participantId", "room").path("code").asText())
                .isEqualTo(StillRelay.STILL_TOO_FREQUENT);
        now.addAndGet(1_100_000_000L);
        request();
    }

    @Test
    void aLeavingParticipantEndsItsTransfersAndItsAllowance() {
        String id = request();
        relay.left("c", "room");
        assertThat(doctorInbox.last().path("code").asText()).isEqualTo("still-participant-left");
        assertThat(doctorInbox.last().path("stillId").asText()).isEqualTo(id);
        assertThat(relay.transfers()).isZero();
    }
}
