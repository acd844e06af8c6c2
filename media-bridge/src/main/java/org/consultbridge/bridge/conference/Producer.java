package org.consultbridge.bridge.conference;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.consultbridge.bridge.sdp.MediaCapabilities;
import org.consultbridge.bridge.sdp.PublishedTrack;
import org.consultbridge.bridge.sdp.RtpCodec;

/**
 * One incoming media source of an endpoint (one sendonly m-line of its publish offer): audio, or video.
 * Knows how the publisher labels its packets (payload types, header extension ids, SSRCs) and translates them to
 * the bridge's canonical payload types, which every subscribe offer uses.
 */
final class Producer {

    static final String MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid";
    static final String RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
    static final String REPAIRED_RID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
    /** Marks a payload type as the RTX of an accepted codec. */
    static final int PT_RTX = -2;
    static final int PT_NONE = -1;
    /** Keyframe requests to a publisher at most this often (RFC 4585 §3.4 asks feedback to be rate-limited). */
    static final long KEYFRAME_REQUEST_INTERVAL_NANOS = 300_000_000L;

    final Endpoint owner;
    final String mid;
    final byte[] midBytes;
    final boolean video;
    final PublishedTrack track;
    final int clockRate;
    /** Publisher payload type -> bridge canonical payload type, or PT_RTX / PT_NONE. */
    final int[] canonicalPt = new int[128];
    /** Publisher RTX payload type -> its associated publisher payload type (RFC 4588 apt), or -1. */
    final int[] aptByPt = new int[128];
    /** Publisher payload type -> codec kind for keyframe detection: 1 VP8, 2 H264, 0 other. */
    final byte[] codecKind = new byte[128];
    /** The publisher's Opus payload type (the block type inside its RED packets), or -1. */
    final int opusPt;
    final int midExtensionId;
    final int ridExtensionId;
    final int repairedRidExtensionId;
    /** The streams this m-line carries: one, or one per simulcast layer, lowest quality first. */
    final InboundStream[] streams;
    final boolean simulcast;
    final List<Consumer> consumers = new ArrayList<>();
    Consumer[] consumerArray = new Consumer[0];

    Producer(Endpoint owner, PublishedTrack track, io.netty.buffer.ByteBufAllocator alloc) {
        this.owner = owner;
        this.mid = track.mid();
        this.midBytes = track.mid().getBytes(StandardCharsets.UTF_8);
        this.video = "video".equals(track.kind());
        this.track = track;
        Arrays.fill(canonicalPt, PT_NONE);
        Arrays.fill(aptByPt, -1);
        int rate = video ? 90000 : 48000;
        int opus = -1;
        for (RtpCodec codec : track.codecs()) {
            if (codec.pt() < 0 || codec.pt() > 127) {
                continue;
            }
            if (codec.isRtx()) {
                canonicalPt[codec.pt()] = PT_RTX;
                if (codec.apt() >= 0 && codec.apt() < 128) {
                    aptByPt[codec.pt()] = codec.apt();
                }
                continue;
            }
            String name = codec.name().toUpperCase(Locale.ROOT);
            int canonical = MediaCapabilities.canonicalPayloadType(name);
            if (canonical >= 0) {
                canonicalPt[codec.pt()] = canonical;
                codecKind[codec.pt()] = (byte) ("VP8".equals(name) ? 1 : "H264".equals(name) ? 2 : 0);
                rate = codec.clockRate();
                if ("OPUS".equals(name)) {
                    opus = codec.pt();
                }
            }
        }
        this.clockRate = rate;
        this.opusPt = opus;
        this.midExtensionId = track.extensionIds().getOrDefault(MID_URI, 0);
        this.ridExtensionId = track.extensionIds().getOrDefault(RID_URI, 0);
        this.repairedRidExtensionId = track.extensionIds().getOrDefault(REPAIRED_RID_URI, 0);
        List<String> rids = video ? track.rids() : List.of();
        this.simulcast = rids.size() > 1;
        if (simulcast) {
            // RFC 8853: each encoding is one stream, bound to its layer by the rid header extension (RFC 8852)
            streams = new InboundStream[rids.size()];
            for (int i = 0; i < streams.length; i++) {
                streams[i] = new InboundStream(this, i, rids.get(i), alloc);
            }
        } else {
            streams = new InboundStream[] {new InboundStream(this, 0, rids.isEmpty() ? null : rids.get(0), alloc)};
            if (!track.mediaSsrcs().isEmpty()) {
                InboundStream s = streams[0];
                s.bindSsrc(track.mediaSsrcs().get(0));
                Long rtx = track.rtxSsrcByMediaSsrc().get(s.ssrc);
                if (rtx != null) {
                    s.rtxSsrc = rtx;
                }
            }
        }
    }

    void release() {
        for (InboundStream s : streams) {
            s.release();
        }
    }

    void addConsumer(Consumer c) {
        consumers.add(c);
        consumerArray = consumers.toArray(new Consumer[0]);
    }

    void removeConsumer(Consumer c) {
        consumers.remove(c);
        consumerArray = consumers.toArray(new Consumer[0]);
    }

    /** The highest layer that is flowing, or -1 when none is. */
    int highestActiveLayer(long nowNanos) {
        for (int i = streams.length - 1; i >= 0; i--) {
            if (streams[i].active(nowNanos)) {
                return i;
            }
        }
        return -1;
    }
}
