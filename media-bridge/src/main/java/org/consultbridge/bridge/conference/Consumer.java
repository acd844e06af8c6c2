package org.consultbridge.bridge.conference;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.rtp.Vp8Payload;
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
    /**
     * Layer the allocator wants this receiver to get: an index into the producer's streams, or -1 when video to it
     * is suspended (its link cannot carry even the lowest layer).
     */
    int targetLayer;
    /**
     * Layer being forwarded, or -1 before the first keyframe: video forwarding starts, and switches layer, only on
     * a keyframe of the new layer, so the receiver's decoder never starts mid-frame. Audio is always 0.
     */
    int currentLayer = -1;
    long layerSwitches;
    /** Scratch for the allocator. */
    int pendingLayer;
    /** Since when even the lowest layer has not fitted the receiver's estimate (0: it fits). */
    long unfitSinceNanos;
    /** The subscriber cannot take more than this layer (e.g. a small tile); set over signalling. */
    int maxLayer = Integer.MAX_VALUE;

    // Rewriting, so that the receiver sees one continuous stream across layer switches: out = in + offset.
    int seqOffset;
    long tsOffset;
    int pictureIdOffset;
    int tl0PicIdxOffset;
    /** First input sequence number of the current layer: older packets of it predate the switch and are dropped. */
    int switchSeq;
    int lastSeqOut = -1;
    long lastTsOut;
    int lastPictureIdOut = -1;
    int lastTl0PicIdxOut = -1;
    long lastOutNanos;

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
    /** Back-off for the receiver's repeated keyframe requests. */
    final ReceiverKeyframeThrottle receiverKeyframeRequests = new ReceiverKeyframeThrottle();
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
        this.currentLayer = producer.video ? -1 : 0;
        this.targetLayer = producer.video ? producer.streams.length - 1 : 0;
    }

    boolean started() {
        return currentLayer >= 0;
    }

    /** The stream being forwarded, or null. */
    InboundStream currentStream() {
        return currentLayer >= 0 ? producer.streams[currentLayer] : null;
    }

    /** Asks for a keyframe of the layer this receiver gets, or is about to start on ({@link #startLayer}). */
    void requestKeyframe(long nowNanos) {
        int layer = currentLayer >= 0 ? currentLayer : startLayer(nowNanos);
        if (layer >= 0 && layer < producer.streams.length) {
            producer.streams[layer].requestKeyframe(nowNanos);
        }
    }

    /**
     * The layer video to this receiver starts on: the target, unless the target is not flowing while a lower layer
     * is, then the highest flowing layer below it. A browser's simulcast starts with its lower layers only (its
     * bandwidth estimate starts at about 300 kbit/s, which does not reach the top layer's minimum), while a new
     * consumer's target is the top layer until the allocator's next run (every 250 ms) finds what flows: waiting for
     * it, with no keyframe asked of any layer that flows, delayed the receiver's first frame by up to that long. Once
     * started, layers change only to the allocator's target (a switch up needs the target's keyframe, asked for in
     * {@link #admit}). Allocation-free.
     */
    int startLayer(long nowNanos) {
        int target = targetLayer;
        if (target <= 0 || target >= producer.streams.length || producer.streams[target].active(nowNanos)) {
            return target;
        }
        for (int l = target - 1; l >= 0; l--) {
            if (producer.streams[l].active(nowNanos)) {
                return l;
            }
        }
        return target;
    }

    /** Whether a PLI/FIR from this consumer's receiver is passed on to the publisher (see the throttle). */
    boolean acceptReceiverKeyframeRequest(long nowNanos) {
        return receiverKeyframeRequests.accept(nowNanos);
    }

    /**
     * Whether a packet of video stream {@code s} goes to this receiver: one of the layer it receives, or the target
     * layer's keyframe, which switches to that layer ({@link #switchTo}); before the first keyframe also that of the
     * layer to start on ({@link #startLayer}, asked for by {@link #requestKeyframe}). A packet of the target layer
     * that is no keyframe asks for one (PLI, throttled per stream); packets of the current layer older than the
     * keyframe the switch happened on are dropped. Event loop only; allocation-free.
     */
    boolean admit(InboundStream s, ByteBuf pkt, boolean vp8, boolean keyframe, long nowNanos) {
        if (s.layer != currentLayer) {
            if (s.layer != targetLayer) {
                if (currentLayer < 0 && keyframe && s.layer == startLayer(nowNanos)) {
                    switchTo(s, pkt, vp8, nowNanos); // the first frame, from the layer that flows
                    return true;
                }
                return false;
            }
            if (!keyframe) {
                s.requestKeyframe(nowNanos);
                return false;
            }
            switchTo(s, pkt, vp8, nowNanos);
            return true;
        }
        int inSeq = RtpPacket.sequenceNumber(pkt);
        int sinceSwitch = (inSeq - switchSeq) & 0xFFFF;
        if (sinceSwitch >= 0x8000) {
            return false; // older than the keyframe we switched on
        }
        if (sinceSwitch > SWITCH_SEQ_TRAIL) {
            // A 16-bit comparison tells "older" only within half the sequence space: the switch point trails the
            // newest packet, or after 32768 packets of one layer every later packet would look older than it.
            switchSeq = (inSeq - SWITCH_SEQ_TRAIL) & 0xFFFF;
        }
        if (targetLayer != currentLayer && targetLayer >= 0) {
            producer.streams[targetLayer].requestKeyframe(nowNanos);
        }
        return true;
    }

    /**
     * How far the switch point may trail the newest forwarded sequence number: far enough to keep every reordered
     * or retransmitted packet of the current layer, close enough to stay within the 16-bit half range.
     */
    static final int SWITCH_SEQ_TRAIL = 0x4000;

    /** The receiver's sequence number for an input sequence number of the current layer. */
    int outSeq(int inSeq) {
        return (inSeq + seqOffset) & 0xFFFF;
    }

    /** The receiver's RTP timestamp for an input timestamp of the current layer. */
    long outTimestamp(long inTs) {
        return (inTs + tsOffset) & 0xFFFF_FFFFL;
    }

    /**
     * The current layer's input sequence number for a sequence number the receiver saw (a NACK), or -1 when that
     * packet predates the last layer switch (it came from another layer).
     */
    int inputSeq(int outSeq) {
        int in = (outSeq - seqOffset) & 0xFFFF;
        return ((in - switchSeq) & 0xFFFF) >= 0x8000 ? -1 : in;
    }

    /**
     * Starts forwarding {@code s} from its keyframe {@code pkt}. After an earlier layer, the offsets make the new
     * layer continue where the old one stopped: the next sequence number, the timestamp advanced by the wall-clock
     * time since the last packet, the next picture id and TL0PICIDX (as Jitsi Videobridge and mediasoup do).
     */
    void switchTo(InboundStream s, ByteBuf pkt, boolean vp8, long nowNanos) {
        int inSeq = RtpPacket.sequenceNumber(pkt);
        long inTs = RtpPacket.timestamp(pkt);
        if (lastSeqOut >= 0) {
            seqOffset = (lastSeqOut + 1 - inSeq) & 0xFFFF;
            long ticks = Math.max(1, (nowNanos - lastOutNanos) * producer.clockRate / 1_000_000_000L);
            tsOffset = (lastTsOut + ticks - inTs) & 0xFFFF_FFFFL;
            if (vp8) {
                int off = RtpPacket.payloadOffset(pkt);
                int len = RtpPacket.payloadLength(pkt);
                int pos = Vp8Payload.pictureIdPosition(pkt, off, len);
                if (pos >= 0 && lastPictureIdOut >= 0) {
                    pictureIdOffset = (lastPictureIdOut + 1
                            - Vp8Payload.pictureIdAt(pkt, pos)) & 0x7FFF;
                }
                int tl0 = Vp8Payload.tl0PicIdxPosition(pkt, off, len);
                if (tl0 >= 0 && lastTl0PicIdxOut >= 0) {
                    tl0PicIdxOffset = (lastTl0PicIdxOut + 1 - pkt.getUnsignedByte(tl0)) & 0xFF;
                }
            }
        }
        if (currentLayer >= 0 && currentLayer != s.layer) {
            layerSwitches++;
        }
        currentLayer = s.layer;
        switchSeq = inSeq;
    }

    /**
     * A video packet was written to the receiver as {@code out} with {@link #outSeq} / {@link #outTimestamp}: its
     * VP8 picture id and TL0PICIDX are offset in place, and the newest packet is remembered for the next switch.
     */
    void videoSent(ByteBuf out, boolean vp8, int outSeq, long outTs, long nowNanos) {
        boolean newest = lastSeqOut < 0 || ((outSeq - lastSeqOut) & 0xFFFF) < 0x8000;
        if (vp8) {
            rewriteVp8(out, newest);
        }
        if (newest) {
            lastSeqOut = outSeq;
            lastTsOut = outTs;
            lastOutNanos = nowNanos;
        }
    }

    /**
     * Offsets the VP8 picture id (15 bits, or 7 in the width the packet has) and TL0PICIDX (8 bits) of a rewritten
     * packet in place (RFC 7741 §4.2); {@code newest} remembers them for the next switch.
     */
    void rewriteVp8(ByteBuf out, boolean newest) {
        int off = RtpPacket.payloadOffset(out);
        int len = RtpPacket.payloadLength(out);
        int pos = Vp8Payload.pictureIdPosition(out, off, len);
        if (pos >= 0) {
            int pictureId = (Vp8Payload.pictureIdAt(out, pos) + pictureIdOffset) & 0x7FFF;
            Vp8Payload.setPictureIdAt(out, pos, pictureId);
            if (newest) {
                lastPictureIdOut = Vp8Payload.pictureIdAt(out, pos);
            }
        }
        int tl0 = Vp8Payload.tl0PicIdxPosition(out, off, len);
        if (tl0 >= 0) {
            int value = (out.getUnsignedByte(tl0) + tl0PicIdxOffset) & 0xFF;
            out.setByte(tl0, value);
            if (newest) {
                lastTl0PicIdxOut = value;
            }
        }
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
