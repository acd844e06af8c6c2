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

    EndpointListener NONE = new EndpointListener() {
        @Override
        public void subscribeRenegotiationNeeded() {
        }

        @Override
        public void transportStateChanged(TransportDirection direction, TransportState state) {
        }
    };
}
