package org.consultbridge.bridge.api;

import java.util.List;

/**
 * What one endpoint receives and how its downlink is doing, as the bridge sees it.
 *
 * @param estimatedDownlinkBps the bridge's estimate of the endpoint's downlink, or -1 while unknown
 * @param fractionLost         loss the endpoint reports on what the bridge sends (0..1), from its receiver reports
 * @param rttMillis            round-trip time bridge-endpoint from RTCP, or -1 while unknown
 * @param videos               per received video
 */
public record ReceiveQuality(long estimatedDownlinkBps, double fractionLost, long rttMillis, List<ReceivedVideo> videos) {

    /**
     * One received video.
     *
     * @param sourceEndpointId whose video
     * @param layer            simulcast layer forwarded now (0 lowest), -1 none
     * @param targetLayer      layer the allocator chose, -1 when suspended
     * @param layers           layers the source sends
     * @param suspended        video to this endpoint paused because its link cannot carry the lowest layer
     * @param bitrateBps       bit rate of the layer forwarded now
     */
    public record ReceivedVideo(String sourceEndpointId, int layer, int targetLayer, int layers, boolean suspended,
                                long bitrateBps) {
    }
}
