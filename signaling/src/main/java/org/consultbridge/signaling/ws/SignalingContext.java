package org.consultbridge.signaling.ws;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.clinical.E2eeRelay;
import org.consultbridge.signaling.clinical.ProfileControl;
import org.consultbridge.signaling.clinical.StillRelay;
import org.consultbridge.signaling.consultation.ConsultationRegistry;
import org.consultbridge.signaling.ops.OpsMonitor;
import org.consultbridge.signaling.token.TokenService;
import org.consultbridge.turn.TurnSettings;

/** What every signalling socket needs: the shared services of the server; {@code turn} may be disabled. */
public record SignalingContext(TokenService tokens, ConsultationRegistry registry, MediaBridge bridge,
                               ObjectMapper json, TurnSettings turn, OpsMonitor ops, WaitingRoom waitingRoom,
                               E2eeRelay e2ee, ProfileControl profiles, StillRelay stills) {

    /** With the still-image relay (issue #8) made here: it needs nothing but the registry. */
    public SignalingContext(TokenService tokens, ConsultationRegistry registry, MediaBridge bridge, ObjectMapper json,
                            TurnSettings turn, OpsMonitor ops, WaitingRoom waitingRoom, E2eeRelay e2ee,
                            ProfileControl profiles) {
        this(tokens, registry, bridge, json, turn, ops, waitingRoom, e2ee, profiles, new StillRelay(json, registry));
    }
}
