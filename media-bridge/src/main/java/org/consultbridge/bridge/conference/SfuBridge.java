package org.consultbridge.bridge.conference;

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
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.api.BridgeEndpoint;
import org.consultbridge.bridge.api.BridgeStats;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.api.TransportDirection;
import org.consultbridge.bridge.dtls.DtlsCertificate;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.sdp.IceCandidate;
import org.consultbridge.bridge.sdp.MediaCapabilities;
import org.consultbridge.bridge.sdp.SdpException;
import org.consultbridge.bridge.srtp.SrtpTransformer;
import org.consultbridge.bridge.stun.StunClass;
import org.consultbridge.bridge.stun.StunException;
import org.consultbridge.bridge.stun.StunMessage;
import org.consultbridge.bridge.stun.StunMessageBuilder;
import org.consultbridge.bridge.transport.ConsentFreshness;
import org.consultbridge.bridge.transport.DropReason;
import org.consultbridge.bridge.transport.HostCandidates;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker of the media bridge: one UDP socket (and one ICE-TCP listener) on one Netty event loop, demultiplexed
 * per RFC 7983, carrying every endpoint of the conferences placed on it (mediasoup's worker model: a conference
 * never spans two workers, so forwarding never crosses threads and nothing is locked). All mutable state lives on
 * that loop; calls from the signalling side hop onto it. {@link WorkerPool} runs one per core.
 */
public final class SfuBridge implements MediaBridge {

    private static final Logger LOG = LoggerFactory.getLogger(SfuBridge.class);
    /** Receive buffer per datagram: larger than any path MTU; bigger datagrams arrive truncated and are dropped. */
    static final int MAX_DATAGRAM = 2048;
    private static final long CALL_TIMEOUT_SECONDS = 10;
    /**
     * Datagrams per receive system call with epoll (recvmmsg(2); 1 = one recvmsg per datagram). 16 took the event
     * loop's CPU at 20 load-test consultations from 429 to 288 ms/s together with the leak detector off
     * (-Dconsultbridge.bridge.receive-batch=1 goes back).
     */
    static final int RECEIVE_BATCH = Integer.getInteger("consultbridge.bridge.receive-batch", 16);

    private final BridgeConfig config;
    private final int index;
    private final Consumer<String> conferenceGone;
    private volatile int endpointCount;
    private volatile LongConsumer lagRecorder;
    private final AtomicLong maxLagNanos = new AtomicLong();
    static final long LAG_PROBE_NANOS = 10_000_000L;
    private final EventLoopGroup group;
    private final EventLoop loop;
    private final Channel channel;
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final DtlsCertificate certificate;
    private final List<IceCandidate> candidates;
    private final MediaCapabilities capabilities;
    private final int udpPort;
    /** RFC 7675 consent timeout of every transport ({@link ConsentFreshness#TIMEOUT_PROPERTY}, 30 s by default). */
    private final long consentTimeoutNanos;
    /** ICE-TCP listener (RFC 6544), on {@link #loop}; null when off. */
    private final IceTcpServer tcp;

    private final Map<String, Conference> conferences = new LinkedHashMap<>();
    private final Map<String, Transport> transportsByUfrag = new HashMap<>();
    private final Map<InetSocketAddress, Transport> transportsByAddress = new HashMap<>();
    private final long[] drops = new long[DropReason.values().length];
    private long datagramsReceived;
    private long rtpReceived;
    private long rtpForwarded;
    private long rtcpReceived;
    private long rtpBytesReceived;
    private long rtpBytesForwarded;
    private final QualitySnapshots qualitySnapshots = new QualitySnapshots();
    private long dtlsFailures;
    private long iceFailures;
    private boolean flushPending;

    private SfuBridge(BridgeConfig config, int index, DtlsCertificate certificate, Consumer<String> conferenceGone)
            throws InterruptedException {
        this.config = config;
        this.index = index;
        this.conferenceGone = conferenceGone;
        this.consentTimeoutNanos = ConsentFreshness.configuredTimeoutNanos();
        this.certificate = certificate;
        SrtpTransformer.warmUp(); // never on the event loop
        LOG.info("SRTP AES implementation: {}", SrtpTransformer.AES_FACTORY.endsWith("OpenSSLCipherFactory")
                ? "OpenSSL (jitsi-srtp's libjitsisrtp)" : "SunJCE");
        this.capabilities = MediaCapabilities.defaults().withSimulcast(true)
                .withTransportCc(!Boolean.getBoolean("consultbridge.bridge.no-transport-cc"))
                .withAudioRed(!Boolean.getBoolean("consultbridge.bridge.no-red"));
        boolean epoll = Epoll.isAvailable();
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("bridge-worker-" + index, true),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.loop = group.next();
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(epoll ? EpollDatagramChannel.class : NioDatagramChannel.class)
                .option(ChannelOption.ALLOCATOR, alloc)
                .option(ChannelOption.SO_RCVBUF, 4 * 1024 * 1024)
                .option(ChannelOption.SO_SNDBUF, 4 * 1024 * 1024)
                .handler(new InboundHandler());
        if (epoll && RECEIVE_BATCH > 1) {
            // recvmmsg(2): up to RECEIVE_BATCH datagrams per system call (Netty slices them out of one buffer)
            b.option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_DATAGRAM)
                    .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_DATAGRAM * RECEIVE_BATCH));
        } else {
            b.option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_DATAGRAM));
        }
        // worker i takes the configured port + i (0: any free port): the firewall opens a range, see the README
        this.channel = b.bind(config.bindAddress(), config.udpPort() == 0 ? 0 : config.udpPort() + index).sync().channel();
        this.udpPort = ((InetSocketAddress) channel.localAddress()).getPort();
        IceTcpServer tcpServer = null;
        try {
            tcpServer = config.tcpEnabled() ? new IceTcpServer(this, loop, epoll, config.bindAddress(),
                    config.tcpPort() > 0 ? config.tcpPort() + index : config.tcpPort()) : null;
        } catch (RuntimeException | InterruptedException e) {
            channel.close();
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
        this.tcp = tcpServer;
        this.candidates = HostCandidates.forConfig(config, udpPort, tcpPort());
        loop.scheduleAtFixedRate(this::onTick, 1, 1, TimeUnit.SECONDS);
        loop.scheduleAtFixedRate(this::onFastTick, FAST_TICK_MILLIS, FAST_TICK_MILLIS, TimeUnit.MILLISECONDS);
        loop.execute(this::scheduleLagProbe);
        LOG.info("media bridge worker {} on udp {}:{}{} ({}), candidates {}", index, config.bindAddress(), udpPort,
                tcp == null ? "" : " and tcp " + tcp.port(), epoll ? "epoll" : "nio",
                candidates.stream().map(IceCandidate::address).toList());
    }

    /** One worker on its own, with a certificate of its own (tests of the bridge alone). */
    public static SfuBridge start(BridgeConfig config) {
        return start(config, 0, DtlsCertificate.generate(), id -> { });
    }

    /**
     * Worker {@code index} of a {@link WorkerPool}; {@code conferenceGone} hears (on this worker's loop) of each
     * conference that ended or lost its last endpoint.
     */
    static SfuBridge start(BridgeConfig config, int index, DtlsCertificate certificate, Consumer<String> conferenceGone) {
        try {
            return new SfuBridge(config, index, certificate, conferenceGone);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while binding the bridge port", e);
        }
    }

    // ---------------------------------------------------------------- MediaBridge

    @Override
    public BridgeEndpoint createEndpoint(String conferenceId, String endpointId, EndpointListener listener) {
        return onLoop(() -> {
            Conference conference = conferences.computeIfAbsent(conferenceId, Conference::new);
            Endpoint existing = conference.endpoints.get(endpointId);
            if (existing != null) {
                existing.onClose(); // the same participant again (a reconnect): the old presence goes
                conference = conferences.computeIfAbsent(conferenceId, Conference::new);
            }
            Endpoint endpoint = new Endpoint(this, conference, endpointId, listener);
            conference.add(endpoint);
            endpointCount++;
            return endpoint;
        });
    }

    @Override
    public int closeConference(String conferenceId) {
        return onLoop(() -> {
            Conference c = conferences.get(conferenceId);
            if (c == null) {
                return 0;
            }
            List<Endpoint> all = new ArrayList<>(c.endpoints.values());
            all.forEach(Endpoint::onClose); // the last one removes the conference
            if (conferences.remove(conferenceId, c)) {
                conferenceGone.accept(conferenceId);
            }
            return all.size();
        });
    }

    @Override
    public Optional<BridgeEndpoint> endpoint(String conferenceId, String endpointId) {
        return onLoop(() -> {
            Conference c = conferences.get(conferenceId);
            return Optional.ofNullable(c == null ? null : c.endpoints.get(endpointId));
        });
    }

    @Override
    public BridgeStats stats() {
        return onLoop(() -> {
            Map<String, Long> dropped = new LinkedHashMap<>();
            for (DropReason r : DropReason.values()) {
                dropped.put(r.label(), drops[r.ordinal()]);
            }
            int endpoints = 0;
            for (Conference c : conferences.values()) {
                endpoints += c.endpoints.size();
            }
            return new BridgeStats(conferences.size(), endpoints, datagramsReceived, rtpReceived, rtpForwarded,
                    rtcpReceived, dropped);
        });
    }

    @Override
    public org.consultbridge.bridge.api.QualitySnapshot qualitySnapshot() {
        return onLoop(() -> qualitySnapshots.collect(conferences.values(), channel.isActive(), rtpBytesReceived,
                rtpBytesForwarded, iceFailures, dtlsFailures));
    }

    /** ICE/DTLS failures since start (for metrics). */
    public long[] failureCounts() {
        return onLoop(() -> new long[] {iceFailures, dtlsFailures});
    }

    @Override
    public int udpPort() {
        return udpPort;
    }

    @Override
    public int tcpPort() {
        return tcp == null ? 0 : tcp.port();
    }

    /** The ICE-TCP listener, null when off (tests). */
    IceTcpServer iceTcp() {
        return tcp;
    }

    @Override
    public void close() {
        try {
            onLoop(() -> {
                for (Conference c : new ArrayList<>(conferences.values())) {
                    for (Endpoint e : new ArrayList<>(c.endpoints.values())) {
                        e.onClose();
                    }
                }
                if (tcp != null) {
                    tcp.close();
                }
                return null;
            });
        } catch (RuntimeException e) {
            LOG.warn("closing endpoints failed", e);
        }
        channel.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }

    // ---------------------------------------------------------------- services for endpoints and transports

    EventLoop loop() {
        return loop;
    }

    long consentTimeoutNanos() {
        return consentTimeoutNanos;
    }

    DtlsCertificate certificate() {
        return certificate;
    }

    List<IceCandidate> candidates() {
        return candidates;
    }

    MediaCapabilities capabilities() {
        return capabilities;
    }

    Transport newTransport(Endpoint endpoint, TransportDirection direction) {
        Transport t = new Transport(this, endpoint, direction);
        transportsByUfrag.put(t.localUfrag, t);
        return t;
    }

    /** A transport's new ICE ufrag after a restart. */
    void registerUfrag(String ufrag, Transport t) {
        transportsByUfrag.put(ufrag, t);
    }

    void unregisterUfrag(String ufrag, Transport t) {
        transportsByUfrag.remove(ufrag, t);
    }

    void registerAddress(InetSocketAddress address, Transport t) {
        transportsByAddress.put(address, t);
    }

    void unregisterAddress(InetSocketAddress address, Transport t) {
        transportsByAddress.remove(address, t);
    }

    void removeEndpoint(Endpoint endpoint) {
        Conference c = endpoint.conference;
        if (c.endpoints.get(endpoint.id()) == endpoint) {
            c.remove(endpoint);
            endpointCount--;
        }
        if (c.isEmpty() && conferences.remove(c.id, c)) {
            conferenceGone.accept(c.id);
        }
    }

    // ---------------------------------------------------------------- placement and loop health (any thread)

    /** Endpoints on this worker now: what {@link WorkerPool} places new conferences by. */
    int load() {
        return endpointCount;
    }

    int index() {
        return index;
    }

    /** Whether a conference is on this worker; loop only (the pool's placement bookkeeping runs there). */
    boolean hasConference(String conferenceId) {
        return conferences.containsKey(conferenceId);
    }

    /** Receives each measured loop lag in nanoseconds (about 100 a second); set before load, read on the loop. */
    void lagRecorder(LongConsumer recorder) {
        this.lagRecorder = recorder;
    }

    /** The largest loop lag measured since the last call, in nanoseconds (tests, logs). */
    long takeMaxLagNanos() {
        return maxLagNanos.getAndSet(0);
    }

    /**
     * Event-loop lag, as Node.js and Vert.x measure it: a task asked to run {@link #LAG_PROBE_NANOS} from now runs
     * late by however long the loop was busy (datagrams, other tasks) or not on a CPU (steal, a neighbour, GC).
     * A ready datagram waits about as long, so this is the bridge's own contribution to the media's added latency.
     */
    private void scheduleLagProbe() {
        long due = System.nanoTime() + LAG_PROBE_NANOS;
        loop.schedule(() -> {
            long lag = Math.max(0, System.nanoTime() - due);
            maxLagNanos.accumulateAndGet(lag, Math::max);
            LongConsumer r = lagRecorder;
            if (r != null) {
                r.accept(lag);
            }
            if (!loop.isShuttingDown()) {
                scheduleLagProbe();
            }
        }, LAG_PROBE_NANOS, TimeUnit.NANOSECONDS);
    }

    void drop(DropReason reason) {
        drops[reason.ordinal()]++;
    }

    void countDtlsFailure() {
        dtlsFailures++;
    }

    void countIceFailure() {
        iceFailures++;
    }

    ByteBufAllocator allocator() {
        return alloc;
    }

    ByteBuf allocate(int capacity) {
        return alloc.heapBuffer(capacity);
    }

    /** Encrypts and queues an RTP packet; takes ownership of {@code pkt}. Flushed once per read batch or tick. */
    void sendRtp(Transport t, ByteBuf pkt) {
        InetSocketAddress to = t.sendAddress();
        if (to == null || !t.srtp.protectRtp(pkt)) {
            pkt.release();
            return;
        }
        int bytes = pkt.readableBytes();
        if (send(t, pkt, to)) {
            rtpForwarded++;
            rtpBytesForwarded += bytes;
        }
    }

    /** Encrypts and queues an RTCP packet; takes ownership of {@code pkt}. */
    void sendRtcp(Transport t, ByteBuf pkt) {
        InetSocketAddress to = t.sendAddress();
        if (to == null || !t.srtp.protectRtcp(pkt)) {
            pkt.release();
            return;
        }
        t.rtcpPacketsOut++;
        send(t, pkt, to);
    }

    /** UDP to {@code to}, or RFC 4571-framed on the ICE-TCP connection when the selected pair is TCP (RFC 6544). */
    private boolean send(Transport t, ByteBuf pkt, InetSocketAddress to) {
        flushPending = true;
        IceTcpConnection c = t.sendTcp();
        if (c != null) {
            return c.writeMedia(pkt);
        }
        channel.write(new DatagramPacket(pkt, to), channel.voidPromise());
        return true;
    }

    /** From a DTLS handshake thread. */
    void sendDtls(byte[] data, int off, int len, InetSocketAddress to) {
        channel.writeAndFlush(new DatagramPacket(Unpooled.copiedBuffer(data, off, len), to), channel.voidPromise());
    }

    void flushIfPending() {
        if (flushPending) {
            flushPending = false;
            channel.flush();
            if (tcp != null) {
                tcp.flush();
            }
        }
    }

    /** Allocation runs every {@link #ALLOCATION_TICKS} fast ticks. */
    static final long FAST_TICK_MILLIS = 50;
    private static final int ALLOCATION_TICKS = 5;
    private int fastTicks;

    private void onFastTick() {
        long now = System.nanoTime();
        boolean allocate = ++fastTicks % ALLOCATION_TICKS == 0;
        for (Conference c : conferences.values()) {
            for (Endpoint e : c.endpoints.values()) {
                try {
                    e.onFastTick(now);
                    if (allocate) {
                        e.allocate(now);
                    }
                } catch (RuntimeException ex) {
                    LOG.warn("periodic task failed for endpoint {}", e.id(), ex);
                }
            }
        }
        flushIfPending();
    }

    private void onTick() {
        long now = System.nanoTime();
        for (Conference c : new ArrayList<>(conferences.values())) {
            for (Endpoint e : new ArrayList<>(c.endpoints.values())) {
                try {
                    e.checkConsent(now);
                    e.sendReceiverReports(now);
                } catch (RuntimeException ex) {
                    LOG.warn("periodic task failed for endpoint {}", e.id(), ex);
                }
            }
        }
        flushIfPending();
    }

    <T> T onLoop(Callable<T> task) {
        try {
            return onLoopChecked(task::call);
        } catch (SdpException e) {
            throw new IllegalStateException(e);
        }
    }

    interface LoopTask<T> {
        T call() throws Exception;
    }

    /** Runs {@code task} on the loop and waits; runs it in place when already there (listener call-backs). */
    <T> T onLoopChecked(LoopTask<T> task) throws SdpException {
        if (loop.inEventLoop()) {
            try {
                T result = task.call();
                flushIfPending();
                return result;
            } catch (SdpException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        Future<T> f = loop.submit(() -> {
            try {
                return task.call();
            } finally {
                flushIfPending();
            }
        });
        try {
            return f.get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for the bridge", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("bridge event loop did not answer in time", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SdpException sdp) {
                throw sdp;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    // ---------------------------------------------------------------- packet path

    private final class InboundHandler extends SimpleChannelInboundHandler<DatagramPacket> {

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            onDatagram(packet.content(), packet.sender());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            flushIfPending();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // a bug in a handler must never stop the loop serving every other call
            LOG.warn("unexpected error on the bridge socket", cause);
        }
    }

    void onDatagram(ByteBuf content, InetSocketAddress sender) {
        onPacket(content, sender, null);
    }

    /**
     * RFC 7983 §7: the first byte tells STUN [0..3], DTLS [20..63] and RTP/RTCP [128..191] apart. {@code tcp} is the
     * ICE-TCP connection a frame came on (RFC 6544; its transport is the connection's), null for a UDP datagram.
     */
    void onPacket(ByteBuf content, InetSocketAddress sender, IceTcpConnection tcp) {
        datagramsReceived++;
        int length = content.readableBytes();
        if (length == 0) {
            drop(DropReason.UNKNOWN_PROTOCOL);
            return;
        }
        if (length >= MAX_DATAGRAM) {
            drop(DropReason.OVERSIZED);
            return;
        }
        int first = content.getUnsignedByte(content.readerIndex());
        try {
            if (first <= 3) {
                onStun(content, sender, tcp);
            } else if (first >= 20 && first <= 63) {
                Transport t = tcp == null ? transportsByAddress.get(sender) : tcp.transport();
                if (t == null) {
                    drop(DropReason.UNKNOWN_ADDRESS);
                } else if (!t.onDtls(content, sender, tcp)) {
                    drop(DropReason.DTLS_QUEUE_FULL);
                }
            } else if (first >= 128 && first <= 191) {
                onSrtp(content, tcp == null ? transportsByAddress.get(sender) : tcp.transport());
            } else {
                drop(DropReason.UNKNOWN_PROTOCOL);
            }
        } catch (RuntimeException e) {
            // parsers are written not to throw on bad input; if one still does, the datagram is lost, not the loop,
            // and it is counted on its own: a bug to find (the fuzz tests fail on any such drop)
            drop(DropReason.INTERNAL_ERROR);
            LOG.debug("datagram from {} raised {}", sender, e.toString());
        }
    }

    private void onStun(ByteBuf content, InetSocketAddress sender, IceTcpConnection tcp) {
        if (!StunMessage.looksLikeStun(content)) {
            drop(DropReason.STUN_MALFORMED);
            return;
        }
        StunMessage m;
        try {
            m = StunMessage.decode(content);
        } catch (StunException e) {
            drop(DropReason.STUN_MALFORMED);
            return;
        }
        if (m.method() != 0x001 || m.messageClass() != StunClass.REQUEST) {
            drop(DropReason.STUN_UNHANDLED); // indications (keepalives) and responses: nothing to do for ICE-lite
            return;
        }
        String username = m.username();
        int colon = username == null ? -1 : username.indexOf(':');
        if (colon <= 0) {
            drop(DropReason.STUN_MALFORMED);
            return;
        }
        String ourUfrag = username.substring(0, colon);
        Transport t = transportsByUfrag.get(ourUfrag);
        byte[] pwd = t == null ? null : t.passwordFor(ourUfrag); // the current or, after a restart, the old one
        if (t == null || pwd == null || !t.remoteUfragMatches(username, colon)
                || tcp != null && tcp.transport() != null && tcp.transport() != t) { // RFC 6544 §7.2: one pair each
            drop(DropReason.STUN_UNKNOWN_USERNAME);
            return;
        }
        // RFC 8445 §7.3 / RFC 5389 §10.1.3: short-term credential check with our password
        if (!m.hasMessageIntegrity() || !m.checkMessageIntegrity(pwd)
                || (m.hasFingerprint() && !m.checkFingerprint())) {
            drop(DropReason.STUN_INTEGRITY);
            return;
        }
        byte[] response = StunMessageBuilder.bindingSuccess(m.transactionId())
                .xorMappedAddress(sender)
                .build(pwd, true);
        if (tcp != null) {
            tcp.write(Unpooled.wrappedBuffer(response)); // RFC 6544 §7.2: responses on the connection of the request
        } else {
            channel.write(new DatagramPacket(Unpooled.wrappedBuffer(response), sender), channel.voidPromise());
        }
        flushPending = true;
        t.onValidCheck(sender, tcp, m.hasUseCandidate(), System.nanoTime(), pwd == t.localPwdBytes);
    }

    private void onSrtp(ByteBuf content, Transport t) {
        if (t == null) {
            drop(DropReason.UNKNOWN_ADDRESS);
            return;
        }
        if (t.srtp == null) {
            drop(DropReason.NO_KEYS);
            return;
        }
        int length = content.readableBytes();
        // jitsi-srtp works on arrays: one copy out of the socket's (direct) buffer into a pooled heap buffer
        ByteBuf pkt = alloc.heapBuffer(length + SrtpTransformer.MAX_TRAILER);
        try {
            pkt.writeBytes(content, content.readerIndex(), length);
            long now = System.nanoTime();
            if (RtcpPacket.isRtcp(pkt)) {
                if (!t.srtp.unprotectRtcp(pkt)) {
                    drop(DropReason.SRTP_AUTH);
                } else if (!RtcpPacket.isValidCompound(pkt)) {
                    drop(DropReason.RTCP_MALFORMED);
                } else {
                    rtcpReceived++;
                    t.endpoint.onRtcp(t, pkt, now);
                }
            } else if (length < 12) { // RFC 3711 §3.1: full validation needs the decrypted padding, below
                drop(DropReason.RTP_MALFORMED);
            } else if (!t.srtp.unprotectRtp(pkt)) {
                drop(DropReason.SRTP_AUTH);
            } else if (!RtpPacket.isValidRtp(pkt)) {
                drop(DropReason.RTP_MALFORMED);
            } else if (t.direction != TransportDirection.PUBLISH) {
                drop(DropReason.UNKNOWN_SSRC); // a subscribe transport carries no media towards the bridge
            } else {
                rtpReceived++;
                rtpBytesReceived += pkt.readableBytes();
                t.endpoint.onRtp(t, pkt, now);
            }
        } finally {
            pkt.release();
        }
    }
}
