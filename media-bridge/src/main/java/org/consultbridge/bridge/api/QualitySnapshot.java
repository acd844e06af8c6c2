package org.consultbridge.bridge.api;

import java.util.List;

/**
 * A read-only picture of the bridge's media quality, gathered in one pass on the event loop (for metrics and the
 * ops dashboard). Counters are cumulative since the bridge started (bridge-wide) or since the endpoint was created
 * (per endpoint); rates are what the bridge measured over its last half-second window.
 *
 * @param bound               the UDP socket is open (the bridge can take media)
 * @param rtpBytesReceived    SRTP payload bytes received and decrypted (all endpoints, since start)
 * @param rtpBytesForwarded   SRTP bytes sent (forwarded, RTX and probes)
 * @param nacksReceived       generic NACK packets from receivers (still-existing and gone consumers)
 * @param nacksSent           generic NACKs the bridge sent to publishers
 * @param retransmissionsSent RTX packets sent to receivers in answer to NACKs
 * @param keyframeRequestsReceived PLI/FIR from receivers
 * @param keyframeRequestsSent     PLIs the bridge sent to publishers
 * @param layerSwitches       simulcast layer switches done for receivers
 * @param iceFailures         transports that failed ICE (consent) since start
 * @param dtlsFailures        DTLS handshakes that failed since start
 * @param endpoints           one entry per endpoint now on the bridge
 */
public record QualitySnapshot(
        long takenAtNanos,
        boolean bound,
        long rtpBytesReceived,
        long rtpBytesForwarded,
        long nacksReceived,
        long nacksSent,
        long retransmissionsSent,
        long keyframeRequestsReceived,
        long keyframeRequestsSent,
        long layerSwitches,
        long iceFailures,
        long dtlsFailures,
        List<EndpointQuality> endpoints) {

    /**
     * One endpoint. "Downlink" is what the bridge sends to it (from its receiver reports and transport-cc
     * feedback), "uplink" what it publishes to the bridge (the bridge's own receive statistics).
     *
     * @param publishConnectedAtNanos when its publish transport first connected (ICE, DTLS done, SRTP keyed: media
     *                                can flow), {@link System#nanoTime()} of this JVM; 0 not yet
     * @param estimatedDownlinkBps    the bridge's bandwidth estimate for this receiver, -1 unknown
     * @param downlinkFractionLost    worst loss (0..1) in its receiver reports of the last 5 s, -1 none
     * @param downlinkJitterMillis    worst interarrival jitter it reports on the audio it receives, -1 none (video
     *                                jitter mostly measures frame pacing, so it is left out)
     * @param rttMillis               worst round-trip time bridge-endpoint from RTCP, -1 unknown
     * @param uplinkJitterMillis      jitter of its published audio as the bridge measures it, -1 none
     * @param uplinkPacketsExpected   RTP packets the bridge expected from it since the endpoint was created (what
     *                                each of its streams' extended highest sequence number range grew by between
     *                                snapshots; only grows, also when streams start late, restart or go away); with
     *                                {@code uplinkPacketsLost} the caller computes loss between two snapshots
     * @param uplinkPacketsLost       of those, packets its link lost (their original never arrived), counted
     *                                before the bridge's NACK/RTX repair: the link's loss, not what receivers miss;
     *                                only grows
     * @param publishBitrateBps       what it publishes now (sum of its flowing streams)
     * @param receiveBitrateBps       what the bridge forwards to it now (sum of the layers it gets)
     * @param videos                  videos it receives
     */
    public record EndpointQuality(
            String conferenceId,
            String endpointId,
            TransportState publishState,
            TransportState subscribeState,
            long publishConnectedAtNanos,
            long rtpBytesReceived,
            long rtpBytesSent,
            long estimatedDownlinkBps,
            double downlinkFractionLost,
            double downlinkJitterMillis,
            long rttMillis,
            double uplinkJitterMillis,
            long uplinkPacketsExpected,
            long uplinkPacketsLost,
            long publishBitrateBps,
            long receiveBitrateBps,
            long nacksReceived,
            long retransmissionsSent,
            long keyframeRequestsReceived,
            List<ReceiveQuality.ReceivedVideo> videos) {
    }
}
