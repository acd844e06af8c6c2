package org.consultbridge.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoopGroup;
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
import org.consultbridge.bridge.sdp.ClientSdp;

/**
 * One simulated participant: the real signalling protocol over a WebSocket, a publish peer connection sending
 * Opus-sized audio every 20 ms and VP8-shaped video at 30 fps (keyframes every 3 s and on PLI), and a subscribe
 * peer connection that decrypts what the bridge forwards, measures loss and added latency (the send time travels
 * in the payload), and sends the feedback a browser would ({@link MediaReceiver}: transport-cc, receiver reports,
 * NACK, PLI). A server that turns the participant away or closes its socket is recorded as a refusal or a drop.
 */
final class SimParticipant implements Participant {

    /** Marks our payloads: "CBLT", then the sender's System.nanoTime(), then one byte of {@code FLAG_*}. */
    static final int MAGIC = 0x43424C54;
    /** The sender is behind an emulated link: its streams are measured apart from the objectives. */
    static final int FLAG_IMPAIRED = 0x80;
    /** The packet belongs to the sender's top simulcast layer (or its only video stream). */
    static final int FLAG_TOP_LAYER = 0x04;
    /** Marker, send time, flags, the sender's {@link #tag}. */
    static final int MARKER_BYTES = 4 + 8 + 1 + 4;
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
    private final boolean impaired;
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
    /** A simulated doctor admits everyone who waits, once (signalling thread only). */
    private final java.util.Set<String> admitting = new java.util.HashSet<>();
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
    private long nextSenderReport;
    private static final long SENDER_REPORT_INTERVAL = 1_000_000_000L;
    private long audioPackets;
    private long audioOctets;
    private final long[] layerPackets;
    private final long[] layerOctets;
    private int transportSeq;
    private volatile boolean simulcastAccepted;
    private volatile int transportCcId;

    /** Identifies this participant's media in the payload, so receivers can tell whom they heard. */
    private final int tag;
    /** Sender tag to {@code HEARD_*} bits: whose audio and video arrived (written once per new stream). */
    private final java.util.Map<Integer, Integer> heardFrom = new java.util.concurrent.ConcurrentHashMap<>();
    static final int HEARD_AUDIO = 1;
    static final int HEARD_VIDEO = 2;
    /** The receive side of the current subscribe peer connection. */
    private volatile MediaReceiver receiver;
    /** The server turned this participant away (error code or close code while joining), or null. */
    private volatile String refusal;
    /** The server closed this participant's signalling after it joined (close code and reason), or null. */
    private volatile String dropped;
    private volatile boolean welcomed;

    SimParticipant(String participantId, URI wsUri, String token, EventLoopGroup group, InetAddress bind,
                   DtlsCertificate certificate, Metrics metrics, Impairment impairment, int[] layerKbps) {
        this.participantId = participantId;
        this.tag = participantId.hashCode();
        this.wsUri = wsUri;
        this.token = token;
        this.group = group;
        this.bind = bind;
        this.certificate = certificate;
        this.metrics = metrics;
        this.impairment = impairment;
        this.impaired = !impairment.none();
        this.layerKbps = layerKbps.clone();
        int n = layerKbps.length;
        ThreadLocalRandom r = ThreadLocalRandom.current();
        this.layerSsrc = new long[n];
        this.videoSeq = new int[n];
        this.pictureId = new int[n];
        this.tl0PicIdx = new int[n];
        this.nextKeyframe = new long[n];
        this.keyframeRequested = new java.util.concurrent.atomic.AtomicIntegerArray(n);
        this.layerPackets = new long[n];
        this.layerOctets = new long[n];
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
                String code = statusCode + (reason == null || reason.isBlank() ? "" : " " + reason);
                if (!welcomed) {
                    refuse("close " + code);
                } else {
                    drop("close " + code);
                }
            }
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            if (!closed) {
                if (!welcomed) {
                    refuse("socket error " + error.getClass().getSimpleName());
                } else {
                    drop("socket error " + error.getClass().getSimpleName());
                }
            }
        }
    }

    /**
     * The server refused this participant: counted by its first reason (the error code; a close that follows it
     * is the same refusal), reported as a refusal, not as a failure of the generator.
     */
    void refuse(String code) {
        if (!closed && refusal == null) {
            refusal = code;
            metrics.countRefusal(code);
            publishing.completeExceptionally(new IllegalStateException(participantId + ": refused: " + code));
        }
    }

    /** The server closed this participant's signalling after it joined: counted once, by its first reason. */
    void drop(String code) {
        if (!closed && dropped == null) {
            dropped = code;
            metrics.countDrop(code);
        }
    }

    @Override
    public boolean publishing() {
        return publishing.isDone() && !publishing.isCompletedExceptionally();
    }

    @Override
    public int tag() {
        return tag;
    }

    @Override
    public int heardFrom(int senderTag) {
        return heardFrom.getOrDefault(senderTag, 0);
    }

    @Override
    public String refusal() {
        return refusal;
    }

    @Override
    public String dropped() {
        return dropped;
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
            // the waiting room (docs/protocol.md): rooms and guests publish once admitted; a doctor admits all
            case "welcome" -> {
                welcomed = true;
                if (m.path("admitted").asBoolean(true)) {
                    sendPublishOffer();
                }
            }
            case "admitted" -> sendPublishOffer();
            case "waitingRoom" -> m.path("waiting").forEach(w -> {
                if (admitting.add(w.path("participantId").asText())) {
                    send(JSON.createObjectNode().put("type", "admit").put("id", 4)
                            .put("participantId", w.path("participantId").asText()));
                }
            });
            case "publishAnswer" -> {
                pub.setRemoteDescription(m.path("sdp").asText());
                publishAnswered(m.path("sdp").asText());
                connectPublish();
            }
            case "subscribeOffer" -> onSubscribeOffer(m.path("sdp").asText());
            case "error" -> {
                String code = m.path("code").asText("unknown");
                if (!welcomed) {
                    refuse(code); // the server turned the join away (consultation-full, draining, rate-limited ...)
                } else {
                    metrics.countError(code); // a request of ours was refused: reported per code, the step fails
                    debug("error " + code + ": " + m.path("message").asText());
                }
            }
            default -> {
                // ack, participantJoined/Left, transportState, pong
            }
        }
    }

    private void sendPublishOffer() throws Exception {
        String offer = publishOffer(newPublishPeer().transport());
        send(JSON.createObjectNode().put("type", "publishOffer").put("id", 2).put("sdp", offer));
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
        subscribeOffered(offer);
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

    /** The subscribe peer connection, measuring what it receives (a fresh receive side with each transport). */
    MediaPeer newSubscribePeer() throws InterruptedException {
        MediaReceiver r = new MediaReceiver(metrics, rtcpSsrc, !impairment.none(), new MediaReceiver.Milestones() {
            @Override
            public void firstMedia(long now) {
                if (!joined) {
                    debug("first media");
                    joined = true;
                    metrics.joinMillis.add((now - startNanos) / 1_000_000);
                }
            }

            @Override
            public void firstKeyframe(long now) {
                if (!firstFrame) {
                    firstFrame = true;
                    metrics.firstFrameMillis.add((now - startNanos) / 1_000_000);
                }
            }

            @Override
            public void heard(int senderTag, boolean video) {
                heardFrom.merge(senderTag, video ? HEARD_VIDEO : HEARD_AUDIO, (x, y) -> x | y);
            }
        });
        MediaReceiver old = receiver;
        if (old != null) {
            old.stop();
        }
        receiver = r;
        sub = new MediaPeer(group, bind, certificate, r, metrics, impairment);
        return sub;
    }

    /** The streams, header extensions and RTX pairing of a subscribe offer (ours or Janus's). */
    void subscribeOffered(String offerSdp) throws org.consultbridge.bridge.sdp.SdpException {
        receiver.setLayout(MediaReceiver.Layout.of(offerSdp));
    }

    /** After its remote description: ICE, DTLS, then the receiver's feedback (transport-cc, NACK, PLI, reports). */
    void connectSubscribe() {
        MediaPeer peer = sub;
        MediaReceiver r = receiver;
        peer.connect().whenComplete((v, e) -> {
            if (e != null) {
                fail("subscribe transport failed: " + e);
            } else {
                debug("subscribe connected");
                r.start(peer);
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
        if (now >= nextSenderReport) {
            nextSenderReport = now + SENDER_REPORT_INTERVAL;
            sendSenderReports();
        }
        pub.flush();
    }

    /**
     * RFC 3550 §6.4.1: a sender report per stream once a second, as a browser sends them; the server translates
     * them to the receivers, whose receiver reports then carry LSR/DLSR, and the server learns their round trip.
     */
    private void sendSenderReports() {
        int layers = simulcastAccepted ? layerKbps.length : 1;
        ByteBuf b = pub.allocate(28 * (1 + layers));
        long ntp = org.consultbridge.bridge.rtcp.NtpTime.nowNtp();
        RtcpWriter.writeSenderReport(b, audioSsrc, ntp, audioTs, audioPackets, audioOctets);
        for (int layer = 0; layer < layers; layer++) {
            RtcpWriter.writeSenderReport(b, layerSsrc[layer], ntp, videoTs, layerPackets[layer], layerOctets[layer]);
        }
        pub.sendRtcp(b);
    }

    private void sendAudio(long now) {
        ByteBuf b = pub.allocate(12 + 80);
        header(b, 111, audioSeq++, audioTs, audioSsrc, true);
        audioTs += 960;
        audioPackets++;
        audioOctets += 80;
        b.writeInt(MAGIC).writeLong(now).writeByte(impaired ? FLAG_IMPAIRED : 0).writeInt(tag);
        b.writeZero(80 - MARKER_BYTES);
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
            layerPackets[layer]++;
            layerOctets[layer] += size;
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
            b.writeInt(MAGIC).writeLong(now)
                    .writeByte((impaired ? FLAG_IMPAIRED : 0) | (layer == layerKbps.length - 1 ? FLAG_TOP_LAYER : 0))
                    .writeInt(tag);
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
        MediaReceiver r = receiver;
        if (r != null) {
            r.stop();
        }
        if (sub != null) {
            sub.close();
        }
    }
}
