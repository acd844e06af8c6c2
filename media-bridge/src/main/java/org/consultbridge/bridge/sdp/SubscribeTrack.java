package org.consultbridge.bridge.sdp;

/** One track the bridge sends to a subscriber: one m-line of its subscribe offer. */
public record SubscribeTrack(String mid, String kind, boolean active, long ssrc, long rtxSsrc, String cname,
                             String msidStream, String msidTrack) {
}
