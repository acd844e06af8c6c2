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
import org.consultbridge.bridge.api.ReceiveQuality;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.api.TransportState;
import org.consultbridge.bridge.api.VideoPreference;
import org.consultbridge.bridge.cc.BweTrace;
import org.consultbridge.bridge.cc.SendSideBandwidthEstimator;
import org.consultbridge.bridge.cc.TransportCcFeedback;
import org.consultbridge.bridge.cc.TransportCcReceiver;
import org.consultbridge.bridge.dtls.DtlsRole;
import org.consultbridge.bridge.rtcp.NtpTime;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.consultbridge.bridge.rtcp.RtcpWriter;
import org.consultbridge.bridge.rtp.H264Payload;
import org.consultbridge.bridge.rtp.RedPayload;
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
    /** What the packet path needs from the worker, passed in: where packets go out, drop counters, buffers. */
    private final PacketWriter writer;
    private final DropCounters drops;
    private final io.netty.buffer.ByteBufAllocator alloc;
    final Conference conference;
    private final String id;
    private final EndpointListener listener;
    final String cname;

    final Transport publish;
    Transport subscribe;

    private final Map<String, Producer> producersByMid = new LinkedHashMap<>();
    /** Published tracks per participant: a browser publishes 2 (camera, microphone), 4 with screen sharing. */
    static final int MAX_PRODUCERS = 16;
    /** Media and RTX SSRCs of every incoming stream. */
    private final LongObjectHashMap<InboundStream> streamsBySsrc = new LongObjectHashMap<>();
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
    /** The source whose video this endpoint should see best; see {@link #setMainSource}. */
    private String mainSourceId;
    /** The downlink budget the allocator spends; unlimited until a bandwidth estimate exists. */
    long availableBps = Long.MAX_VALUE;
    // Transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01).
    /** The publisher's id of the transport-cc extension (0: not negotiated) and the arrivals we report back. */
    private int publishTwccId;
    private final TransportCcReceiver twccIn = new TransportCcReceiver();
    /** The subscriber's id of the transport-cc extension (0: not negotiated), our sequence numbers on it. */
    private int subscribeTwccId;
    private int twccSeqOut;
    /** This endpoint's downlink as the bridge estimates it from the subscriber's transport-cc feedback. */
    final SendSideBandwidthEstimator bwe = new SendSideBandwidthEstimator();
    /** The allocation holds a layer back (or suspends video) while the link looks clean: probe for more. */
    private boolean probeWanted;
    private long nextProbeNanos;

    /** Highest layer this endpoint takes from any source; see {@link #setMaxLayer}. */
    private int maxLayer = Integer.MAX_VALUE;
    /** Frame rate or resolution first for the main video; see {@link #setVideoPreference}. */
    private VideoPreference videoPreference = VideoPreference.BALANCED;

    Endpoint(SfuBridge bridge, PacketWriter writer, DropCounters drops, Conference conference, String id,
             EndpointListener listener) {
        this.bridge = bridge;
        this.writer = writer;
        this.drops = drops;
        this.alloc = bridge.allocator();
        this.conference = conference;
        this.id = id;
        this.listener = listener;
        this.cname = "cb-" + Integer.toHexString(RANDOM.nextInt());
        this.publish = bridge.newTransport(this, TransportDirection.PUBLISH);
        this.subscribe = bridge.newTransport(this, TransportDirection.SUBSCRIBE);
        this.bweTrace = BweTrace.forName(conference.id + "-" + id);
        bwe.trace(bweTrace);
    }

    /** Diagnostic recording of the downlink estimator's inputs; null unless {@link BweTrace#PROPERTY} is set. */
    private final BweTrace bweTrace;

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
            // RFC 8839 §4.4.2.1.1: new ICE credentials in an offer are an ICE restart; the answerer restarts too
            // (RFC 8445 §9: both sides change ufrag and password). DTLS and SRTP go on.
            publish.restartIce();
            answer = PublishNegotiation.answer(sdpOffer, publish.localParams(), bridge.capabilities());
        }
        long added = answer.tracks().stream().filter(t -> !producersByMid.containsKey(t.mid())).count();
        if (producersByMid.size() + added > MAX_PRODUCERS) {
            // every offer may name new mids: without a cap, offers in a loop would grow producers, the others'
            // consumers and their subscribe offers without bound
            throw new SdpException("at most " + MAX_PRODUCERS + " published tracks per participant");
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
            if (publishTwccId == 0) {
                publishTwccId = track.extensionIds().getOrDefault(MediaCapabilities.EXT_TRANSPORT_CC, 0);
            }
            producersByMid.put(track.mid(), p);
            for (InboundStream st : p.streams) {
                if (st.ssrc != 0) {
                    streamsBySsrc.put(st.ssrc, st);
                }
                if (st.rtxSsrc != 0) {
                    streamsBySsrc.put(st.rtxSsrc, st);
                }
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
    public void restartIce() {
        bridge.onLoop(() -> {
            if (!closed) {
                // RFC 8445 §9 / RFC 8839 §4.4.1.1.1: the next subscribe offer carries new credentials; one still
                // outstanding is superseded (its answer may never come: the signalling connection was lost)
                subscribe.restartIce();
                offeredTracks = null;
                renegotiationNeeded();
            }
            return null;
        });
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
                    c.requestKeyframe(System.nanoTime());
                }
            }
        }
        if (anyActive) {
            Integer twcc = answer.extensionIdsByUri().get(MediaCapabilities.EXT_TRANSPORT_CC);
            subscribeTwccId = twcc == null || !bridge.capabilities().transportCc() ? 0 : twcc;
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
        c.maxLayer = maxLayer;
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
        if (!closed && !renegotiationQueued) {
            // deferred: never call out while a caller of ours is still in the middle of changing state; and once
            // per loop task, so consumers added together make one subscribe offer, not one each (12-17 of 20
            // load-test participants got a second, identical offer: an extra round trip in their join)
            renegotiationQueued = true;
            bridge.loop().execute(() -> {
                renegotiationQueued = false;
                if (!closed) {
                    listener.subscribeRenegotiationNeeded();
                }
            });
        }
    }

    private boolean renegotiationQueued;

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
                    c.requestKeyframe(now);
                }
            }
        }
        if (!closed && (t == publish || t == subscribe)) {
            listener.transportStateChanged(t.direction, state);
        }
    }

    /** ICE consent of {@code t}'s selected pair expired or came back (RFC 7675); the state change follows. */
    void consentChanged(Transport t, boolean fresh) {
        if (!closed && (t == publish || t == subscribe)) {
            listener.consentChanged(t.direction, fresh);
        }
    }

    // ---------------------------------------------------------------- packet path (event loop only)

    /** A decrypted RTP packet from this endpoint's publish transport. Takes no ownership of {@code pkt}. */
    void onRtp(Transport from, ByteBuf pkt, long nowNanos) {
        if (publishTwccId != 0) {
            // every packet counts for the sender's estimate, padding probes and RTX included
            int transportSeq = TransportCcFeedback.readSequenceNumber(pkt, publishTwccId);
            if (transportSeq >= 0) {
                twccIn.onPacket(transportSeq, nowNanos);
            }
        }
        long ssrc = RtpPacket.ssrc(pkt);
        InboundStream s = streamsBySsrc.get(ssrc);
        if (s == null) {
            s = learnSsrc(pkt, ssrc);
            if (s == null) {
                drops.drop(DropReason.UNKNOWN_SSRC);
                return;
            }
        }
        if (ssrc == s.rtxSsrc) {
            onRtx(from, s, pkt, nowNanos);
            return;
        }
        int pt = RtpPacket.payloadType(pkt);
        int canonicalPt = s.producer.canonicalPt[pt];
        if (canonicalPt < 0) {
            drops.drop(canonicalPt == Producer.PT_RTX ? DropReason.RTX_NOT_FORWARDED : DropReason.UNKNOWN_PAYLOAD_TYPE);
            return;
        }
        if (canonicalPt == MediaCapabilities.PT_RED && RedPayload.primaryOffset(pkt, RtpPacket.payloadOffset(pkt),
                RtpPacket.payloadLength(pkt), s.producer.opusPt) < 0) {
            drops.drop(DropReason.RED_MALFORMED); // checked once here, so consumers can rewrite it blindly
            return;
        }
        onMedia(from, s, pkt, pt, canonicalPt, nowNanos, false);
    }

    private void onMedia(Transport from, InboundStream s, ByteBuf pkt, int pt, int canonicalPt, long nowNanos,
                         boolean repaired) {
        Producer p = s.producer;
        int seq = RtpPacket.sequenceNumber(pkt);
        if (p.video) {
            if (s.cache.contains(seq)) {
                drops.drop(DropReason.DUPLICATE);
                return;
            }
            if (!repaired) {
                detectUpstreamLoss(s, seq);
            } else if (s.highestSeq >= 0 && ((s.highestSeq - seq) & 0xFFFF) >= RetransmissionCache.SIZE / 2
                    && ((s.highestSeq - seq) & 0xFFFF) < 0x8000) {
                // older than the cache can tell: it may have been forwarded already, and is useless by now
                drops.drop(DropReason.RTX_LATE);
                return;
            }
        }
        int bytes = pkt.readableBytes();
        from.rtpPacketsIn++;
        from.rtpBytesIn += bytes;
        s.onPacket(bytes, p.video && RtpPacket.marker(pkt), nowNanos);
        if (repaired) {
            s.receiveStats.onRepairedPacket(seq);
        } else {
            s.receiveStats.onPacket(seq, RtpPacket.timestamp(pkt), nowNanos);
        }
        boolean keyframe = false;
        byte kind = 0;
        if (p.video) {
            int off = RtpPacket.payloadOffset(pkt);
            int len = RtpPacket.payloadLength(pkt);
            kind = p.codecKind[pt];
            keyframe = kind == 1 ? Vp8Payload.isKeyframe(pkt, off, len)
                    : kind == 2 && H264Payload.isKeyframe(pkt, off, len);
            if (keyframe) {
                s.lastKeyframeNanos = nowNanos;
            }
        }
        Consumer[] targets = p.consumerArray;
        boolean forwarded = false;
        for (Consumer c : targets) {
            forwarded |= forward(c, s, pkt, canonicalPt, kind, keyframe, nowNanos);
        }
        if (forwarded && p.video) {
            // kept for receivers' NACKs only when somebody received it: a layer nobody takes costs no copy
            s.cache.put(seq, pkt, nowNanos);
        }
    }

    /**
     * RFC 4588 §4: an RTX packet carries the original sequence number (OSN) in its first two payload bytes. Restored
     * to the original packet, it is forwarded like one that arrived in time; padding-only RTX are bandwidth probes.
     */
    private void onRtx(Transport from, InboundStream s, ByteBuf rtx, long nowNanos) {
        Producer p = s.producer;
        int payloadOffset = RtpPacket.payloadOffset(rtx);
        int payloadLength = RtpPacket.payloadLength(rtx);
        if (payloadLength <= 2) {
            drops.drop(DropReason.RTX_PADDING);
            return;
        }
        int apt = p.aptByPt[RtpPacket.payloadType(rtx)];
        if (apt < 0 || p.canonicalPt[apt] < 0 || s.ssrc == 0) {
            drops.drop(DropReason.RTX_NOT_FORWARDED);
            return;
        }
        int headerLength = payloadOffset - rtx.readerIndex();
        int tail = rtx.writerIndex() - payloadOffset - 2;
        ByteBuf original = alloc.heapBuffer(headerLength + tail);
        try {
            original.writeBytes(rtx, rtx.readerIndex(), headerLength);
            original.writeBytes(rtx, payloadOffset + 2, tail);
            RtpPacket.setSequenceNumber(original, rtx.getUnsignedShort(payloadOffset));
            RtpPacket.setPayloadType(original, apt);
            RtpPacket.setSsrc(original, s.ssrc);
            onMedia(from, s, original, apt, p.canonicalPt[apt], nowNanos, true);
        } finally {
            original.release();
        }
    }

    /**
     * A gap in the publisher's sequence numbers: ask for the missing packets at once with a generic NACK
     * (RFC 4585 §6.2.1), before any receiver notices. Gaps larger than 64 are a restart or a long outage, where a
     * keyframe serves better than retransmissions.
     */
    private void detectUpstreamLoss(InboundStream s, int seq) {
        if (s.highestSeq < 0) {
            s.highestSeq = seq;
            return;
        }
        int ahead = (seq - s.highestSeq) & 0xFFFF;
        if (ahead == 0 || ahead >= 0x8000) {
            return; // late or duplicate
        }
        if (ahead > 1 && ahead <= 64 && publish.canSend()) {
            int missing = Math.min(ahead - 1, 16);
            int[] lost = nackScratch;
            for (int i = 0; i < missing; i++) {
                lost[i] = (s.highestSeq + 1 + i) & 0xFFFF;
            }
            ByteBuf nack = alloc.heapBuffer(12 + 4 * missing + SrtpTransformer.MAX_TRAILER);
            RtcpWriter.writeNack(nack, publish.rtcpSsrc, s.ssrc, lost, missing);
            writer.sendRtcp(publish, nack);
            s.nacksSent++;
        }
        s.highestSeq = seq;
    }

    private final int[] nackScratch = new int[16];

    /**
     * Without a=ssrc lines (Chromium's simulcast offers have none) a stream is bound to its m-line by the mid
     * header extension of its first packets (RFC 8843 §9.2), to its simulcast layer by the rid extension, and a
     * repaired-rid marks it as the RTX of that layer (RFC 8852 §3).
     */
    private InboundStream learnSsrc(ByteBuf pkt, long ssrc) {
        for (Producer p : producersByMid.values()) {
            if (p.midExtensionId == 0 || !extensionEquals(pkt, p.midExtensionId, p.midBytes)) {
                continue;
            }
            int pt = RtpPacket.payloadType(pkt);
            boolean repaired = p.repairedRidExtensionId != 0
                    && RtpPacket.findExtension(pkt, p.repairedRidExtensionId) >= 0;
            boolean rtx = p.canonicalPt[pt] == Producer.PT_RTX || repaired;
            InboundStream s = p.streams[0];
            if (p.simulcast) {
                int ridId = repaired ? p.repairedRidExtensionId : p.ridExtensionId;
                s = null;
                for (InboundStream candidate : p.streams) {
                    if (ridId != 0 && extensionEquals(pkt, ridId, candidate.ridBytes)) {
                        s = candidate;
                        break;
                    }
                }
                if (s == null) {
                    return null; // a layer we did not agree to, or no rid yet
                }
            }
            if (rtx) {
                if (s.rtxSsrc == 0) {
                    s.rtxSsrc = ssrc;
                    streamsBySsrc.put(ssrc, s);
                }
                return s.rtxSsrc == ssrc ? s : null;
            }
            if (s.ssrc == 0) {
                s.bindSsrc(ssrc);
                streamsBySsrc.put(ssrc, s);
                return s;
            }
            return null; // a second stream for one layer: not ours to guess
        }
        return null;
    }

    private static boolean extensionEquals(ByteBuf pkt, int id, byte[] value) {
        int off = RtpPacket.findExtension(pkt, id);
        if (off < 0 || RtpPacket.extensionLength(pkt, id) != value.length) {
            return false;
        }
        for (int i = 0; i < value.length; i++) {
            if (pkt.getByte(off + i) != value[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Forwards one packet of stream {@code s} to consumer {@code c} if it carries the layer the consumer receives.
     * A layer change happens on a keyframe of the target layer (asked for with PLI until it comes); from then on
     * the sequence numbers, timestamps and VP8 picture id / TL0PICIDX are offset so the receiver sees one stream.
     */
    private boolean forward(Consumer c, InboundStream s, ByteBuf pkt, int canonicalPt, byte codecKind, boolean keyframe,
                            long nowNanos) {
        // RFC 2198 audio: as it came to subscribers that took RED, as its primary Opus block to the others
        boolean stripRed = canonicalPt == MediaCapabilities.PT_RED && !c.acceptedPt[MediaCapabilities.PT_RED];
        int outPt = stripRed ? MediaCapabilities.PT_OPUS : canonicalPt;
        if (!c.negotiated || !c.acceptedPt[outPt]) {
            return false;
        }
        Transport t = c.subscriber.subscribe;
        if (!t.canSend()) {
            return false; // not keyed yet, or consent expired (counted): RFC 7675 §5.1
        }
        boolean video = s.producer.video;
        if (video && !c.admit(s, pkt, codecKind == 1, keyframe, nowNanos)) {
            return false;
        }
        int outSeq = c.outSeq(RtpPacket.sequenceNumber(pkt));
        long outTs = c.outTimestamp(RtpPacket.timestamp(pkt));
        ByteBuf out = alloc.heapBuffer(pkt.readableBytes() + REWRITE_HEADROOM + SrtpTransformer.MAX_TRAILER);
        Endpoint to = c.subscriber;
        int twccId = to.subscribeTwccId;
        int transportSeq = to.twccSeqOut;
        int written = RtpRewriter.copyRewritten(pkt, out, outPt, outSeq, outTs, c.ssrc, c.extensionIdMap,
                twccId, transportSeq);
        if (canonicalPt == MediaCapabilities.PT_RED) {
            int opus = s.producer.opusPt;
            if (stripRed) {
                written = RedPayload.toPrimary(out, opus, MediaCapabilities.PT_OPUS);
            } else if (opus != MediaCapabilities.PT_OPUS) {
                RedPayload.setBlockPayloadTypes(out, RtpPacket.payloadOffset(out), MediaCapabilities.PT_OPUS);
            }
        }
        if (twccId != 0) {
            to.twccSeqOut = (transportSeq + 1) & 0xFFFF;
            to.bwe.onPacketSent(transportSeq, written + SRTP_OVERHEAD, nowNanos, false);
        }
        if (video) {
            c.videoSent(out, codecKind == 1, outSeq, outTs, nowNanos);
        }
        c.packetsSent++;
        c.octetsSent += written - RtpPacket.headerLength(out);
        t.rtpPacketsOut++;
        t.rtpBytesOut += written;
        writer.sendRtp(t, out);
        return true;
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
                case 205 -> {
                    if (RtcpPacket.fmt(pkt, off) == TransportCcFeedback.FMT) {
                        if (from == subscribe && subscribeTwccId != 0 && !bwe.onFeedback(pkt, off, nowNanos)) {
                            drops.drop(DropReason.TRANSPORT_CC_REJECTED);
                        }
                    } else {
                        onTransportFeedback(pkt, off, nowNanos);
                    }
                }
                default -> {
                    // SDES, BYE, XR, APP: nothing the bridge acts on
                }
            }
            off += length;
        }
    }

    private void onSenderReport(ByteBuf pkt, int off, long nowNanos) {
        InboundStream s = streamsBySsrc.get(RtcpPacket.senderSsrc(pkt, off));
        if (s != null && s.receiveStats != null && s.ssrc == RtcpPacket.senderSsrc(pkt, off)) {
            s.lastSrNtpMiddle = NtpTime.middle32(RtcpPacket.srNtp(pkt, off));
            s.lastSrArrivalNanos = nowNanos;
            long rtpTs = RtcpPacket.srRtpTimestamp(pkt, off);
            // Translated SR (RFC 3550 §7.2): the publisher's RTP time paired with the bridge's own NTP clock now.
            // Audio and video of one publisher shift alike, so receivers keep lip sync; RTT from the receivers'
            // LSR/DLSR is then measured against the bridge's clock.
            long ntpNow = NtpTime.nowNtp();
            // Each receiver gets the SR of the layer it receives, in its own (offset) timestamp space.
            for (Consumer c : s.producer.consumerArray) {
                if (c.negotiated && c.currentStream() == s && c.subscriber.subscribe.canSend()) {
                    ByteBuf sr = alloc.heapBuffer(64 + SrtpTransformer.MAX_TRAILER);
                    RtcpWriter.writeSenderReport(sr, c.ssrc, ntpNow, (rtpTs + c.tsOffset) & 0xFFFF_FFFFL,
                            c.packetsSent, c.octetsSent);
                    writer.sendRtcp(c.subscriber.subscribe, sr);
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
                if (c.acceptReceiverKeyframeRequest(nowNanos)) {
                    c.requestKeyframe(nowNanos);
                }
            } else {
                drops.drop(DropReason.FEEDBACK_UNKNOWN_SSRC);
            }
        } else if (fmt == 4) { // FIR, RFC 5104 §4.3.1: the media SSRC field is unused, targets are in the FCI
            int n = RtcpPacket.firEntries(pkt, off);
            for (int i = 0; i < n; i++) {
                Consumer c = consumersBySsrc.get(RtcpPacket.firSsrc(pkt, off, i));
                if (c != null) {
                    c.keyframeRequestsReceived++;
                    if (c.acceptReceiverKeyframeRequest(nowNanos)) {
                        c.requestKeyframe(nowNanos);
                    }
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
        if (c == null) {
            drops.drop(DropReason.FEEDBACK_UNKNOWN_SSRC);
            return;
        }
        if (!c.producer.video || c.rtxSsrc == 0 || !c.negotiated) {
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

    /** Retransmissions to this receiver: at most this many per second after a burst of {@link #RTX_BURST}. */
    static final int RTX_PACKETS_PER_SECOND = 250;
    static final int RTX_BURST = 100;
    private int rtxBudget = RTX_BURST;
    private long rtxBudgetNanos = System.nanoTime();

    /** Answers a NACK for {@code seq}, a sequence number of the receiver's (rewritten) stream. */
    private void retransmit(Consumer c, int seq, long nowNanos) {
        Transport t = subscribe;
        InboundStream s = c.currentStream();
        if (s == null || !t.canSend()) {
            return;
        }
        int inSeq = c.inputSeq(seq);
        if (inSeq < 0) {
            return; // before the last layer switch: that packet came from another layer
        }
        ByteBuf cached = s.cache.forResend(inSeq, nowNanos);
        if (cached == null) {
            drops.drop(DropReason.NACK_UNANSWERED);
            return;
        }
        // RFC 4585 §3.4 wants feedback rate-limited; a receiver's NACKs could still ask for far more than its link
        // (or an attacker's) should get: a token bucket per receiver bounds the retransmissions.
        long refill = (nowNanos - rtxBudgetNanos) * RTX_PACKETS_PER_SECOND / 1_000_000_000L;
        if (refill > 0) {
            rtxBudget = (int) Math.min(RTX_BURST, rtxBudget + refill);
            rtxBudgetNanos = nowNanos;
        }
        if (rtxBudget <= 0) {
            drops.drop(DropReason.NACK_RATE_LIMITED);
            return;
        }
        rtxBudget--;
        int canonical = c.producer.canonicalPt[RtpPacket.payloadType(cached)];
        int rtxPt = canonical == MediaCapabilities.PT_VP8 ? MediaCapabilities.PT_VP8_RTX
                : canonical == MediaCapabilities.PT_H264 ? MediaCapabilities.PT_H264_RTX : -1;
        if (rtxPt < 0 || !c.acceptedPt[rtxPt]) {
            return;
        }
        ByteBuf out = alloc.heapBuffer(cached.readableBytes() + 2 + REWRITE_HEADROOM + SrtpTransformer.MAX_TRAILER);
        int transportSeq = twccSeqOut;
        int written = RtpRewriter.copyRewritten(cached, out, rtxPt, c.rtxSeq,
                c.outTimestamp(RtpPacket.timestamp(cached)), c.rtxSsrc, c.extensionIdMap,
                subscribeTwccId, transportSeq);
        if (subscribeTwccId != 0) {
            twccSeqOut = (transportSeq + 1) & 0xFFFF;
            bwe.onPacketSent(transportSeq, written + 2 + SRTP_OVERHEAD, nowNanos, false);
        }
        if (canonical == MediaCapabilities.PT_VP8) {
            c.rewriteVp8(out, false);
        }
        c.rtxSeq = (c.rtxSeq + 1) & 0xFFFF;
        // RFC 4588 §4: payload = original sequence number, then the original payload (and padding)
        int payloadOffset = RtpPacket.payloadOffset(out);
        int end = out.writerIndex();
        out.writeShort(0);
        out.setBytes(payloadOffset + 2, out, payloadOffset, end - payloadOffset);
        out.setShort(payloadOffset, seq);
        c.retransmissionsSent++;
        writer.sendRtp(t, out);
    }

    /**
     * Every 50 ms: transport-cc feedback to the publisher for what arrived (the browser's send-side estimator,
     * draft-ietf-rmcat-gcc-02, adapts its upload to it), and probing padding towards the subscriber.
     */
    void onFastTick(long nowNanos) {
        for (Producer p : producersByMid.values()) {
            if (p.video) {
                for (InboundStream st : p.streams) {
                    st.cache.expire(nowNanos);
                }
            }
        }
        if (publishTwccId != 0 && publish.keyedForMedia()) {
            long mediaSsrc = 0;
            for (Producer p : producersByMid.values()) {
                if (p.streams[0].ssrc != 0) {
                    mediaSsrc = p.streams[0].ssrc;
                    break;
                }
            }
            ByteBuf fb = alloc.heapBuffer(1500);
            int n = twccIn.writeFeedback(fb, publish.rtcpSsrc, mediaSsrc, nowNanos);
            if (n > 0 && publish.canSend()) { // while consent is expired: built, then counted and dropped
                writer.sendRtcp(publish, fb);
            } else {
                fb.release();
            }
        }
        if (probeWanted && nowNanos - nextProbeNanos >= 0 && subscribeTwccId != 0 && subscribe.isConnected()) {
            // one cluster of about 100 ms of the current estimate, sent back to back (see startProbeCluster)
            long packets = bwe.estimateBps() / 10 / 8 / PROBE_WIRE_BYTES;
            sendProbeCluster((int) Math.clamp(packets, PROBE_CLUSTER_MIN, PROBE_CLUSTER_MAX), nowNanos);
            nextProbeNanos = nowNanos + PROBE_INTERVAL_NANOS;
        }
    }

    /**
     * Padding-only RTX packets (RFC 4588 with RFC 3550 §5.1 padding; what libwebrtc probes with) on a video
     * consumer's RTX stream, stamped with transport-wide sequence numbers: if they arrive without queuing delay,
     * the estimate grows towards a layer that did not fit yet.
     */
    private void sendProbeCluster(int packets, long nowNanos) {
        Consumer carrier = null;
        for (Consumer c : consumers) {
            // also while its video is suspended: the RTX SSRC is in the receiver's description, padding is not
            // decoded, and a suspended receiver is the one that most needs its recovery noticed
            if (c.active && c.negotiated && c.producer.video && c.rtxSsrc != 0
                    && c.acceptedPt[MediaCapabilities.PT_VP8_RTX]) {
                carrier = c;
                break;
            }
        }
        if (carrier == null) {
            return;
        }
        bwe.startProbeCluster();
        for (int i = 0; i < packets; i++) {
            ByteBuf out = alloc.heapBuffer(12 + 8 + PROBE_PACKET_PAYLOAD + SrtpTransformer.MAX_TRAILER);
            out.writeByte(0xB0); // V=2, P=1, X=1
            out.writeByte(MediaCapabilities.PT_VP8_RTX);
            out.writeShort(carrier.rtxSeq);
            carrier.rtxSeq = (carrier.rtxSeq + 1) & 0xFFFF;
            out.writeInt((int) carrier.lastTsOut);
            out.writeInt((int) carrier.rtxSsrc);
            int transportSeq = twccSeqOut;
            twccSeqOut = (transportSeq + 1) & 0xFFFF;
            out.writeShort(RtpPacket.ONE_BYTE_PROFILE).writeShort(1);
            out.writeByte((subscribeTwccId << 4) | 1).writeShort(transportSeq).writeByte(0);
            out.writeZero(PROBE_PACKET_PAYLOAD - 1);
            out.writeByte(PROBE_PACKET_PAYLOAD); // RFC 3550 §5.1: the last byte counts the padding
            int size = out.readableBytes();
            bwe.onPacketSent(transportSeq, size + SRTP_OVERHEAD, nowNanos, true);
            probesSent++;
            writer.sendRtp(subscribe, out);
        }
    }

    private static final int PROBE_PACKET_PAYLOAD = 240;
    /** A probe packet on the wire: RTP header, extension, padding, SRTP tag, UDP/IP. */
    private static final int PROBE_WIRE_BYTES = 12 + 8 + PROBE_PACKET_PAYLOAD + 16 + 8 + 20;
    private static final int PROBE_CLUSTER_MIN = 8;
    private static final int PROBE_CLUSTER_MAX = 24;
    /** How often a held-back receiver is probed: each cluster briefly queues ~100 ms of data on its link. */
    private static final long PROBE_INTERVAL_NANOS = 2_000_000_000L;
    /** SRTP tag, UDP and IPv4 headers: what a packet costs on the wire beyond its RTP bytes. */
    private static final int SRTP_OVERHEAD = 16 + 8 + 20;
    long probesSent;

    void sendPli(InboundStream s) {
        if (!publish.canSend()) {
            return;
        }
        ByteBuf pli = alloc.heapBuffer(32 + SrtpTransformer.MAX_TRAILER);
        RtcpWriter.writePli(pli, publish.rtcpSsrc, s.ssrc);
        writer.sendRtcp(publish, pli);
    }

    /** Periodic (about once a second): receiver reports for every incoming stream (RFC 3550 §6.4.2). */
    void sendReceiverReports(long nowNanos) {
        if (!publish.keyedForMedia()) {
            return;
        }
        int count = 0;
        for (Producer p : producersByMid.values()) {
            for (InboundStream s : p.streams) {
                if (s.ssrc != 0 && s.receiveStats.packetsReceived() > 0) {
                    count++;
                }
            }
        }
        if (count == 0 || !publish.canSend()) { // a report held back for lack of consent is counted
            return;
        }
        count = Math.min(count, 31);
        ByteBuf rr = alloc.heapBuffer(8 + 24 * count + SrtpTransformer.MAX_TRAILER);
        RtcpWriter.writeReceiverReport(rr, publish.rtcpSsrc, count);
        int written = 0;
        for (Producer p : producersByMid.values()) {
            for (InboundStream s : p.streams) {
                if (written == count || s.ssrc == 0 || s.receiveStats.packetsReceived() == 0) {
                    continue;
                }
                long dlsr = s.lastSrArrivalNanos == 0 ? 0
                        : ((nowNanos - s.lastSrArrivalNanos) * 65536L) / 1_000_000_000L;
                RtcpWriter.writeReportBlock(rr, s.ssrc, reportedFractionLost(s, nowNanos),
                        s.receiveStats.cumulativeLost(), s.receiveStats.extendedHighestSeq(),
                        s.receiveStats.jitterRtpUnits(), s.lastSrNtpMiddle, s.lastSrNtpMiddle == 0 ? 0 : dlsr);
                written++;
            }
        }
        writer.sendRtcp(publish, rr);
    }

    /**
     * The loss the publisher hears about for one stream. Without simulcast, its weakest receiver's loss if that is
     * worse than the uplink's: Chromium's loss-based rate control (draft-ietf-rmcat-gcc-02 §6) then sends what the
     * weakest link can take. With simulcast only the uplink's own loss: each receiver gets the layer its link
     * carries, so one weak receiver must not lower everybody's quality.
     */
    private static int reportedFractionLost(InboundStream s, long nowNanos) {
        int worst = s.receiveStats.fractionLostSinceLastReport();
        if (s.producer.simulcast) {
            return worst;
        }
        for (Consumer c : s.producer.consumerArray) {
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

    // ---------------------------------------------------------------- allocation

    @Override
    public void setMainSource(String endpointId) {
        bridge.onLoop(() -> {
            mainSourceId = endpointId;
            allocate(System.nanoTime());
            return null;
        });
    }

    @Override
    public void setMaxLayer(int layer) {
        bridge.onLoop(() -> {
            maxLayer = Math.max(0, layer);
            for (Consumer c : consumers) {
                c.maxLayer = maxLayer;
            }
            allocate(System.nanoTime());
            return null;
        });
    }

    @Override
    public void setVideoPreference(VideoPreference preference) {
        bridge.onLoop(() -> {
            videoPreference = preference == null ? VideoPreference.BALANCED : preference;
            allocate(System.nanoTime());
            return null;
        });
    }

    /** Chooses the layer each received video gets (event loop, a few times a second). */
    void allocate(long nowNanos) {
        if (closed || consumers.isEmpty()) {
            return;
        }
        availableBps = subscribeTwccId != 0 && bwe.feedbacksAccepted() > 0 ? bwe.estimateBps() : Long.MAX_VALUE;
        long needed = Allocator.allocate(consumers, mainSourceId, availableBps, nowNanos, (c, suspended) ->
                bridge.loop().execute(() -> {
                    if (!closed) {
                        listener.videoSuspended(c.producer.owner.id(), suspended);
                    }
                }), videoPreference);
        if (subscribeTwccId == 0 || availableBps == Long.MAX_VALUE) {
            probeWanted = false;
            return;
        }
        // Held back (a layer that flows did not fit, or video is suspended) and the link is clean: probe every few
        // seconds with a short cluster (not continuous padding, which would keep a rural link's queue full), so a
        // recovering link is noticed.
        long desired = Allocator.desired(consumers, nowNanos);
        boolean heldBack = desired > needed && bwe.lossFraction() < 0.05;
        if (heldBack && !probeWanted) {
            nextProbeNanos = nowNanos + PROBE_INTERVAL_NANOS / 4;
        }
        probeWanted = heldBack;
        bwe.setApplicationLimited(!heldBack && needed < availableBps * 9 / 10);
    }

    @Override
    public ReceiveQuality receiveQuality() {
        return bridge.onLoop(() -> {
            long now = System.nanoTime();
            List<ReceiveQuality.ReceivedVideo> videos = new ArrayList<>();
            int worstLoss = 0;
            long rtt = -1;
            for (Consumer c : consumers) {
                if (!c.active || !c.negotiated) {
                    continue;
                }
                if (c.lastReportNanos != 0 && now - c.lastReportNanos < 5_000_000_000L) {
                    worstLoss = Math.max(worstLoss, c.fractionLost);
                }
                if (c.rttUnits >= 0) {
                    rtt = Math.max(rtt, c.rttUnits * 1000 / 65536);
                }
                if (c.producer.video) {
                    InboundStream s = c.currentStream();
                    videos.add(new ReceiveQuality.ReceivedVideo(c.producer.owner.id(), c.currentLayer, c.targetLayer,
                            c.producer.streams.length, c.targetLayer < 0, s == null ? 0 : s.bitrate(now)));
                }
            }
            return new ReceiveQuality(availableBps == Long.MAX_VALUE ? -1 : availableBps, worstLoss / 256.0, rtt,
                    List.copyOf(videos));
        });
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
        if (bweTrace != null) {
            bweTrace.finish();
        }
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
