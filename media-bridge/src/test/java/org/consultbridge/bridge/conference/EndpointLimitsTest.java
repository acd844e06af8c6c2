package org.consultbridge.bridge.conference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.sdp.ClientSdp;
import org.consultbridge.bridge.sdp.SdpException;
import org.junit.jupiter.api.Test;

/**
 * Issue #7: nothing a participant sends makes the bridge allocate without bound. Publish offers may name new mids
 * every time; the producers one participant can create (and, through them, the others' consumers and subscribe
 * offers) are capped, and an offer over the cap is refused whole with an SdpException (sdp-invalid).
 */
class EndpointLimitsTest {

    @Test
    void publishOffersWithEverNewMidsStopAtTheTrackCap() throws Exception {
        SfuBridge bridge = SfuBridge.start(new BridgeConfig("127.0.0.1", 0, List.of(), 0));
        try {
            BridgeEndpoint e = bridge.createEndpoint("c-limits", "p", new EndpointListener() {
                @Override
                public void subscribeRenegotiationNeeded() {
                }

                @Override
                public void transportStateChanged(TransportDirection direction, TransportState state) {
                }
            });
            ClientSdp.ClientTransport peer = new ClientSdp.ClientTransport("ufragx", "passwordpasswordpassword",
                    bridge.certificate().sha256Fingerprint());
            String template = ClientSdp.publishOffer(peer, 1000, 2000, 2001);
            int accepted = 0;
            for (int round = 0; round < 20; round++) {
                String offer = template.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE a" + round + " v" + round)
                        .replace("a=mid:0", "a=mid:a" + round).replace("a=mid:1", "a=mid:v" + round)
                        .replace("cname:peer", "cname:peer" + round)
                        .replace(" 1000 ", " " + (1000 + 10 * round) + " ")
                        .replace("a=ssrc:1000 ", "a=ssrc:" + (1000 + 10 * round) + " ");
                try {
                    e.acceptPublishOffer(offer);
                    accepted++;
                } catch (SdpException refused) {
                    assertThat(refused.getMessage()).contains("at most " + Endpoint.MAX_PRODUCERS);
                }
            }
            assertThat(accepted).isEqualTo(Endpoint.MAX_PRODUCERS / 2);
            int producers = bridge.onLoop(() -> {
                int n = 0;
                for (Producer ignored : ((Endpoint) e).producers()) {
                    n++;
                }
                return n;
            });
            assertThat(producers).isEqualTo(Endpoint.MAX_PRODUCERS);
            // the tracks it has are still accepted again (a renegotiation), a new one is not
            assertThat(e.acceptPublishOffer(template.replace("a=group:BUNDLE 0 1", "a=group:BUNDLE a0 v0")
                    .replace("a=mid:0", "a=mid:a0").replace("a=mid:1", "a=mid:v0"))).contains("a=mid:a0");
            assertThatThrownBy(() -> e.acceptPublishOffer(template)).isInstanceOf(SdpException.class);
        } finally {
            bridge.close();
        }
    }
}
