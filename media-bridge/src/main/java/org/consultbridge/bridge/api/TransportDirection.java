package org.consultbridge.bridge.api;

/** Which of an endpoint's two transports: the one the browser publishes on, or the one it subscribes on. */
public enum TransportDirection {
    PUBLISH,
    SUBSCRIBE
}
