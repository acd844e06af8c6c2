package org.consultbridge.loadtest;

import io.netty.buffer.ByteBuf;
import io.netty.util.collection.LongObjectHashMap;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.cc.TransportCcFeedback;
import org.consultbridge.bridge.cc.TransportCcReceiver;
import org.consultbridge.bridge.rtcp.NtpTime;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.consultbridge.bridge.rtcp.RtcpWriter;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.rtp.RtpReceiveStatistics;
import org.consultbridge.bridge.rtp.Vp8Payload;
import org.consultbridge.bridge.sdp.MediaDescription;
import org.consultbridge.bridge.sdp.RtpCodec;
import org.consultbridge.bridge.sdp.SdpException;
import org.consultbridge.bridge.sdp.SessionDescription;
import org.consultbridge.bridge.sdp.SsrcGroup;

/**
 * The receiving side of one simulated participant (its subscribe peer connection), measuring what arrives and
 * sending back the feedback Chromium sends:
 * <ul>
 *   <li>transport-wide congestion control feedback when the offer negotiated the extension
 *       (draft-holmer-rmcat-transport-wide-cc-extensions-01), every {@value #FEEDBACK_INTERVAL_MS} ms, written by
 *       media-bridge's {@link TransportCcReceiver} (the bridge's own receive side: one implementation);
 *   <li>receiver reports once a second (RFC 3550 §6.4.2), with LSR/DLSR from the sender reports received;
 *   <li>generic NACK for video sequence gaps (RFC 4585 §6.2.1), at once and then again every
 *       {@value #NACK_RETRY_MS} ms up to {@value #NACK_RETRIES} times, for at most {@value #MAX_MISSING} packets
 *       per stream: libwebrtc's NackRequester (retries, a bounded list, a keyframe request when it overflows);
 *   <li>PLI (RFC 4585 §6.3.1) when a video stream starts without a keyframe, when a missing packet is given up
 *       (the frame cannot be decoded) or the NACK list overflows, repeated every {@value #PLI_RETRY_MS} ms while
 *       no keyframe comes, as Chromium's receive stream keeps asking while it waits.
 * </ul>
 * Retransmissions (RTX, RFC 4588, mapped through the offer's {@code a=ssrc-group:FID}) recover missing packets;
 * padding-only RTX (the bridge's bandwidth probes) is only acknowledged in transport-cc feedback.
 *
 * <p>All state is owned by the peer's event loop; nothing here allocates per packet (pooled buffers for RTCP, the
 * stream map grows once per new SSRC).
 */
final class MediaReceiver implements MediaPeer.Receiver {

    static final int FEEDBACK_INTERVAL_MS = 50;
    static final int NACK_RETRY_MS = 100;
    static final int NACK_RETRIES = 10;
    static final int MAX_MISSING = 64;
    static final int PLI_RETRY_MS = 300;
    private static final long REPORT_INTERVAL_NANOS = 1_000_000_000L;

    /** What the subscribe offer says about the streams: parsed on the signalling thread, read on the loop. */
    record Layout(int transportCcId, boolean[] audioPt, boolean[] rtxPt, long[] rtxSsrc, long[] mediaSsrcOfRtx) {

        static final Layout EMPTY = new Layout(0, new boolean[128], new boolean[128], new long[0], new long[0]);

        static Layout of(String offerSdp) throws SdpException {
            SessionDescription d = SessionDescription.parse(offerSdp);
            int twcc = 0;
            boolean[] audio = new boolean[128];
            boolean[] rtx = new boolean[128];
            List<long[]> pairs = new java.util.ArrayList<>();
            for (MediaDescription m : d.media()) {
                if (m.port() == 0) {
                    continue;
                }
                for (var e : m.extensions()) {
                    if (e.uri().contains("transport-wide-cc-extensions-01")) {
                        twcc = e.id();
                    }
                }
                for (RtpCodec c : m.codecs()) {
                    if (c.pt() >= 0 && c.pt() < 128) {
                        audio[c.pt()] |= m.kind().equals("audio");
                        rtx[c.pt()] |= c.isRtx();
                    }
                }
                for (SsrcGroup g : m.ssrcGroups()) {
                    if (g.semantics().equals("FID") && g.ssrcs().size() == 2) {
                        pairs.add(new long[] {g.ssrcs().get(1), g.ssrcs().get(0)});
                    }
                }
            }
            long[] r = new long[pairs.size()];
            long[] media = new long[pairs.size()];
            for (int i = 0; i < r.length; i++) {
                r[i] = pairs.get(i)[0];
                media[i] = pairs.get(i)[1];
            }
            return new Layout(twcc, audio, rtx, r, media);
        }

        long mediaSsrcOf(long rtx) {
            for (int i = 0; i < rtxSsrc.length; i++) {
                if (rtxSsrc[i] == rtx) {
                    return mediaSsrc(i);
                }
            }
            return -1;
        }

        private long mediaSsrc(int i) {
            return mediaSsrcOfRtx[i];
        }
    }

    /** Called on the loop: the first two once each, {@code heard} once per new stream. */
    interface Milestones {
        void firstMedia(long nowNanos);

        void firstKeyframe(long nowNanos);

        /** A stream from the participant whose {@link SimParticipant#tag} is {@code senderTag} started. */
        void heard(int senderTag, boolean video);
    }


    private static final class Stream {
        final RtpReceiveStatistics stats;
        final boolean video;
        final long ssrc;
        long highest = -1;
        /** Either end of this stream is behind an emulated link: measured apart from the objectives. */
        boolean impaired;
        boolean classified;
        boolean haveKeyframe;
        boolean waitingForKeyframe;
        long lastPliNanos;
        /** The last sender report for this stream (RFC 3550 §6.4.1 LSR) and when it arrived; 0: none yet. */
        long lastSrMiddle;
        long lastSrArrivalNanos;
        // NACK list: missing extended sequence numbers, unordered, at most MAX_MISSING
        final long[] missing;
        final long[] lastNackNanos;
        final int[] retries;
        int missingCount;

        Stream(long ssrc, boolean video) {
            this.ssrc = ssrc;
            this.video = video;
            this.stats = new RtpReceiveStatistics(video ? 90000 : 48000);
            this.missing = video ? new long[MAX_MISSING] : null;
            this.lastNackNanos = video ? new long[MAX_MISSING] : null;
            this.retries = video ? new int[MAX_MISSING] : null;
        }

        int indexOfMissing(long ext) {
            for (int i = 0; i < missingCount; i++) {
                if (missing[i] == ext) {
                    return i;
                }
            }
            return -1;
        }

        void removeMissingAt(int i) {
            missingCount--;
            missing[i] = missing[missingCount];
            lastNackNanos[i] = lastNackNanos[missingCount];
            retries[i] = retries[missingCount];
        }
    }

    private final Metrics metrics;
    private final long rtcpSsrc;
    private final boolean selfImpaired;
    private final Milestones milestones;
    private final LongObjectHashMap<Stream> streams = new LongObjectHashMap<>();
    private final TransportCcReceiver twcc = new TransportCcReceiver();
    private final int[] nackScratch = new int[MAX_MISSING];
    private volatile Layout layout = Layout.EMPTY;
    private RtcpSink peer;
    private ScheduledFuture<?> tick;
    private long lastReportNanos;
    private boolean firstMedia;
    private boolean firstKeyframe;

    MediaReceiver(Metrics metrics, long rtcpSsrc, boolean selfImpaired, Milestones milestones) {
        this.metrics = metrics;
        this.rtcpSsrc = rtcpSsrc;
        this.selfImpaired = selfImpaired;
        this.milestones = milestones;
    }

    /** The streams as the latest subscribe offer describes them (any thread). */
    void setLayout(Layout l) {
        layout = l;
    }

    /** Once the peer is connected: the feedback timer starts on its loop. */
    void start(MediaPeer connected) {
        connected.loop().execute(() -> {
            attach(connected, System.nanoTime());
            tick = connected.loop().scheduleAtFixedRate(() -> onTick(System.nanoTime()), FEEDBACK_INTERVAL_MS,
                    FEEDBACK_INTERVAL_MS, TimeUnit.MILLISECONDS);
        });
    }

    /** Feedback goes to {@code sink} from now on (on the loop; tests call it directly and drive {@link #onTick}). */
    void attach(RtcpSink sink, long nowNanos) {
        peer = sink;
        lastReportNanos = nowNanos;
    }

    void stop() {
        ScheduledFuture<?> t = tick;
        if (t != null) {
            t.cancel(false);
        }
    }

    @Override
    public void onRtp(ByteBuf rtp, long now) {
        if (!RtpPacket.isValidRtp(rtp)) {
            metrics.malformed.increment();
            return;
        }
        Layout l = layout;
        if (l.transportCcId() != 0) {
            int tseq = TransportCcFeedback.readSequenceNumber(rtp, l.transportCcId());
            if (tseq >= 0) {
                twcc.onPacket(tseq, now);
            }
        }
        int pt = RtpPacket.payloadType(rtp);
        long ssrc = RtpPacket.ssrc(rtp);
        if (l.rtxPt()[pt]) {
            onRtx(rtp, ssrc, l);
            return;
        }
        Stream s = streams.get(ssrc);
        if (s == null) {
            s = new Stream(ssrc, !l.audioPt()[pt]);
            streams.put(ssrc, s);
        }
        int seq = RtpPacket.sequenceNumber(rtp);
        s.stats.onPacket(seq, RtpPacket.timestamp(rtp), now);
        int off = RtpPacket.payloadOffset(rtp);
        int len = RtpPacket.payloadLength(rtp);
        int flags = -1;
        for (int i = off; i <= off + Math.min(len - SimParticipant.MARKER_BYTES, 16); i++) {
            if (rtp.getInt(i) == SimParticipant.MAGIC) {
                long sent = rtp.getLong(i + 4);
                flags = rtp.getUnsignedByte(i + 12);
                if (!s.classified) {
                    s.classified = true;
                    s.impaired = selfImpaired || (flags & SimParticipant.FLAG_IMPAIRED) != 0;
                    if (i + 17 <= off + len) {
                        milestones.heard(rtp.getInt(i + 13), s.video);
                    }
                }
                (s.impaired ? metrics.impairedLatency : metrics.latency).record(now - sent);
                break;
            }
        }
        if (!s.classified) { // no marker (not our media): classify by our own link alone
            s.classified = true;
            s.impaired = selfImpaired;
        }
        if (s.impaired) {
            metrics.impairedPacketsReceived.increment();
        } else {
            metrics.packetsReceived.increment();
        }
        if (s.highest < 0) {
            s.highest = seq;
            count(s, 1);
        } else {
            long ext = s.highest + (short) (seq - (int) (s.highest & 0xFFFF)); // unwrap around the newest
            if (ext > s.highest) {
                count(s, ext - s.highest);
                if (ext - s.highest > 1 && s.video) {
                    onGap(s, s.highest + 1, ext, now);
                }
                s.highest = ext;
            } else if (s.video) {
                int i = s.indexOfMissing(ext);
                if (i >= 0) {
                    s.removeMissingAt(i); // arrived late: reordered, not lost
                }
            }
        }
        if (!firstMedia) {
            firstMedia = true;
            milestones.firstMedia(now);
        }
        if (s.video) {
            if ((rtp.getUnsignedByte(off) & 0x10) != 0 && flags >= 0) { // S bit: a frame starts
                metrics.videoFrames.increment();
                if ((flags & SimParticipant.FLAG_TOP_LAYER) != 0) {
                    metrics.videoFramesTopLayer.increment();
                }
            }
            if (Vp8Payload.isKeyframe(rtp, off, len)) {
                s.haveKeyframe = true;
                s.waitingForKeyframe = false;
                if (!firstKeyframe) {
                    firstKeyframe = true;
                    milestones.firstKeyframe(now);
                }
            } else if (!s.haveKeyframe && !s.waitingForKeyframe) {
                requestKeyframe(s, now); // joined mid-stream: nothing decodes until a keyframe
            }
        }
    }

    private void count(Stream s, long expected) {
        (s.impaired ? metrics.impairedPacketsExpected : metrics.packetsExpected).add(expected);
    }

    /** RFC 4588 §4: the original sequence number leads the payload; a packet with no payload is padding. */
    private void onRtx(ByteBuf rtp, long ssrc, Layout l) {
        if (RtpPacket.payloadLength(rtp) < 2) {
            metrics.paddingReceived.increment();
            return;
        }
        metrics.rtxReceived.increment();
        Stream s = streams.get(l.mediaSsrcOf(ssrc));
        if (s == null || !s.video || s.highest < 0) {
            return;
        }
        int osn = rtp.getUnsignedShort(RtpPacket.payloadOffset(rtp));
        long ext = s.highest + (short) (osn - (int) (s.highest & 0xFFFF));
        int i = s.indexOfMissing(ext);
        if (i >= 0) {
            s.removeMissingAt(i);
            metrics.recovered.increment();
            if (s.impaired) {
                metrics.impairedPacketsReceived.increment();
            } else {
                metrics.packetsReceived.increment();
            }
        }
    }

    /** Sequence numbers {@code from} up to {@code toExclusive} are missing: NACK them now, or give up on the frame. */
    private void onGap(Stream s, long from, long toExclusive, long now) {
        long n = toExclusive - from;
        if (s.missingCount + n > MAX_MISSING) {
            // libwebrtc clears an overflowing NACK list and asks for a keyframe instead
            s.missingCount = 0;
            requestKeyframe(s, now);
            return;
        }
        int count = 0;
        for (long e = from; e < toExclusive; e++) {
            int i = s.missingCount++;
            s.missing[i] = e;
            s.lastNackNanos[i] = now;
            s.retries[i] = 1;
            nackScratch[count++] = (int) (e & 0xFFFF);
        }
        sendNack(s, count);
    }

    private void sendNack(Stream s, int count) {
        RtcpSink p = peer;
        if (p == null || count == 0) {
            return;
        }
        ByteBuf b = p.allocate(12 + 4 * count);
        RtcpWriter.writeNack(b, rtcpSsrc, s.ssrc, nackScratch, count);
        p.sendRtcp(b);
        metrics.nacksSent.increment();
    }

    private void requestKeyframe(Stream s, long now) {
        s.waitingForKeyframe = true;
        s.lastPliNanos = now;
        RtcpSink p = peer;
        if (p == null) {
            return;
        }
        ByteBuf b = p.allocate(12);
        RtcpWriter.writePli(b, rtcpSsrc, s.ssrc);
        p.sendRtcp(b);
        metrics.plisSent.increment();
    }

    /** Every {@value #FEEDBACK_INTERVAL_MS} ms on the loop: transport-cc, NACK retries, PLI retries, reports. */
    void onTick(long now) {
        RtcpSink p = peer;
        if (p == null || !p.isConnected()) {
            return;
        }
        if (layout.transportCcId() != 0) {
            ByteBuf fb = p.allocate(TransportCcFeedback.DEFAULT_MAX_PACKET_BYTES * 2);
            // the media SSRC field is unused by the receiver of the feedback; Chromium writes its first remote SSRC
            if (twcc.writeFeedback(fb, rtcpSsrc, 0, now) > 0) {
                p.sendRtcp(fb);
                metrics.transportCcSent.increment();
            } else {
                fb.release();
            }
        }
        for (Stream s : streams.values()) {
            if (!s.video) {
                continue;
            }
            int count = 0;
            for (int i = 0; i < s.missingCount; ) {
                if (now - s.lastNackNanos[i] >= NACK_RETRY_MS * 1_000_000L) {
                    if (s.retries[i] >= NACK_RETRIES) {
                        s.removeMissingAt(i); // given up: that frame is lost, the decoder needs a keyframe
                        if (!s.waitingForKeyframe) {
                            requestKeyframe(s, now);
                        }
                        continue;
                    }
                    s.retries[i]++;
                    s.lastNackNanos[i] = now;
                    nackScratch[count++] = (int) (s.missing[i] & 0xFFFF);
                }
                i++;
            }
            if (count > 0) {
                sortSequence(nackScratch, count);
                sendNack(s, count);
            }
            if (s.waitingForKeyframe && now - s.lastPliNanos >= PLI_RETRY_MS * 1_000_000L) {
                requestKeyframe(s, now);
            }
        }
        if (now - lastReportNanos >= REPORT_INTERVAL_NANOS) {
            lastReportNanos = now;
            sendReport(p, now);
        }
        p.flush();
    }

    /** Insertion sort by 16-bit sequence distance, so PID + BLP packing groups neighbours (at most 64 entries). */
    private static void sortSequence(int[] a, int n) {
        for (int i = 1; i < n; i++) {
            int v = a[i];
            int j = i - 1;
            while (j >= 0 && (short) (a[j] - v) > 0) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
        }
    }

    /** RFC 3550 §6.4.2: one receiver report block per stream received (at most 31). */
    private void sendReport(RtcpSink p, long now) {
        if (streams.isEmpty()) {
            return;
        }
        int count = Math.min(31, streams.size());
        ByteBuf b = p.allocate(8 + 24 * count);
        RtcpWriter.writeReceiverReport(b, rtcpSsrc, count);
        int i = 0;
        for (LongObjectHashMap.PrimitiveEntry<Stream> e : streams.entries()) {
            if (i++ == count) {
                break;
            }
            Stream s = e.value();
            RtpReceiveStatistics st = s.stats;
            // RFC 3550 §6.4.1: DLSR in 1/65536 s since that sender report arrived
            long dlsr = s.lastSrMiddle == 0 ? 0 : (now - s.lastSrArrivalNanos) * 65536 / 1_000_000_000L;
            RtcpWriter.writeReportBlock(b, e.key(), st.fractionLostSinceLastReport(), st.cumulativeLost(),
                    st.extendedHighestSeq(), st.jitterRtpUnits(), s.lastSrMiddle, dlsr);
        }
        p.sendRtcp(b);
        metrics.reportsSent.increment();
    }

    /** Sender reports: remembered per stream, so receiver reports carry LSR and DLSR and the sender gets its RTT. */
    @Override
    public void onRtcp(ByteBuf rtcp) {
        long now = System.nanoTime();
        int off = rtcp.readerIndex();
        while (off + 4 <= rtcp.writerIndex()) {
            if (RtcpPacket.packetType(rtcp, off) == RtcpPacket.SR && off + 28 <= rtcp.writerIndex()) {
                Stream s = streams.get(RtcpPacket.senderSsrc(rtcp, off));
                if (s != null) {
                    s.lastSrMiddle = NtpTime.middle32(RtcpPacket.srNtp(rtcp, off));
                    s.lastSrArrivalNanos = now;
                }
            }
            off += RtcpPacket.lengthBytes(rtcp, off);
        }
    }
}
