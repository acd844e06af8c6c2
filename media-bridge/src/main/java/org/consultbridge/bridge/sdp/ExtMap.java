package org.consultbridge.bridge.sdp;

/** a=extmap (RFC 8285 §8): id, URI and an optional direction. */
public record ExtMap(int id, String uri, Direction direction) {
}
