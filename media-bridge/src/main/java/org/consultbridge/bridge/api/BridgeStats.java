package org.consultbridge.bridge.api;

import java.util.Map;

/**
 * Counters of the whole bridge.
 *
 * @param droppedByReason datagrams dropped, by reason (e.g. "malformed", "stun-integrity", "unknown-address",
 *                        "srtp-auth", "no-keys"); never an exception in the loop
 */
public record BridgeStats(
        int conferences,
        int endpoints,
        long datagramsReceived,
        long rtpPacketsReceived,
        long rtpPacketsForwarded,
        long rtcpPacketsReceived,
        Map<String, Long> droppedByReason) {
}
