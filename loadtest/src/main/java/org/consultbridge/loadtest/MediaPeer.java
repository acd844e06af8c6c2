package org.consultbridge.loadtest;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.dtls.DtlsCertificate;
import org.consultbridge.bridge.dtls.DtlsListener;
import org.consultbridge.bridge.dtls.DtlsRole;
import org.consultbridge.bridge.dtls.DtlsSession;
import org.consultbridge.bridge.dtls.SrtpKeys;
import org.consultbridge.bridge.netem.LinkShaper;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.consultbridge.bridge.sdp.ClientSdp.ClientTransport;
import org.consultbridge.bridge.sdp.MediaDescription;
import org.consultbridge.bridge.sdp.SdpException;
import org.consultbridge.bridge.sdp.SessionDescription;
import org.consultbridge.bridge.srtp.SrtpTransformer;
import org.consultbridge.bridge.stun.StunClass;
import org.consultbridge.bridge.stun.StunException;
import org.consultbridge.bridge.stun.StunMessage;
import org.consultbridge.bridge.stun.StunMessageBuilder;

/**
 * One simulated peer connection, as a browser runs it against an ICE-lite server: a UDP socket, ICE as the
 * controlling agent (nominating Binding requests, then consent checks every 5 s, RFC 7675), the DTLS client and
 * SRTP; all on one Netty event loop, which also owns its SRTP contexts.
 */
final class MediaPeer implements AutoCloseable, RtcpSink {

    interface Receiver {
        /** A decrypted RTP packet (on the peer's loop; the buffer is released after the call). */
        void onRtp(ByteBuf rtp, long nowNanos);

        /** A decrypted RTCP compound packet. */
        void onRtcp(ByteBuf rtcp);
    }

    private static final long CONSENT_INTERVAL_MS = 5000;
    /**
     * A platform thread per DTLS session, as each browser has its own: on virtual threads, all simulated clients
     * shared the generator's one carrier (it is pinned to one core), and a client's handshake step waited behind the
     * others' (measured: 45 ms median, 170 ms at the 90th percentile from the datagram's arrival to its handshake
     * thread), which the join time counted against the server.
     */
    private static final java.util.concurrent.ThreadFactory DTLS_THREADS =
            Thread.ofPlatform().daemon().name("sim-dtls-", 0).factory();
    private final Channel channel;
    private final EventLoop loop;
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final DtlsCertificate certificate;
    private final String ufrag;
    private final String pwd;
    private final Receiver receiver;
    private final Metrics metrics;
    private InetSocketAddress remote;
    private String remoteUfrag;
    private byte[] remotePwd;
    private String remoteFingerprint;
    private DtlsSession dtls;
    private SrtpTransformer srtp;
    /** Our DTLS role, decided by the remote a=setup (RFC 5763 §5): client unless the remote says it is active. */
    private DtlsRole dtlsRole = DtlsRole.CLIENT;
    /** False against a full ICE agent that offered (Janus's subscribe offer): we are then the controlled agent. */
    private boolean iceControlling = true;
    private boolean checkSucceeded;
    private boolean nominatedByPeer;
    private final CompletableFuture<Void> iceDone = new CompletableFuture<>();
    private final CompletableFuture<Void> connected = new CompletableFuture<>();
    /** The emulated link of an impaired participant, one shaper and one delay line per direction (else null). */
    private final LinkShaper upLink;
    private final LinkShaper downLink;
    private final DelayLine upQueue;
    private final DelayLine downQueue;
    private ScheduledFuture<?> linkTick;
    private volatile boolean closed;

    MediaPeer(EventLoopGroup group, InetAddress bind, DtlsCertificate certificate, Receiver receiver, Metrics metrics,
              Impairment impairment) throws InterruptedException {
        this.certificate = certificate;
        this.receiver = receiver;
        this.metrics = metrics;
        this.ufrag = randomIce(8);
        this.pwd = randomIce(24);
        Bootstrap b = new Bootstrap().group(group)
                .channel(io.netty.channel.epoll.Epoll.isAvailable()
                        ? io.netty.channel.epoll.EpollDatagramChannel.class : NioDatagramChannel.class)
                .option(ChannelOption.SO_RCVBUF, 1 << 20)
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(2048))
                .handler(new Handler());
        this.channel = b.bind(bind, 0).sync().channel();
        this.loop = channel.eventLoop();
        if (impairment.none()) {
            upLink = null;
            downLink = null;
            upQueue = null;
            downQueue = null;
        } else {
            upLink = impairment.newShaper();
            downLink = impairment.newShaper();
            upQueue = new DelayLine();
            downQueue = new DelayLine();
            // one periodic task (re-armed by Netty without allocating) releases what is due, 1 ms resolution
            linkTick = loop.scheduleAtFixedRate(this::deliverDue, 1, 1, TimeUnit.MILLISECONDS);
        }
    }

    private static String randomIce(int n) {
        String chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(chars.charAt(ThreadLocalRandom.current().nextInt(chars.length())));
        }
        return sb.toString();
    }

    ClientTransport transport() {
        return new ClientTransport(ufrag, pwd, certificate.sha256Fingerprint());
    }

    EventLoop loop() {
        return loop;
    }

    String remoteUfrag() {
        return remoteUfrag;
    }

    /** The address our socket is bound to: the host candidate we announce to a full ICE agent. */
    InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    /**
     * Called before {@link #connect()} when the remote is a full ICE agent that sent the offer: it is then the
     * controlling agent and nominates (RFC 8445 §6.1.1), we check as the controlled one.
     */
    void setIceControlled() {
        iceControlling = false;
    }

    /**
     * Takes the remote ICE credentials, fingerprint, DTLS role and UDP candidate from its SDP. The candidate may sit
     * in any m-line (a bundled full ICE agent lists them in the first one only); a host candidate is preferred.
     */
    void setRemoteDescription(String sdp) throws SdpException {
        SessionDescription d = SessionDescription.parse(sdp);
        MediaDescription m = d.media().stream().filter(x -> x.port() != 0).findFirst()
                .orElseThrow(() -> new SdpException("no active m-line"));
        java.util.List<String> udp = d.media().stream().flatMap(x -> x.candidates().stream())
                .filter(c -> c.split(" ").length >= 8 && c.split(" ")[2].equalsIgnoreCase("udp")).toList();
        String cand = udp.stream().filter(c -> c.contains(" typ host")).findFirst()
                .or(() -> udp.stream().findFirst()).orElseThrow(() -> new SdpException("no UDP candidate"));
        String[] f = cand.split(" ");
        remote = new InetSocketAddress(f[4], Integer.parseInt(f[5]));
        remoteUfrag = m.iceUfrag();
        remotePwd = m.icePwd().getBytes(StandardCharsets.UTF_8);
        remoteFingerprint = m.fingerprint().value();
        // RFC 5763 §5: the remote active means it opens DTLS, so we serve; passive or actpass: we are the client
        dtlsRole = m.setup() == org.consultbridge.bridge.sdp.Setup.ACTIVE ? DtlsRole.SERVER : DtlsRole.CLIENT;
    }

    /**
     * ICE (checks until answered; nominating when controlling), then the DTLS handshake in the role the SDP gave
     * us. As server the session is listening from the start: the remote client may send its ClientHello as soon as
     * its own ICE check succeeded, before ours did.
     */
    CompletableFuture<Void> connect() {
        loop.execute(this::sendCheck);
        if (dtlsRole == DtlsRole.SERVER) {
            loop.execute(this::startDtls);
        }
        iceDone.thenRun(() -> {
            if (dtlsRole == DtlsRole.CLIENT) {
                loop.execute(this::startDtls);
            }
            loop.scheduleAtFixedRate(this::sendConsentCheck, CONSENT_INTERVAL_MS, CONSENT_INTERVAL_MS,
                    TimeUnit.MILLISECONDS);
        });
        return connected;
    }

    private void startDtls() {
        if (dtls != null || closed) {
            return;
        }
        DtlsRole role = dtlsRole;
        dtls = new DtlsSession(certificate, role, this::sendDtls, new DtlsListener() {
                @Override
                public void onHandshakeComplete(SrtpKeys keys) {
                    loop.execute(() -> {
                        srtp = SrtpTransformer.create(keys, role);
                        connected.complete(null);
                    });
                }

                @Override
                public void onHandshakeFailed(Exception cause) {
                    connected.completeExceptionally(cause);
                }

                @Override
                public void onClosed() {
                }
            });
        dtls.setRemoteFingerprint("sha-256", remoteFingerprint);
        dtls.start(DTLS_THREADS);
    }

    private void sendCheck() {
        if (iceDone.isDone() || closed) {
            return;
        }
        sendBindingRequest();
        loop.schedule(this::sendCheck, 100, TimeUnit.MILLISECONDS);
    }

    private void sendConsentCheck() {
        if (!closed) {
            sendBindingRequest();
        }
    }

    /**
     * RFC 8445 §7.2.2 / §8.1.1: as controlling agent, regular nomination collapsed into USE-CANDIDATE on the first
     * check; as controlled agent (§7.2.5), plain checks: the remote nominates.
     */
    private void sendBindingRequest() {
        StunMessageBuilder b = StunMessageBuilder.bindingRequest(StunMessageBuilder.newTransactionId())
                .username(remoteUfrag + ":" + ufrag)
                .priority(1_845_501_695L);
        if (iceControlling) {
            b.iceControlling(ThreadLocalRandom.current().nextLong()).useCandidate();
        } else {
            b.iceControlled(ThreadLocalRandom.current().nextLong());
        }
        emit(Unpooled.wrappedBuffer(b.build(remotePwd, true)), true);
    }

    /** Our checks succeeded, and (controlled) the remote has nominated our pair (RFC 8445 §7.3.1.5, §8.1.1). */
    private void maybeIceDone() {
        if (checkSucceeded && (iceControlling || nominatedByPeer)) {
            iceDone.complete(null);
        }
    }

    /**
     * A full ICE agent checks our candidate too (RFC 8445 §7.3): a Binding request for "ourUfrag:theirUfrag" whose
     * MESSAGE-INTEGRITY verifies with our password gets a success response carrying the source address it came
     * from (§7.3.1.1, RFC 5389 §10.1.2). Anything else is dropped silently, as §7.3 allows for a bad USERNAME.
     */
    private void answerCheck(StunMessage m, InetSocketAddress sender) {
        String user = m.username();
        if (user == null || !user.startsWith(ufrag + ":")
                || !m.checkMessageIntegrity(pwd.getBytes(StandardCharsets.UTF_8))) {
            metrics.malformed.increment();
            return;
        }
        byte[] resp = StunMessageBuilder.bindingSuccess(m.transactionId()).xorMappedAddress(sender)
                .build(pwd.getBytes(StandardCharsets.UTF_8), true);
        channel.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(resp), sender), channel.voidPromise());
        if (m.hasUseCandidate() && !iceControlling) {
            nominatedByPeer = true;
            maybeIceDone();
        }
    }

    private void sendDtls(byte[] data, int off, int len) {
        ByteBuf b = Unpooled.copiedBuffer(data, off, len);
        loop.execute(() -> emit(b, true));
    }

    @Override
    public boolean isConnected() {
        return srtp != null;
    }

    /** On the loop: encrypts and queues an RTP packet (takes ownership). */
    void sendRtp(ByteBuf plain) {
        if (srtp == null || !srtp.protectRtp(plain)) {
            plain.release();
            return;
        }
        metrics.packetsSent.increment();
        metrics.bytesSent.add(plain.readableBytes());
        emit(plain, false);
    }

    @Override
    public void sendRtcp(ByteBuf plain) {
        if (srtp == null || !srtp.protectRtcp(plain)) {
            plain.release();
            return;
        }
        emit(plain, false);
    }

    @Override
    public ByteBuf allocate(int size) {
        return alloc.heapBuffer(size + SrtpTransformer.MAX_TRAILER);
    }

    @Override
    public void flush() {
        channel.flush();
    }

    /**
     * Sends a datagram, through the emulated uplink when the participant is impaired: {@link LinkShaper} decides
     * loss and delivery time (rate with a bounded queue, delay, jitter), the delay line holds it until then.
     */
    private void emit(ByteBuf b, boolean flush) {
        if (upLink == null) {
            if (flush) {
                channel.writeAndFlush(new DatagramPacket(b, remote), channel.voidPromise());
            } else {
                channel.write(new DatagramPacket(b, remote), channel.voidPromise());
            }
            return;
        }
        long now = System.nanoTime();
        long at = upLink.deliveryTime(b.readableBytes() + UDP_IP_OVERHEAD, now);
        if (at == LinkShaper.DROPPED) {
            b.release();
            metrics.linkDropped.increment();
        } else if (!upQueue.add(b, at, remote)) {
            metrics.linkDropped.increment();
        }
    }

    /** IPv4 and UDP headers: the shaper's rate counts IP packets. */
    private static final int UDP_IP_OVERHEAD = 28;

    /** On the loop, every millisecond while impaired: datagrams whose delivery time has come, both directions. */
    private void deliverDue() {
        long now = System.nanoTime();
        boolean wrote = false;
        while (upQueue.due(now)) {
            InetSocketAddress to = upQueue.peekAddress();
            ByteBuf b = upQueue.poll();
            if (closed) {
                b.release();
            } else {
                channel.write(new DatagramPacket(b, to), channel.voidPromise());
                wrote = true;
            }
        }
        while (downQueue.due(now)) {
            InetSocketAddress from = downQueue.peekAddress();
            ByteBuf b = downQueue.poll();
            try {
                if (!closed) {
                    process(b, from);
                }
            } finally {
                b.release();
            }
        }
        if (wrote) {
            channel.flush();
        }
    }

    private final class Handler extends SimpleChannelInboundHandler<DatagramPacket> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            ByteBuf content = packet.content();
            InetSocketAddress sender = packet.sender();
            if (downLink != null) {
                long now = System.nanoTime();
                long at = downLink.deliveryTime(content.readableBytes() + UDP_IP_OVERHEAD, now);
                if (at == LinkShaper.DROPPED) {
                    metrics.linkDropped.increment();
                    return;
                }
                if (at - now > 0) {
                    ByteBuf copy = alloc.heapBuffer(content.readableBytes());
                    copy.writeBytes(content, content.readerIndex(), content.readableBytes());
                    if (!downQueue.add(copy, at, sender)) {
                        metrics.linkDropped.increment();
                    }
                    return;
                }
            }
            process(content, sender);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            metrics.malformed.increment();
        }
    }

    private void process(ByteBuf content, InetSocketAddress sender) {
        if (content.readableBytes() < 1) {
            return;
        }
        int first = content.getUnsignedByte(content.readerIndex());
        if (first <= 3) {
            try {
                StunMessage m = StunMessage.decode(content);
                if (m.messageClass() == StunClass.SUCCESS_RESPONSE && remotePwd != null
                        && m.checkMessageIntegrity(remotePwd)) {
                    checkSucceeded = true;
                    maybeIceDone();
                } else if (m.messageClass() == StunClass.REQUEST) {
                    answerCheck(m, sender);
                }
            } catch (StunException e) {
                metrics.malformed.increment();
            }
        } else if (first >= 20 && first <= 63) {
            if (dtls != null) {
                byte[] d = new byte[content.readableBytes()];
                content.getBytes(content.readerIndex(), d);
                dtls.offer(d, 0, d.length);
            }
        } else if (first >= 128 && first <= 191 && srtp != null) {
            ByteBuf pkt = alloc.heapBuffer(content.readableBytes());
            try {
                pkt.writeBytes(content, content.readerIndex(), content.readableBytes());
                long now = System.nanoTime();
                if (RtcpPacket.isRtcp(pkt)) {
                    if (srtp.unprotectRtcp(pkt) && RtcpPacket.isValidCompound(pkt)) {
                        receiver.onRtcp(pkt);
                    } else {
                        metrics.malformed.increment();
                    }
                } else if (srtp.unprotectRtp(pkt)) {
                    receiver.onRtp(pkt, now);
                } else {
                    metrics.malformed.increment();
                }
            } finally {
                pkt.release();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        if (dtls != null) {
            dtls.close();
        }
        if (linkTick != null) {
            linkTick.cancel(false);
            loop.execute(() -> {
                upQueue.clear();
                downQueue.clear();
            });
        }
        channel.close();
    }
}
