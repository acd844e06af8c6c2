package org.consultbridge.bridge.conference;

import io.netty.buffer.ByteBuf;
import io.netty.util.collection.LongObjectHashMap;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.EndpointStats;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.dtls.DtlsRole;
import org.consultbridge.bridge.rtcp.NtpTime;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.consultbridge.bridge.rtcp.RtcpWriter;
import org.consultbridge.bridge.rtp.H264Payload;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.rtp.RtpRewriter;
import org.consultbridge.bridge.rtp.Vp8Payload;
import org.consultbridge.bridge.sdp.MediaCapabilities;
import org.consultbridge.bridge.sdp.PublishAnswer;
import org.consultbridge.bridge.sdp.PublishNegotiation;
import org.consultbridge.bridge.sdp.PublishedTrack;
import org.consultbridge.bridge.sdp.SdpException;
import org.consultbridge.bridge.sdp.Setup;
import org.consultbridge.bridge.sdp.SubscribeAnswer;
import org.consultbridge.bridge.sdp.SubscribeNegotiation;
import org.consultbridge.bridge.sdp.SubscribeTrack;
import org.consultbridge.bridge.srtp.SrtpTransformer;
import org.consultbridge.bridge.transport.DropReason;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One participant on the bridge: a publish transport (its producers) and a subscribe transport (its consumers of
 * everybody else's producers). All methods named {@code on*} and the package-private ones run on the bridge's
 * event loop; the public {@link BridgeEndpoint} methods hop onto it.
 */
final class Endpoint implements BridgeEndpoint {

    private static final Logger LOG = LoggerFactory.getLogger(Endpoint.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** RTP header growth allowed when extensions are re-encoded (one-byte to two-byte form), plus SRTP trailer. */
    private static final int REWRITE_HEADROOM = 64;

    private final SfuBridge bridge;
    final Conference conference;
    private final String id;
    private final EndpointListener listener;
    final String cname;

    final Transport publish;
    Transport subscribe;

    private final Map<String, Producer> producersByMid = new LinkedHashMap<>();
    private final LongObjectHashMap<Producer> producersBySsrc = new LongObjectHashMap<>();
    private boolean publishNegotiated;

    /** Consumers in the order of the subscribe offer's m-lines (m-lines are never removed, only disabled). */
    private final List<Consumer> consumers = new ArrayList<>();
    private final LongObjectHashMap<Consumer> consumersBySsrc = new LongObjectHashMap<>();
    private int nextSubscribeMid;
    private final long subscribeSessionId = RANDOM.nextLong() & Long.MAX_VALUE;
    private long subscribeSessionVersion;
    private List<SubscribeTrack> offeredTracks;
    private boolean subscribeDirty;
    private boolean subscribeTransportUsed;
    private boolean closed;

    Endpoint(SfuBridge bridge, Conference conference, String id, EndpointListener listener) {
        this.bridge = bridge;
        this.conference = conference;
        this.id = id;
        this.listener = listener;
        this.cname = "cb-" + Integer.toHexString(RANDOM.nextInt());
        this.publish = bridge.newTransport(this, TransportDirection.PUBLISH);
        this.subscribe = bridge.newTransport(this, TransportDirection.SUBSCRIBE);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String conferenceId() {
        return conference.id;
    }

    Iterable<Producer> producers() {
        return producersByMid.values();
    }

    // ---------------------------------------------------------------- negotiation (public API, hops to loop)

    @Override
    public String acceptPublishOffer(String sdpOffer) throws SdpException {
        return bridge.onLoopChecked(() -> onPublishOffer(sdpOffer));
    }

    private String onPublishOffer(String sdpOffer) throws SdpException {
        ensureOpen();
        PublishAnswer answer = PublishNegotiation.answer(sdpOffer, publish.localParams(), bridge.capabilities());
        if (publishNegotiated && publish.remoteUfrag != null && !publish.remoteUfrag.equals(answer.remoteIceUfrag())) {
            throw new SdpException("ICE restart on the publish transport is not supported yet: reconnect instead");
        }
        DtlsRole role = answer.remoteSetup() == Setup.PASSIVE ? DtlsRole.CLIENT : DtlsRole.SERVER;
        publish.setRemote(answer.remoteIceUfrag(), answer.remoteFingerprint().algorithm(),
                answer.remoteFingerprint().value(), role);
        publishNegotiated = true;
        for (PublishedTrack track : answer.tracks()) {
            if (producersByMid.containsKey(track.mid())) {
                continue;
            }
            Producer p = new Producer(this, track, bridge.allocator());
            producersByMid.put(track.mid(), p);
            if (p.ssrc != 0) {
                producersBySsrc.put(p.ssrc, p);
            }
            if (p.rtxSsrc != 0) {
                producersBySsrc.put(p.rtxSsrc, p);
            }
            conference.producerAdded(p);
        }
        return answer.answerSdp();
    }

    @Override
    public Optional<String> createSubscribeOffer() {
        try {
            return bridge.onLoopChecked(this::onCreateSubscribeOffer);
        } catch (SdpException e) {
            throw new IllegalStateException("bridge could not write a subscribe offer", e);
        }
    }

    private Optional<String> onCreateSubscribeOffer() throws SdpException {
        if (closed) {
            return Optional.empty();
        }
        if (offeredTracks != null) {
            subscribeDirty = true;
            return Optional.empty();
        }
        subscribeDirty = false;
        boolean anyActive = consumers.stream().anyMatch(c -> c.active);
        if (!anyActive && !subscribeTransportUsed) {
            return Optional.empty();
        }
        List<SubscribeTrack> tracks = new ArrayList<>(consumers.size());
        for (Consumer c : consumers) {
            tracks.add(new SubscribeTrack(c.mid, c.producer.video ? "video" : "audio", c.active, c.ssrc, c.rtxSsrc,
                    c.producer.owner.cname, c.producer.owner.id(),
                    c.producer.owner.id() + "-" + (c.producer.video ? "video" : "audio") + "-" + c.producer.mid));
        }
        String offer = SubscribeNegotiation.offer(subscribe.localParams(), subscribeSessionId,
                ++subscribeSessionVersion, tracks, bridge.capabilities());
        offeredTracks = tracks;
        subscribeTransportUsed = anyActive;
        return Optional.of(offer);
    }

    @Override
    public void acceptSubscribeAnswer(String sdpAnswer) throws SdpException {
        bridge.onLoopChecked(() -> {
            onSubscribeAnswer(sdpAnswer);
            return null;
        });
    }

    private void onSubscribeAnswer(String sdpAnswer) throws SdpException {
        ensureOpen();
        if (offeredTracks == null) {
            throw new SdpException("no subscribe offer is outstanding");
        }
        SubscribeAnswer answer = SubscribeNegotiation.parseAnswer(sdpAnswer, offeredTracks);
        offeredTracks = null;
        boolean anyActive = false;
        for (Consumer c : consumers) {
            if (!c.active) {
                continue;
            }
            if (answer.acceptedMids().contains(c.mid)) {
                anyActive = true;
                c.applyAnswer(answer.acceptedPayloadTypesByMid().getOrDefault(c.mid, Set.of()),
                        answer.extensionIdsByUri());
                if (subscribe.isConnected()) {
                    c.producer.requestKeyframe(System.nanoTime());
                }
            }
        }
        if (anyActive) {
            DtlsRole role = answer.remoteSetup() == Setup.PASSIVE ? DtlsRole.CLIENT : DtlsRole.SERVER;
            if (answer.remoteFingerprint() != null) {
                subscribe.setRemote(answer.remoteIceUfrag(), answer.remoteFingerprint().algorithm(),
                        answer.remoteFingerprint().value(), role);
            }
        } else if (subscribeTransportUsed || subscribe.state != TransportState.NEW) {
            // Every m-line is now disabled: the browser tears its transport down. The next offer (someone joins
            // again) starts a fresh transport with new ICE credentials and a new DTLS handshake.
            subscribe.close();
            subscribe = bridge.newTransport(this, TransportDirection.SUBSCRIBE);
            subscribeTransportUsed = false;
        }
        if (subscribeDirty) {
            bridge.loop().execute(listener::subscribeRenegotiationNeeded);
        }
    }

    void addConsumer(Producer producer) {
        long ssrc = uniqueSsrc();
        long rtxSsrc = producer.video ? uniqueSsrc() : 0;
        Consumer c = new Consumer(producer, this, String.valueOf(nextSubscribeMid++), ssrc, rtxSsrc);
        consumers.add(c);
        consumersBySsrc.put(ssrc, c);
        producer.addConsumer(c);
        renegotiationNeeded();
    }

    void removeConsumersOf(Endpoint gone) {
        boolean changed = false;
        for (Consumer c : consumers) {
            if (c.active && c.producer.owner == gone) {
                c.active = false;
                c.negotiated = false;
                c.producer.removeConsumer(c);
                consumersBySsrc.remove(c.ssrc);
                changed = true;
            }
        }
        if (changed) {
            renegotiationNeeded();
        }
    }

    private void renegotiationNeeded() {
        if (!closed) {
            // deferred: never call out while a caller of ours is still in the middle of changing state
            bridge.loop().execute(listener::subscribeRenegotiationNeeded);
        }
    }

    private long uniqueSsrc() {
        long s;
        do {
            s = Transport.randomSsrc();
        } while (consumersBySsrc.containsKey(s) || s == publish.rtcpSsrc || s == subscribe.rtcpSsrc);
        return s;
    }

    void transportStateChanged(Transport t, TransportState state) {
        if (t == subscribe && state == TransportState.CONNECTED) {
            long now = System.nanoTime();
            for (Consumer c : consumers) {
                if (c.active && c.negotiated) {
                    c.producer.requestKeyframe(now);
                }
            }
        }
        if (!closed && (t == publish || t == subscribe)) {
            listener.transportStateChanged(t.direction, state);
        }
    }

    // ---------------------------------------------------------------- packet path (event loop only)

    /** A decrypted RTP packet from this endpoint's publish transport. Takes no ownership of {@code pkt}. */
    void onRtp(Transport from, ByteBuf pkt, long nowNanos) {
        long ssrc = RtpPacket.ssrc(pkt);
        Producer p = producersBySsrc.get(ssrc);
        if (p == null) {
            p = learnSsrc(pkt, ssrc);
            if (p == null) {
                bridge.drop(DropReason.UNKNOWN_SSRC);
                return;
            }
        }
        if (ssrc == p.rtxSsrc) {
            onRtx(from, p, pkt, nowNanos);
            return;
        }
        int pt = RtpPacket.payloadType(pkt);
        int canonicalPt = p.canonicalPt[pt];
        if (canonicalPt < 0) {
            bridge.drop(canonicalPt == Producer.PT_RTX ? DropReason.RTX_NOT_FORWARDED : DropReason.UNKNOWN_PAYLOAD_TYPE);
            return;
        }
        onMedia(from, p, pkt, pt, canonicalPt, nowNanos, false);
    }

    private void onMedia(Transport from, Producer p, ByteBuf pkt, int pt, int canonicalPt, long nowNanos,
                         boolean repaired) {
        int seq = RtpPacket.sequenceNumber(pkt);
        if (p.video) {
            if (p.cache.contains(seq, nowNanos)) {
                bridge.drop(DropReason.DUPLICATE);
                return;
            }
            if (!repaired) {
                detectUpstreamLoss(p, seq);
            }
            p.cache.put(seq, pkt, nowNanos);
        }
        from.rtpPacketsIn++;
        from.rtpBytesIn += pkt.readableBytes();
        p.receiveStats.onPacket(seq, RtpPacket.timestamp(pkt), nowNanos);
        boolean keyframe = false;
        if (p.video) {
            int off = RtpPacket.payloadOffset(pkt);
            int len = RtpPacket.payloadLength(pkt);
            byte kind = p.codecKind[pt];
            keyframe = kind == 1 ? Vp8Payload.isKeyframe(pkt, off, len)
                    : kind == 2 && H264Payload.isKeyframe(pkt, off, len);
        }
        Consumer[] targets = p.consumerArray;
        for (Consumer c : targets) {
            forward(c, pkt, canonicalPt, keyframe, nowNanos);
        }
    }

    /**
     * RFC 4588 §4: an RTX packet carries the original sequence number (OSN) in its first two payload bytes. Restored
     * to the original packet, it is forwarded like one that arrived in time; padding-only RTX are bandwidth probes.
     */
    private void onRtx(Transport from, Producer p, ByteBuf rtx, long nowNanos) {
        int payloadOffset = RtpPacket.payloadOffset(rtx);
        int payloadLength = RtpPacket.payloadLength(rtx);
        if (payloadLength <= 2) {
            bridge.drop(DropReason.RTX_PADDING);
            return;
        }
        int apt = p.aptByPt[RtpPacket.payloadType(rtx)];
        if (apt < 0 || p.canonicalPt[apt] < 0 || p.ssrc == 0) {
            bridge.drop(DropReason.RTX_NOT_FORWARDED);
            return;
        }
        int headerLength = payloadOffset - rtx.readerIndex();
        int tail = rtx.writerIndex() - payloadOffset - 2;
        ByteBuf original = bridge.allocate(headerLength + tail);
        try {
            original.writeBytes(rtx, rtx.readerIndex(), headerLength);
            original.writeBytes(rtx, payloadOffset + 2, tail);
            RtpPacket.setSequenceNumber(original, rtx.getUnsignedShort(payloadOffset));
            RtpPacket.setPayloadType(original, apt);
            RtpPacket.setSsrc(original, p.ssrc);
            onMedia(from, p, original, apt, p.canonicalPt[apt], nowNanos, true);
        } finally {
            original.release();
        }
    }

    /**
     * A gap in the publisher's sequence numbers: ask for the missing packets at once with a generic NACK
     * (RFC 4585 §6.2.1), before any receiver notices. Gaps larger than 64 are a restart or a long outage, where a
     * keyframe serves better than retransmissions.
     */
    private void detectUpstreamLoss(Producer p, int seq) {
        if (p.highestSeq < 0) {
            p.highestSeq = seq;
            return;
        }
        int ahead = (seq - p.highestSeq) & 0xFFFF;
        if (ahead == 0 || ahead >= 0x8000) {
            return; // late or duplicate
        }
        if (ahead > 1 && ahead <= 64 && publish.isConnected()) {
            int missing = Math.min(ahead - 1, 16);
            int[] lost = nackScratch;
            for (int i = 0; i < missing; i++) {
                lost[i] = (p.highestSeq + 1 + i) & 0xFFFF;
            }
            ByteBuf nack = bridge.allocate(12 + 4 * missing + SrtpTransformer.MAX_TRAILER);
            RtcpWriter.writeNack(nack, publish.rtcpSsrc, p.ssrc, lost, missing);
            bridge.sendRtcp(publish, nack);
            p.nacksSent++;
        }
        p.highestSeq = seq;
    }

    private final int[] nackScratch = new int[16];

    /**
     * Without a=ssrc lines (Chromium's simulcast offers have none) a stream is bound to its m-line by the mid
     * header extension of its first packets (RFC 8843 §9.2); a repaired-rid marks it as RTX (RFC 8852).
     */
    private Producer learnSsrc(ByteBuf pkt, long ssrc) {
        for (Producer p : producersByMid.values()) {
            if (p.midExtensionId == 0) {
                continue;
            }
            int off = RtpPacket.findExtension(pkt, p.midExtensionId);
            if (off < 0 || RtpPacket.extensionLength(pkt, p.midExtensionId) != p.midBytes.length) {
                continue;
            }
            boolean match = true;
            for (int i = 0; i < p.midBytes.length && match; i++) {
                match = pkt.getByte(off + i) == p.midBytes[i];
            }
            if (!match) {
                continue;
            }
            int pt = RtpPacket.payloadType(pkt);
            boolean rtx = p.canonicalPt[pt] == Producer.PT_RTX
                    || (p.repairedRidExtensionId != 0 && RtpPacket.findExtension(pkt, p.repairedRidExtensionId) >= 0);
            if (rtx) {
                if (p.rtxSsrc == 0) {
                    p.rtxSsrc = ssrc;
                    producersBySsrc.put(ssrc, p);
                }
                return p.rtxSsrc == ssrc ? p : null;
            }
            if (p.ssrc == 0) {
                p.bindSsrc(ssrc);
                producersBySsrc.put(ssrc, p);
                return p;
            }
            return null; // a second stream on one m-line: simulcast layers are not taken yet
        }
        return null;
    }

    private void forward(Consumer c, ByteBuf pkt, int canonicalPt, boolean keyframe, long nowNanos) {
        if (!c.negotiated || !c.acceptedPt[canonicalPt]) {
            return;
        }
        Transport t = c.subscriber.subscribe;
        if (!t.isConnected()) {
            return;
        }
        if (!c.started) {
            if (!keyframe) {
                c.producer.requestKeyframe(nowNanos);
                return;
            }
            c.started = true;
        }
        ByteBuf out = bridge.allocate(pkt.readableBytes() + REWRITE_HEADROOM + SrtpTransformer.MAX_TRAILER);
        int written = RtpRewriter.copyRewritten(pkt, out, canonicalPt, RtpPacket.sequenceNumber(pkt),
                RtpPacket.timestamp(pkt), c.ssrc, c.extensionIdMap);
        c.packetsSent++;
        c.octetsSent += written - RtpPacket.headerLength(out);
        t.rtpPacketsOut++;
        t.rtpBytesOut += written;
        bridge.sendRtp(t, out);
    }

    /** A decrypted RTCP compound packet from either transport. */
    void onRtcp(Transport from, ByteBuf pkt, long nowNanos) {
        from.rtcpPacketsIn++;
        int off = pkt.readerIndex();
        int end = pkt.writerIndex();
        while (off + 4 <= end) {
            int length = RtcpPacket.lengthBytes(pkt, off);
            int type = RtcpPacket.packetType(pkt, off);
            switch (type) {
                case 200 -> onSenderReport(pkt, off, nowNanos);
                case 201 -> onReportBlocks(pkt, off, nowNanos);
                case 206 -> onPayloadFeedback(pkt, off, nowNanos);
                case 205 -> onTransportFeedback(pkt, off, nowNanos);
                default -> {
                    // SDES, BYE, XR, APP: nothing the bridge acts on
                }
            }
            off += length;
        }
    }

    private void onSenderReport(ByteBuf pkt, int off, long nowNanos) {
        Producer p = producersBySsrc.get(RtcpPacket.senderSsrc(pkt, off));
        if (p != null && p.receiveStats != null && p.ssrc == RtcpPacket.senderSsrc(pkt, off)) {
            p.lastSrNtpMiddle = NtpTime.middle32(RtcpPacket.srNtp(pkt, off));
            p.lastSrArrivalNanos = nowNanos;
            long rtpTs = RtcpPacket.srRtpTimestamp(pkt, off);
            // Translated SR (RFC 3550 §7.2): the publisher's RTP time paired with the bridge's own NTP clock now.
            // Audio and video of one publisher shift alike, so receivers keep lip sync; RTT from the receivers'
            // LSR/DLSR is then measured against the bridge's clock.
            long ntpNow = NtpTime.nowNtp();
            for (Consumer c : p.consumerArray) {
                if (c.negotiated && c.started && c.subscriber.subscribe.isConnected()) {
                    ByteBuf sr = bridge.allocate(64 + SrtpTransformer.MAX_TRAILER);
                    RtcpWriter.writeSenderReport(sr, c.ssrc, ntpNow, rtpTs, c.packetsSent, c.octetsSent);
                    bridge.sendRtcp(c.subscriber.subscribe, sr);
                }
            }
        }
        onReportBlocks(pkt, off, nowNanos);
    }

    private void onReportBlocks(ByteBuf pkt, int off, long nowNanos) {
        int n = RtcpPacket.reportBlockCount(pkt, off);
        for (int i = 0; i < n; i++) {
            int rb = RtcpPacket.reportBlockOffset(pkt, off, i);
            Consumer c = consumersBySsrc.get(RtcpPacket.rbSsrc(pkt, rb));
            if (c == null) {
                continue;
            }
            c.fractionLost = RtcpPacket.rbFractionLost(pkt, rb);
            c.lastReportNanos = nowNanos;
            c.cumulativeLost = RtcpPacket.rbCumulativeLost(pkt, rb);
            c.jitter = RtcpPacket.rbJitter(pkt, rb);
            long lsr = RtcpPacket.rbLsr(pkt, rb);
            if (lsr != 0) {
                // RFC 3550 §6.4.1: RTT = A - LSR - DLSR in 1/65536 s
                long a = NtpTime.middle32(NtpTime.nowNtp());
                long rtt = (a - lsr - RtcpPacket.rbDlsr(pkt, rb)) & 0xFFFF_FFFFL;
                if (rtt < 65536L * 60) {
                    c.rttUnits = rtt;
                }
            }
        }
    }

    private void onPayloadFeedback(ByteBuf pkt, int off, long nowNanos) {
        int fmt = RtcpPacket.fmt(pkt, off);
        if (fmt == 1) { // PLI, RFC 4585 §6.3.1
            Consumer c = consumersBySsrc.get(RtcpPacket.mediaSsrc(pkt, off));
            if (c != null) {
                c.keyframeRequestsReceived++;
                c.producer.requestKeyframe(nowNanos);
            }
        } else if (fmt == 4) { // FIR, RFC 5104 §4.3.1: the media SSRC field is unused, targets are in the FCI
            int n = RtcpPacket.firEntries(pkt, off);
            for (int i = 0; i < n; i++) {
                Consumer c = consumersBySsrc.get(RtcpPacket.firSsrc(pkt, off, i));
                if (c != null) {
                    c.keyframeRequestsReceived++;
                    c.producer.requestKeyframe(nowNanos);
                }
            }
        }
    }

    /** RFC 4585 §6.2.1 generic NACK from a receiver: answered with RTX from the producer's cache (RFC 4588). */
    private void onTransportFeedback(ByteBuf pkt, int off, long nowNanos) {
        if (RtcpPacket.fmt(pkt, off) != 1) {
            return; // transport-cc: issue "Rural links"
        }
        Consumer c = consumersBySsrc.get(RtcpPacket.mediaSsrc(pkt, off));
        if (c == null || !c.producer.video || c.rtxSsrc == 0 || !c.negotiated) {
            return;
        }
        c.nacksReceived++;
        int n = RtcpPacket.nackCount(pkt, off);
        for (int i = 0; i < n; i++) {
            int pid = RtcpPacket.nackPid(pkt, off, i);
            int blp = RtcpPacket.nackBlp(pkt, off, i);
            retransmit(c, pid, nowNanos);
            for (int b = 0; b < 16; b++) {
                if ((blp & (1 << b)) != 0) {
                    retransmit(c, (pid + b + 1) & 0xFFFF, nowNanos);
                }
            }
        }
    }

    private void retransmit(Consumer c, int seq, long nowNanos) {
        Transport t = subscribe;
        ByteBuf cached = c.producer.cache.forResend(seq, nowNanos);
        if (cached == null || !t.isConnected()) {
            return;
        }
        int canonical = c.producer.canonicalPt[RtpPacket.payloadType(cached)];
        int rtxPt = canonical == MediaCapabilities.PT_VP8 ? MediaCapabilities.PT_VP8_RTX
                : canonical == MediaCapabilities.PT_H264 ? MediaCapabilities.PT_H264_RTX : -1;
        if (rtxPt < 0 || !c.acceptedPt[rtxPt]) {
            return;
        }
        ByteBuf out = bridge.allocate(cached.readableBytes() + 2 + REWRITE_HEADROOM + SrtpTransformer.MAX_TRAILER);
        RtpRewriter.copyRewritten(cached, out, rtxPt, c.rtxSeq, RtpPacket.timestamp(cached), c.rtxSsrc,
                c.extensionIdMap);
        c.rtxSeq = (c.rtxSeq + 1) & 0xFFFF;
        // RFC 4588 §4: payload = original sequence number, then the original payload (and padding)
        int payloadOffset = RtpPacket.payloadOffset(out);
        int end = out.writerIndex();
        out.writeShort(0);
        out.setBytes(payloadOffset + 2, out, payloadOffset, end - payloadOffset);
        out.setShort(payloadOffset, seq);
        c.retransmissionsSent++;
        bridge.sendRtp(t, out);
    }

    void sendPli(Producer p) {
        if (!publish.isConnected()) {
            return;
        }
        ByteBuf pli = bridge.allocate(32 + SrtpTransformer.MAX_TRAILER);
        RtcpWriter.writePli(pli, publish.rtcpSsrc, p.ssrc);
        bridge.sendRtcp(publish, pli);
    }

    /** Periodic (about once a second): receiver reports for every incoming stream (RFC 3550 §6.4.2). */
    void sendReceiverReports(long nowNanos) {
        if (!publish.isConnected()) {
            return;
        }
        int count = 0;
        for (Producer p : producersByMid.values()) {
            if (p.ssrc != 0 && p.receiveStats.packetsReceived() > 0) {
                count++;
            }
        }
        if (count == 0) {
            return;
        }
        count = Math.min(count, 31);
        ByteBuf rr = bridge.allocate(8 + 24 * count + SrtpTransformer.MAX_TRAILER);
        RtcpWriter.writeReceiverReport(rr, publish.rtcpSsrc, count);
        int written = 0;
        for (Producer p : producersByMid.values()) {
            if (written == count || p.ssrc == 0 || p.receiveStats.packetsReceived() == 0) {
                continue;
            }
            long dlsr = p.lastSrArrivalNanos == 0 ? 0 : ((nowNanos - p.lastSrArrivalNanos) * 65536L) / 1_000_000_000L;
            RtcpWriter.writeReportBlock(rr, p.ssrc, reportedFractionLost(p, nowNanos),
                    p.receiveStats.cumulativeLost(), p.receiveStats.extendedHighestSeq(),
                    p.receiveStats.jitterRtpUnits(), p.lastSrNtpMiddle, p.lastSrNtpMiddle == 0 ? 0 : dlsr);
            written++;
        }
        bridge.sendRtcp(publish, rr);
    }

    /**
     * The loss the publisher hears about: its own uplink's, or its weakest receiver's if that is worse. Chromium's
     * loss-based rate control (draft-ietf-rmcat-gcc-02 §6) then sends what the weakest link can take. This stands in
     * for per-receiver bandwidth estimation and simulcast layer choice (issue "Rural links"), which will let a
     * strong receiver get more than a weak one.
     */
    private static int reportedFractionLost(Producer p, long nowNanos) {
        int worst = p.receiveStats.fractionLostSinceLastReport();
        for (Consumer c : p.consumerArray) {
            if (c.lastReportNanos != 0 && nowNanos - c.lastReportNanos < 3_000_000_000L) {
                worst = Math.max(worst, c.fractionLost);
            }
        }
        return worst;
    }

    void checkConsent(long nowNanos) {
        publish.checkConsent(nowNanos);
        subscribe.checkConsent(nowNanos);
    }

    // ---------------------------------------------------------------- stats and life cycle

    @Override
    public EndpointStats stats() {
        return bridge.onLoop(() -> new EndpointStats(id, publish.state, subscribe.state,
                publish.rtpPacketsIn, publish.rtpBytesIn, subscribe.rtpPacketsOut, subscribe.rtpBytesOut,
                publish.rtcpPacketsIn + subscribe.rtcpPacketsIn, publish.rtcpPacketsOut + subscribe.rtcpPacketsOut));
    }

    @Override
    public void close() {
        bridge.onLoop(() -> {
            onClose();
            return null;
        });
    }

    void onClose() {
        if (closed) {
            return;
        }
        closed = true;
        publish.close();
        subscribe.close();
        for (Producer p : producersByMid.values()) {
            p.release();
        }
        for (Consumer c : consumers) {
            if (c.active) {
                c.producer.removeConsumer(c);
            }
        }
        bridge.removeEndpoint(this);
        LOG.info("endpoint {} closed", id);
    }

    private void ensureOpen() throws SdpException {
        if (closed) {
            throw new SdpException("endpoint is closed");
        }
    }
}
