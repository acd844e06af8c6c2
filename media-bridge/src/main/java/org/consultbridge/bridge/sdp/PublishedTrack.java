package org.consultbridge.bridge.sdp;

import java.util.List;
import java.util.Map;

/** One accepted sendonly m-line of a publisher: everything the bridge needs to receive and forward it. */
public record PublishedTrack(String mid, String kind, String msidStream, String msidTrack, List<RtpCodec> codecs,
                             Map<String, Integer> extensionIds, List<Long> mediaSsrcs,
                             Map<Long, Long> rtxSsrcByMediaSsrc, List<String> rids) {
}
