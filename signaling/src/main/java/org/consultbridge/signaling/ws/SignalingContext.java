package org.consultbridge.signaling.ws;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.signaling.consultation.ConsultationRegistry;
import org.consultbridge.signaling.token.TokenService;

/** What every signalling socket needs: the shared services of the server. */
public record SignalingContext(TokenService tokens, ConsultationRegistry registry, MediaBridge bridge,
                               ObjectMapper json) {
}
