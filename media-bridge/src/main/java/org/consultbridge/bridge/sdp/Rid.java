package org.consultbridge.bridge.sdp;

import java.util.Map;

/** a=rid (RFC 8851 §4): id, direction and restrictions. */
public record Rid(String id, String direction, Map<String, String> params) {
}
