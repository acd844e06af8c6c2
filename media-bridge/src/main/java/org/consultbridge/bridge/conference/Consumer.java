package org.consultbridge.bridge.conference;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import org.consultbridge.bridge.sdp.MediaCapabilities;

/**
 * One outgoing copy of a {@link Producer} to one subscriber: one m-line of the subscriber's subscribe offer, with
 * its own SSRC and the subscriber's header extension ids. Owned by the bridge's event loop.
 */
final class Consumer {

    final Producer producer;
    final Endpoint subscriber;
    final String mid;
    final long ssrc;
    final long rtxSsrc;
    /** Publisher extension id -> subscriber extension id (0 drops it). */
    final byte[] extensionIdMap = new byte[256];
    /** Canonical payload types the subscriber accepted in its answer. */
    final boolean[] acceptedPt = new boolean[128];
    /** The subscriber's answer accepted this m-line: media may flow. */
    boolean negotiated;
    /** False once the producer is gone: the m-line is then offered with port 0. */
    boolean active = true;
    /** Video only: forwarding starts on a keyframe, so the receiver's decoder never starts mid-frame. */
    boolean started;

    long packetsSent;
    long octetsSent;
    /** From the subscriber's receiver reports about this stream. */
    int fractionLost;
    long lastReportNanos;
    long cumulativeLost;
    long jitter;
    /** Round-trip time to the subscriber in 1/65536 s, from LSR/DLSR of its RR (RFC 3550 §6.4.1); -1 unknown. */
    long rttUnits = -1;
    long keyframeRequestsReceived;
    long nacksReceived;
    long retransmissionsSent;
    /** Sequence numbers of this consumer's RTX stream (RFC 4588 §4: its own sequence space). */
    int rtxSeq = java.util.concurrent.ThreadLocalRandom.current().nextInt(1 << 16);

    Consumer(Producer producer, Endpoint subscriber, String mid, long ssrc, long rtxSsrc) {
        this.producer = producer;
        this.subscriber = subscriber;
        this.mid = mid;
        this.ssrc = ssrc;
        this.rtxSsrc = rtxSsrc;
        this.started = !producer.video;
    }

    /** Applies the subscriber's answer: which payload types it takes and which extension ids it uses. */
    void applyAnswer(Set<Integer> acceptedPayloadTypes, Map<String, Integer> subscriberExtensionIds) {
        Arrays.fill(acceptedPt, false);
        for (int pt : acceptedPayloadTypes) {
            if (pt >= 0 && pt < 128) {
                acceptedPt[pt] = true;
            }
        }
        Arrays.fill(extensionIdMap, (byte) 0);
        for (Map.Entry<String, Integer> e : producer.track.extensionIds().entrySet()) {
            Integer subscriberId = subscriberExtensionIds.get(e.getKey());
            if (subscriberId != null && MediaCapabilities.forwardsExtension(e.getKey(), producer.video)
                    && e.getValue() > 0 && e.getValue() < 256) {
                extensionIdMap[e.getValue()] = (byte) (int) subscriberId;
            }
        }
        negotiated = true;
    }
}
