package org.consultbridge.bridge.conference;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.consultbridge.bridge.rtp.RtpReceiveStatistics;
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
    static final String REPAIRED_RID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
    /** Marks a payload type as the RTX of an accepted codec. */
    static final int PT_RTX = -2;
    static final int PT_NONE = -1;
    /** Keyframe requests to a publisher at most this often (RFC 4585 §3.4 asks feedback to be rate-limited). */
    private static final long KEYFRAME_REQUEST_INTERVAL_NANOS = 300_000_000L;

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
    /** Video: recent packets for answering receivers' NACKs. */
    final RetransmissionCache cache;
    /** Highest sequence number seen, for detecting upstream loss (-1 before the first packet). */
    int highestSeq = -1;
    long nacksSent;
    /** Publisher payload type -> codec kind for keyframe detection: 1 VP8, 2 H264, 0 other. */
    final byte[] codecKind = new byte[128];
    final int midExtensionId;
    final int repairedRidExtensionId;

    long ssrc;
    long rtxSsrc;
    RtpReceiveStatistics receiveStats;
    /** Middle 32 bits of the NTP time in the publisher's last SR, and when it arrived (for LSR/DLSR). */
    long lastSrNtpMiddle;
    long lastSrArrivalNanos;
    private long lastKeyframeRequestNanos = Long.MIN_VALUE / 2;
    int firSequence;
    final List<Consumer> consumers = new ArrayList<>();
    Consumer[] consumerArray = new Consumer[0];
    long keyframeRequestsSent;

    Producer(Endpoint owner, PublishedTrack track, io.netty.buffer.ByteBufAllocator alloc) {
        this.owner = owner;
        this.mid = track.mid();
        this.midBytes = track.mid().getBytes(StandardCharsets.UTF_8);
        this.video = "video".equals(track.kind());
        this.track = track;
        this.cache = video ? new RetransmissionCache(alloc) : null;
        Arrays.fill(canonicalPt, PT_NONE);
        Arrays.fill(aptByPt, -1);
        int rate = video ? 90000 : 48000;
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
            }
        }
        this.clockRate = rate;
        this.midExtensionId = track.extensionIds().getOrDefault(MID_URI, 0);
        this.repairedRidExtensionId = track.extensionIds().getOrDefault(REPAIRED_RID_URI, 0);
        if (!track.mediaSsrcs().isEmpty()) {
            bindSsrc(track.mediaSsrcs().get(0));
            Long rtx = track.rtxSsrcByMediaSsrc().get(ssrc);
            if (rtx != null) {
                rtxSsrc = rtx;
            }
        }
    }

    void bindSsrc(long newSsrc) {
        this.ssrc = newSsrc;
        this.receiveStats = new RtpReceiveStatistics(clockRate);
    }

    void release() {
        if (cache != null) {
            cache.release();
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

    /** Asks the publisher for a keyframe (PLI, RFC 4585 §6.3.1), at most once per interval. */
    void requestKeyframe(long nowNanos) {
        if (!video || ssrc == 0 || nowNanos - lastKeyframeRequestNanos < KEYFRAME_REQUEST_INTERVAL_NANOS) {
            return;
        }
        lastKeyframeRequestNanos = nowNanos;
        keyframeRequestsSent++;
        owner.sendPli(this);
    }
}
