package org.consultbridge.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoopGroup;
import io.netty.util.collection.LongObjectHashMap;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.dtls.DtlsCertificate;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.consultbridge.bridge.rtcp.RtcpWriter;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.rtp.RtpReceiveStatistics;
import org.consultbridge.bridge.rtp.Vp8Payload;
import org.consultbridge.bridge.sdp.ClientSdp;

/**
 * One simulated participant: the real signalling protocol over a WebSocket, a publish peer connection sending
 * Opus-sized audio every 20 ms and VP8-shaped video at 30 fps (keyframes every 3 s and on PLI), and a subscribe
 * peer connection that decrypts what the bridge forwards, measures loss and added latency (the send time travels
 * in the payload), and sends the feedback a browser would (receiver reports, NACK).
 */
final class SimParticipant implements Participant {

    /** Marks our payloads: "CBLT", then the sender's System.nanoTime(). */
    static final int MAGIC = 0x43424C54;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** One client for all participants: each HttpClient has its own selector thread. */
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final long AUDIO_INTERVAL = 20_000_000L;
    private static final long FRAME_INTERVAL = 33_333_333L;
    private static final long KEYFRAME_INTERVAL = 3_000_000_000L;
    private static final int MAX_PAYLOAD = 1100;
    /** Keeps signalling sockets alive like the web client does (the server closes sockets silent for 60 s). */
    private static final java.util.concurrent.ScheduledExecutorService KEEPALIVE =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "signalling-keepalive");
                t.setDaemon(true);
                return t;
            });
    private java.util.concurrent.ScheduledFuture<?> keepAlive;

    private final String participantId;
    private final URI wsUri;
    private final String token;
    private final EventLoopGroup group;
    private final InetAddress bind;
    private final DtlsCertificate certificate;
    private final Metrics metrics;
    private final Impairment impairment;
    /** Video bit rate per simulcast layer, lowest first; one entry: a single stream. */
    private final int[] layerKbps;
    private final long audioSsrc = ThreadLocalRandom.current().nextLong(1, 0xFFFF_FFFFL);
    private final long[] layerSsrc;
    private final long rtcpSsrc = ThreadLocalRandom.current().nextLong(1, 0xFFFF_FFFFL);
    private WebSocket ws;
    private MediaPeer pub;
    private MediaPeer sub;
    private long startNanos;
    private volatile boolean joined;
    private volatile boolean firstFrame;
    private volatile boolean closed;
    final CompletableFuture<Void> publishing = new CompletableFuture<>();

    // sender state (publish loop only)
    private int audioSeq = ThreadLocalRandom.current().nextInt(65536);
    private final int[] videoSeq;
    private final int[] pictureId;
    private final int[] tl0PicIdx;
    private final long[] nextKeyframe;
    /** Per layer, set by PLI from the bridge (its loop), read by the publish loop. */
    private final java.util.concurrent.atomic.AtomicIntegerArray keyframeRequested;
    private long audioTs;
    private long videoTs;
    private long nextAudio;
    private long nextFrame;
    private int transportSeq;
    private volatile boolean simulcastAccepted;
    private volatile int transportCcId;

    // receiver state (subscribe loop only)
    private final LongObjectHashMap<Stream> streams = new LongObjectHashMap<>();

    private static final class Stream {
        final RtpReceiveStatistics stats;
        long highest = -1;

        Stream(int clockRate) {
            this.stats = new RtpReceiveStatistics(clockRate);
        }
    }

    SimParticipant(String participantId, URI wsUri, String token, EventLoopGroup group, InetAddress bind,
                   DtlsCertificate certificate, Metrics metrics, Impairment impairment, int[] layerKbps) {
        this.participantId = participantId;
        this.wsUri = wsUri;
        this.token = token;
        this.group = group;
        this.bind = bind;
        this.certificate = certificate;
        this.metrics = metrics;
        this.impairment = impairment;
        this.layerKbps = layerKbps.clone();
        int n = layerKbps.length;
        ThreadLocalRandom r = ThreadLocalRandom.current();
        this.layerSsrc = new long[n];
        this.videoSeq = new int[n];
        this.pictureId = new int[n];
        this.tl0PicIdx = new int[n];
        this.nextKeyframe = new long[n];
        this.keyframeRequested = new java.util.concurrent.atomic.AtomicIntegerArray(n);
        for (int i = 0; i < n; i++) {
            layerSsrc[i] = r.nextLong(1, 0xFFFF_FFFEL);
            videoSeq[i] = r.nextInt(65536);
            pictureId[i] = r.nextInt(0x8000);
            tl0PicIdx[i] = r.nextInt(256);
        }
    }

    @Override
    public String id() {
        return participantId;
    }

    @Override
    public boolean joined() {
        return joined;
    }

    /** Connects and joins; media starts once the publish transport is up. */
    @Override
    public void start() {
        startNanos = System.nanoTime();
        HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10))
                .buildAsync(wsUri, new Listener())
                .whenComplete((socket, error) -> {
                    if (error != null) {
                        fail("signalling connect failed: " + error.getMessage());
                        return;
                    }
                    ws = socket;
                    send(JSON.createObjectNode().put("type", "hello").put("id", 1).put("version", 1)
                            .put("token", token));
                    keepAlive = KEEPALIVE.scheduleAtFixedRate(
                            () -> send(JSON.createObjectNode().put("type", "ping").put("id", 0)), 15, 15, TimeUnit.SECONDS);
                });
    }

    private void send(ObjectNode msg) {
        WebSocket s = ws;
        if (s != null && !closed) {
            synchronized (this) {
                s.sendText(msg.toString(), true).join();
            }
        }
    }

    void fail(String why) {
        if (!closed) {
            metrics.failures.increment();
            if (metrics.failureReasons.size() < 20) {
                metrics.failureReasons.add(participantId + ": " + why);
            }
            publishing.completeExceptionally(new IllegalStateException(participantId + ": " + why));
        }
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                String text = partial.toString();
                partial.setLength(0);
                try {
                    onMessage(JSON.readTree(text));
                } catch (Exception e) {
                    fail("signalling message failed: " + e);
                }
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            if (!closed) {
                fail("signalling closed " + statusCode + " " + reason);
            }
            return null;
        }
    }

    private static final boolean DEBUG = Boolean.getBoolean("cb.lt.debug");

    private void debug(String what) {
        if (DEBUG) {
            System.err.printf("%s %6d ms %s%n", participantId, (System.nanoTime() - startNanos) / 1_000_000, what);
        }
    }

    private void onMessage(JsonNode m) throws Exception {
        debug("recv " + m.path("type").asText());
        switch (m.path("type").asText()) {
            case "welcome" -> {
                String offer = publishOffer(newPublishPeer().transport());
                send(JSON.createObjectNode().put("type", "publishOffer").put("id", 2).put("sdp", offer));
            }
            case "publishAnswer" -> {
                pub.setRemoteDescription(m.path("sdp").asText());
                publishAnswered(m.path("sdp").asText());
                connectPublish();
            }
            case "subscribeOffer" -> onSubscribeOffer(m.path("sdp").asText());
            case "error" -> fail("error " + m.path("code").asText() + ": " + m.path("message").asText());
            default -> {
                // ack, participantJoined/Left, transportState, pong
            }
        }
    }

    private void onSubscribeOffer(String offer) throws Exception {
        boolean fresh = sub == null;
        if (!fresh) {
            String ufrag = org.consultbridge.bridge.sdp.SessionDescription.parse(offer).media().stream()
                    .filter(x -> x.port() != 0).map(x -> x.iceUfrag()).findFirst().orElse(null);
            if (ufrag != null && !ufrag.equals(sub.remoteUfrag())) {
                sub.close(); // the bridge started a new subscribe transport
                fresh = true;
            }
        }
        if (fresh) {
            newSubscribePeer();
        }
        String answer = ClientSdp.subscribeAnswer(sub.transport(), offer);
        send(JSON.createObjectNode().put("type", "subscribeAnswer").put("id", 3).put("sdp", answer));
        if (fresh && offer.contains("a=sendonly")) {
            sub.setRemoteDescription(offer);
            connectSubscribe();
        }
    }

    // ---------------------------------------------------------------- the media side, shared with JanusParticipant
    // (which brings its own signalling and drives these instead of start())

    /** Marks the start of joining, from which join time and time to first frame are measured. */
    void markJoinStart() {
        startNanos = System.nanoTime();
    }

    long audioSsrc() {
        return audioSsrc;
    }

    private static final List<String> RIDS = List.of("q", "h", "f");

    /** The publish offer: simulcast like the web client when there are several layers, else one stream. */
    String publishOffer(ClientSdp.ClientTransport transport) {
        if (layerKbps.length > 1) {
            return ClientSdp.publishOfferSimulcast(transport, audioSsrc, RIDS.subList(0, layerKbps.length));
        }
        return ClientSdp.publishOffer(transport, audioSsrc, layerSsrc[0], layerSsrc[0] + 1);
    }

    /** The server's answer decides which header extensions we may send (RFC 8285 §4.1: only negotiated ones). */
    void publishAnswered(String answerSdp) {
        simulcastAccepted = layerKbps.length > 1 && answerSdp.contains("a=simulcast:recv");
        transportCcId = answerSdp.contains("transport-wide-cc-extensions-01") ? ClientSdp.EXT_ID_TRANSPORT_CC : 0;
    }

    /** The publish peer connection, sending our media once connected. */
    MediaPeer newPublishPeer() throws InterruptedException {
        pub = new MediaPeer(group, bind, certificate, new PublishReceiver(), metrics, impairment);
        return pub;
    }

    /** After its remote description: ICE, DTLS, then media. */
    void connectPublish() {
        pub.connect().whenComplete((v, e) -> {
            if (e != null) {
                fail("publish transport failed: " + e);
            } else {
                debug("publish connected");
                pub.loop().execute(this::startMedia);
                publishing.complete(null);
            }
        });
    }

    /** The subscribe peer connection, measuring what it receives. */
    MediaPeer newSubscribePeer() throws InterruptedException {
        sub = new MediaPeer(group, bind, certificate, new SubscribeReceiver(), metrics, impairment);
        return sub;
    }

    /** After its remote description: ICE, DTLS, then receiver reports once a second. */
    void connectSubscribe() {
        MediaPeer peer = sub;
        peer.connect().whenComplete((v, e) -> {
            if (e != null) {
                fail("subscribe transport failed: " + e);
            } else {
                debug("subscribe connected");
                peer.loop().scheduleAtFixedRate(() -> sendReports(peer), 1, 1, TimeUnit.SECONDS);
            }
        });
    }

    // ---------------------------------------------------------------- sending (publish loop)

    private void startMedia() {
        long now = System.nanoTime();
        nextAudio = now;
        nextFrame = now;
        java.util.Arrays.fill(nextKeyframe, now);
        pub.loop().scheduleAtFixedRate(this::tick, 0, 10, TimeUnit.MILLISECONDS);
    }

    private void tick() {
        if (closed || !pub.isConnected()) {
            return;
        }
        long now = System.nanoTime();
        while (nextAudio <= now) {
            sendAudio(now);
            nextAudio += AUDIO_INTERVAL;
        }
        while (nextFrame <= now) {
            for (int layer = 0; layer < layerKbps.length; layer++) {
                if (layer > 0 && !simulcastAccepted) {
                    break;
                }
                boolean key = keyframeRequested.getAndSet(layer, 0) == 1 || now >= nextKeyframe[layer];
                if (key) {
                    nextKeyframe[layer] = now + KEYFRAME_INTERVAL;
                }
                sendFrame(now, layer, key);
            }
            videoTs += 3000;
            nextFrame += FRAME_INTERVAL;
        }
        pub.flush();
    }

    private void sendAudio(long now) {
        ByteBuf b = pub.allocate(12 + 80);
        header(b, 111, audioSeq++, audioTs, audioSsrc, true);
        audioTs += 960;
        b.writeInt(MAGIC).writeLong(now);
        b.writeZero(80 - 12);
        pub.sendRtp(b);
    }

    /**
     * A VP8-shaped frame of one layer: payload descriptor (RFC 7741 §4.2) with a 15-bit picture id and TL0PICIDX,
     * and, on the first packet, the frame tag; with simulcast, the mid and rid header extensions Chromium sends
     * (RFC 8852), and a transport-wide sequence number when negotiated.
     */
    private void sendFrame(long now, int layer, boolean keyframe) {
        int frameBytes = Math.max(200, layerKbps[layer] * 1000 / 8 / 30) * (keyframe ? 4 : 1);
        int packets = (frameBytes + MAX_PAYLOAD - 1) / MAX_PAYLOAD;
        if (keyframe) {
            tl0PicIdx[layer] = (tl0PicIdx[layer] + 1) & 0xFF;
        }
        pictureId[layer] = (pictureId[layer] + 1) & 0x7FFF;
        for (int i = 0; i < packets; i++) {
            int size = Math.min(MAX_PAYLOAD, frameBytes - i * MAX_PAYLOAD);
            ByteBuf b = pub.allocate(12 + 16 + size + 16);
            header(b, 96, videoSeq[layer], videoTs, layerSsrc[layer], i == packets - 1);
            videoSeq[layer] = (videoSeq[layer] + 1) & 0xFFFF;
            if (simulcastAccepted || transportCcId != 0) {
                writeExtensions(b, layer);
            }
            int start = b.writerIndex();
            b.writeByte(i == 0 ? 0x90 : 0x80); // X=1, S at the frame start, PID=0
            b.writeByte(0xC0); // I=1, L=1
            b.writeShort(0x8000 | pictureId[layer]).writeByte(tl0PicIdx[layer]);
            if (i == 0) {
                if (keyframe) {
                    b.writeByte(0x50).writeByte(0x02).writeByte(0x00); // frame tag, P=0
                    b.writeByte(0x9d).writeByte(0x01).writeByte(0x2a); // start code
                    b.writeShort(640 >> (layerKbps.length - 1 - layer)).writeShort(360 >> (layerKbps.length - 1 - layer));
                } else {
                    b.writeByte(0x51).writeByte(0x02).writeByte(0x00); // P=1: inter frame
                }
            }
            b.writeInt(MAGIC).writeLong(now);
            int filler = size - (b.writerIndex() - start);
            if (filler > 0) {
                b.writeZero(filler);
            }
            pub.sendRtp(b);
        }
    }

    /** One-byte header extensions (RFC 8285 §4.2): mid, rid, transport-wide sequence number. */
    private void writeExtensions(ByteBuf b, int layer) {
        b.setByte(0, b.getByte(0) | 0x10);
        int blockStart = b.writerIndex();
        b.writeShort(0xBEDE).writeShort(0);
        if (simulcastAccepted) {
            b.writeByte(ClientSdp.EXT_ID_MID << 4).writeByte('1');
            b.writeByte(ClientSdp.EXT_ID_RID << 4).writeByte(RIDS.get(layer).charAt(0));
        }
        if (transportCcId != 0) {
            b.writeByte((transportCcId << 4) | 1).writeShort(transportSeq);
            transportSeq = (transportSeq + 1) & 0xFFFF;
        }
        while ((b.writerIndex() - blockStart) % 4 != 0) {
            b.writeByte(0);
        }
        b.setShort(blockStart + 2, (b.writerIndex() - blockStart - 4) / 4);
    }

    private static void header(ByteBuf b, int pt, int seq, long ts, long ssrc, boolean marker) {
        b.writeByte(0x80);
        b.writeByte((marker ? 0x80 : 0) | pt);
        b.writeShort(seq);
        b.writeInt((int) ts);
        b.writeInt((int) ssrc);
    }

    private final class PublishReceiver implements MediaPeer.Receiver {
        @Override
        public void onRtp(ByteBuf rtp, long nowNanos) {
            // nothing arrives on a publish transport
        }

        @Override
        public void onRtcp(ByteBuf rtcp) {
            int off = rtcp.readerIndex();
            while (off + 4 <= rtcp.writerIndex()) {
                int type = RtcpPacket.packetType(rtcp, off);
                if (type == RtcpPacket.PSFB && RtcpPacket.fmt(rtcp, off) == 1) {
                    long target = RtcpPacket.mediaSsrc(rtcp, off);
                    for (int layer = 0; layer < layerSsrc.length; layer++) {
                        if (layerSsrc[layer] == target) {
                            metrics.plisReceived.increment();
                            keyframeRequested.set(layer, 1);
                        }
                    }
                }
                off += RtcpPacket.lengthBytes(rtcp, off);
            }
        }
    }

    // ---------------------------------------------------------------- receiving (subscribe loop)

    private final class SubscribeReceiver implements MediaPeer.Receiver {
        @Override
        public void onRtp(ByteBuf rtp, long now) {
            if (!RtpPacket.isValidRtp(rtp)) {
                metrics.malformed.increment();
                return;
            }
            long ssrc = RtpPacket.ssrc(rtp);
            boolean video = RtpPacket.payloadType(rtp) != 111;
            Stream s = streams.get(ssrc);
            if (s == null) {
                s = new Stream(video ? 90000 : 48000);
                streams.put(ssrc, s);
            }
            int seq = RtpPacket.sequenceNumber(rtp);
            s.stats.onPacket(seq, RtpPacket.timestamp(rtp), now);
            long ext = s.stats.extendedHighestSeq();
            metrics.packetsReceived.increment();
            if (s.highest < 0) {
                metrics.packetsExpected.increment();
            } else if (ext > s.highest) {
                metrics.packetsExpected.add(ext - s.highest);
                if (ext - s.highest > 1) {
                    nack(ssrc, s.highest + 1, ext);
                }
            }
            s.highest = Math.max(s.highest, ext);
            int off = RtpPacket.payloadOffset(rtp);
            int len = RtpPacket.payloadLength(rtp);
            for (int i = off; i <= off + Math.min(len - 12, 16); i++) {
                if (rtp.getInt(i) == MAGIC) {
                    metrics.latency.record(now - rtp.getLong(i + 4));
                    break;
                }
            }
            if (!joined) {
                debug("first media");
                joined = true;
                metrics.joinMillis.add((now - startNanos) / 1_000_000);
            }
            if (video && !firstFrame && Vp8Payload.isKeyframe(rtp, off, len)) {
                firstFrame = true;
                metrics.firstFrameMillis.add((now - startNanos) / 1_000_000);
            }
        }

        @Override
        public void onRtcp(ByteBuf rtcp) {
            // sender reports from the bridge: not needed for the measurements
        }
    }

    /** RFC 4585 §6.2.1: ask for what is missing (at most 16 at once, like a browser's short NACK list). */
    private void nack(long ssrc, long fromExt, long toExtExclusive) {
        int n = (int) Math.min(16, toExtExclusive - fromExt);
        int[] lost = new int[n];
        for (int i = 0; i < n; i++) {
            lost[i] = (int) ((fromExt + i) & 0xFFFF);
        }
        ByteBuf b = sub.allocate(12 + 4 * n);
        RtcpWriter.writeNack(b, rtcpSsrc, ssrc, lost, n);
        sub.sendRtcp(b);
        metrics.nacksSent.increment();
    }

    /** RFC 3550 §6.4.2: one receiver report a second for what we receive. */
    private void sendReports(MediaPeer peer) {
        if (closed || peer != sub || !peer.isConnected() || streams.isEmpty()) {
            return;
        }
        int count = Math.min(31, streams.size());
        ByteBuf b = peer.allocate(8 + 24 * count);
        RtcpWriter.writeReceiverReport(b, rtcpSsrc, count);
        int i = 0;
        for (LongObjectHashMap.PrimitiveEntry<Stream> e : streams.entries()) {
            if (i++ == count) {
                break;
            }
            RtpReceiveStatistics st = e.value().stats;
            RtcpWriter.writeReportBlock(b, e.key(), st.fractionLostSinceLastReport(), st.cumulativeLost(),
                    st.extendedHighestSeq(), st.jitterRtpUnits(), 0, 0);
        }
        peer.sendRtcp(b);
        peer.flush();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (keepAlive != null) {
            keepAlive.cancel(false);
        }
        WebSocket s = ws;
        if (s != null) {
            try {
                s.sendText("{\"type\":\"leave\",\"id\":9}", true).get(2, TimeUnit.SECONDS);
                s.sendClose(WebSocket.NORMAL_CLOSURE, "done");
            } catch (Exception ignored) {
                s.abort();
            }
        }
        if (pub != null) {
            pub.close();
        }
        if (sub != null) {
            sub.close();
        }
    }
}
