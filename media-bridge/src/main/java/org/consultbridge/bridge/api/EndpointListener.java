package org.consultbridge.bridge.api;

/** Callbacks from the bridge to the signalling layer; called from bridge threads, must not block. */
public interface EndpointListener {

    /** What this endpoint should receive changed: call {@link BridgeEndpoint#createSubscribeOffer()}. */
    void subscribeRenegotiationNeeded();

    /** A transport of this endpoint changed state. */
    void transportStateChanged(TransportDirection direction, TransportState state);

    /**
     * Video from {@code sourceEndpointId} to this endpoint was suspended (its downlink cannot carry the lowest
     * layer: audio only) or resumed.
     */
    default void videoSuspended(String sourceEndpointId, boolean suspended) {
    }

    /**
     * ICE consent (RFC 7675) of a transport's selected pair expired ({@code fresh} false: the browser's checks
     * stopped for the consent timeout, 30 s; the bridge sends it nothing and the transport's state is
     * {@link TransportState#FAILED}) or was granted again ({@code fresh} true: its checks came back; media resumes
     * and the state returns to {@link TransportState#CONNECTED}). Tells a consent failure, which can heal, from a
     * DTLS failure, which cannot. Called on the bridge's loop just before the state change.
     */
    default void consentChanged(TransportDirection direction, boolean fresh) {
    }

    EndpointListener NONE = new EndpointListener() {
        @Override
        public void subscribeRenegotiationNeeded() {
        }

        @Override
        public void transportStateChanged(TransportDirection direction, TransportState state) {
        }
    };
}
