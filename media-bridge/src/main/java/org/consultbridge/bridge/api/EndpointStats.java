package org.consultbridge.bridge.api;

/**
 * Counters of one endpoint, from the bridge's point of view.
 *
 * @param rtpPacketsReceived SRTP packets received from this endpoint and decrypted
 * @param rtpPacketsSent     SRTP packets the bridge sent to this endpoint (forwarded from others)
 */
public record EndpointStats(
        String endpointId,
        TransportState publishState,
        TransportState subscribeState,
        long rtpPacketsReceived,
        long rtpBytesReceived,
        long rtpPacketsSent,
        long rtpBytesSent,
        long rtcpPacketsReceived,
        long rtcpPacketsSent) {
}
