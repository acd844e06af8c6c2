package org.consultbridge.bridge.conference;

import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import org.consultbridge.bridge.rtp.RtpReceiveStatistics;

/**
 * One RTP stream a {@link Producer} receives: the only stream of an audio or non-simulcast video m-line, or one
 * simulcast encoding (RFC 8853) of a video m-line, named by its rid (RFC 8851). Layers are numbered from 0, the
 * lowest quality, in the order of the offer's a=simulcast line (the web client lists them low to high).
 * Owned by the bridge's event loop.
 */
final class InboundStream {

    /** A layer counts as flowing when a packet arrived within this time (Chromium pauses layers it cannot afford). */
    static final long ACTIVE_TIMEOUT_NANOS = 1_200_000_000L;
    private static final long RATE_WINDOW_NANOS = 500_000_000L;

    final Producer producer;
    final int layer;
    /** rid of a simulcast encoding, or null. */
    final String rid;
    final byte[] ridBytes;
    long ssrc;
    long rtxSsrc;
    RtpReceiveStatistics receiveStats;
    /** Video: recent packets for answering receivers' NACKs. */
    final RetransmissionCache cache;
    /** Highest sequence number seen, for detecting upstream loss (-1 before the first packet). */
    int highestSeq = -1;
    long nacksSent;
    /** Middle 32 bits of the NTP time in the publisher's last SR for this stream, and when it arrived (LSR/DLSR). */
    long lastSrNtpMiddle;
    long lastSrArrivalNanos;
    long lastPacketNanos;
    private long lastKeyframeRequestNanos = Long.MIN_VALUE / 2;
    long keyframeRequestsSent;
    /** Nanos of the last keyframe start seen on this stream (0 none). */
    long lastKeyframeNanos;
    /** Measured bitrate in bit/s, updated every {@link #RATE_WINDOW_NANOS}. */
    long bitrateBps;
    /**
     * Measured frame rate in frames per 100 s (video: packets with the marker bit, the last packet of a frame,
     * RFC 7741 §4.1), updated with the bit rate; 0 unknown. The allocator's frame-rate preference reads it.
     */
    long frameRateCentiHz;
    private long windowStartNanos;
    private long windowBytes;
    private int windowFrames;
    /** The highest window bitrate of the last {@link #PEAK_WINDOWS} windows (a ring of window rates). */
    private final long[] recentBps = new long[PEAK_WINDOWS];
    private int recentIndex;
    static final int PEAK_WINDOWS = 20;

    InboundStream(Producer producer, int layer, String rid, ByteBufAllocator alloc) {
        this.producer = producer;
        this.layer = layer;
        this.rid = rid;
        this.ridBytes = rid == null ? null : rid.getBytes(StandardCharsets.UTF_8);
        this.cache = producer.video ? new RetransmissionCache(alloc) : null;
    }

    void bindSsrc(long newSsrc) {
        this.ssrc = newSsrc;
        this.receiveStats = new RtpReceiveStatistics(producer.clockRate);
    }

    /** One packet of this stream; {@code endOfFrame}: its marker bit (video) ends a frame. */
    void onPacket(int bytes, boolean endOfFrame, long nowNanos) {
        lastPacketNanos = nowNanos;
        if (nowNanos - windowStartNanos >= RATE_WINDOW_NANOS) {
            long elapsed = nowNanos - windowStartNanos;
            boolean valid = windowStartNanos != 0 && elapsed <= 4 * RATE_WINDOW_NANOS;
            bitrateBps = valid ? windowBytes * 8L * 1_000_000_000L / elapsed : 0;
            frameRateCentiHz = valid ? windowFrames * 100L * 1_000_000_000L / elapsed : 0;
            recentBps[recentIndex] = bitrateBps;
            recentIndex = (recentIndex + 1) % PEAK_WINDOWS;
            windowStartNanos = nowNanos;
            windowBytes = 0;
            windowFrames = 0;
        }
        windowBytes += bytes;
        if (endOfFrame) {
            windowFrames++;
        }
    }

    /** The frame rate to compare layers by (frames per 100 s): measured, or 0 when not flowing or unknown. */
    long frameRate(long nowNanos) {
        return active(nowNanos) ? frameRateCentiHz : 0;
    }

    boolean active(long nowNanos) {
        return ssrc != 0 && lastPacketNanos != 0 && nowNanos - lastPacketNanos < ACTIVE_TIMEOUT_NANOS;
    }

    /** The bitrate to budget for this layer: measured, or 0 when it is not flowing. */
    long bitrate(long nowNanos) {
        return active(nowNanos) ? bitrateBps : 0;
    }

    /**
     * What this layer may need over the next seconds: the highest 2 s average rate of the last 10 s (0 when it is not
     * flowing). An encoder short of CPU or just after a keyframe sends less for a while; an upgrade budgeted on that
     * dip would overrun the receiver's link as soon as the encoder recovers, and the switch's keyframe with it.
     */
    long peakBitrate(long nowNanos) {
        if (!active(nowNanos)) {
            return 0;
        }
        // the highest 2 s average (4 windows): a keyframe makes one 500 ms window spike, which says nothing
        long peak = bitrateBps;
        for (int i = 0; i < PEAK_WINDOWS; i++) {
            long sum = 0;
            for (int k = 0; k < 4; k++) {
                sum += recentBps[(i + k) % PEAK_WINDOWS];
            }
            peak = Math.max(peak, sum / 4);
        }
        return peak;
    }

    /** Asks the publisher for a keyframe on this stream (PLI, RFC 4585 §6.3.1), at most once per interval. */
    void requestKeyframe(long nowNanos) {
        if (!producer.video || ssrc == 0 || nowNanos - lastKeyframeRequestNanos < Producer.KEYFRAME_REQUEST_INTERVAL_NANOS) {
            return;
        }
        lastKeyframeRequestNanos = nowNanos;
        keyframeRequestsSent++;
        producer.owner.sendPli(this);
    }

    void release() {
        if (cache != null) {
            cache.release();
        }
    }
}
