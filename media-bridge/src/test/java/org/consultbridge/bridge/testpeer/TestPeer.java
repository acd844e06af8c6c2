package org.consultbridge.bridge.testpeer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.dtls.DtlsCertificate;
import org.consultbridge.bridge.dtls.DtlsListener;
import org.consultbridge.bridge.dtls.DtlsRole;
import org.consultbridge.bridge.dtls.DtlsSession;
import org.consultbridge.bridge.dtls.SrtpKeys;
import org.consultbridge.bridge.rtcp.RtcpPacket;
import org.consultbridge.bridge.sdp.MediaDescription;
import org.consultbridge.bridge.sdp.SessionDescription;
import org.consultbridge.bridge.srtp.SrtpTransformer;
import org.consultbridge.bridge.stun.StunMessage;
import org.consultbridge.bridge.stun.StunMessageBuilder;

/**
 * A real WebRTC peer in Java for tests: one UDP socket per peer connection, a STUN client (full ICE, controlling),
 * a DTLS client, SRTP, using the project's own codecs. Not a mock: it speaks the same wire protocols a browser does.
 * {@link #overTcp} makes an ICE-TCP peer instead (RFC 6544 active side): it connects to the bridge's passive TCP
 * candidate and frames every packet per RFC 4571.
 */
public final class TestPeer implements AutoCloseable {

    private final DatagramSocket socket;
    private final InetAddress bindAddress;
    private final boolean tcpMode;
    private volatile Socket tcp;
    private OutputStream tcpOut;
    private volatile boolean readingPaused;
    private Thread tcpReader;
    private final DtlsCertificate certificate = DtlsCertificate.generate();
    private volatile String ufrag;
    private volatile String pwd;
    private InetSocketAddress remote;
    private String remoteUfrag;
    private String remotePwd;
    private String remoteFingerprint;
    private DtlsSession dtls;
    private volatile SrtpTransformer srtp;
    private final CompletableFuture<SrtpKeys> keys = new CompletableFuture<>();
    private volatile CompletableFuture<byte[]> stunResponse = new CompletableFuture<>();
    /** Responses awaited by {@link #check}, by transaction id (hex). */
    private final ConcurrentHashMap<String, CompletableFuture<byte[]>> pendingChecks = new ConcurrentHashMap<>();
    private final BlockingQueue<byte[]> rtp = new LinkedBlockingQueue<>();
    private final BlockingQueue<byte[]> rtcp = new LinkedBlockingQueue<>();
    private final Thread reader;
    private volatile boolean closed;

    public TestPeer(InetAddress bindAddress) throws SocketException {
        this(bindAddress, false);
    }

    private TestPeer(InetAddress bindAddress, boolean tcpMode) throws SocketException {
        this.bindAddress = bindAddress;
        this.tcpMode = tcpMode;
        ufrag = "tp" + Long.toHexString(System.nanoTime() & 0xFFFFFF);
        pwd = "testpeerpasswordtestpeer" + Long.toHexString(System.nanoTime() & 0xFFFF);
        if (tcpMode) {
            socket = null;
            reader = null; // started on connect
        } else {
            socket = new DatagramSocket(new InetSocketAddress(bindAddress, 0));
            socket.setSoTimeout(200);
            reader = Thread.ofVirtual().start(this::readLoop);
        }
    }

    /** An ICE-TCP peer: connects to the bridge's passive TCP candidate when the remote description is set. */
    public static TestPeer overTcp(InetAddress bindAddress) throws SocketException {
        return new TestPeer(bindAddress, true);
    }

    /** This peer's address as the bridge sees it (UDP socket or TCP connection). */
    public InetSocketAddress localAddress() {
        return tcpMode ? (InetSocketAddress) tcp.getLocalSocketAddress()
                : (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** TCP mode: stop (or resume) reading from the connection, so that the bridge's send buffer fills. */
    public void pauseReading(boolean paused) {
        readingPaused = paused;
    }

    /** TCP mode: the connection to the bridge. */
    public Socket tcpSocket() {
        return tcp;
    }

    /** ICE restart on this side (RFC 8445 §9): new local credentials for the next description and checks. */
    public void restartIce() {
        ufrag = "tr" + Long.toHexString(System.nanoTime() & 0xFFFFFF);
        pwd = "testpeerrestartpassword" + Long.toHexString(System.nanoTime() & 0xFFFF);
    }

    public String ufrag() {
        return ufrag;
    }

    public String pwd() {
        return pwd;
    }

    public String fingerprint() {
        return certificate.sha256Fingerprint();
    }

    public org.consultbridge.bridge.sdp.ClientSdp.ClientTransport transport() {
        return new org.consultbridge.bridge.sdp.ClientSdp.ClientTransport(ufrag, pwd, fingerprint());
    }

    public DatagramSocket socket() {
        return socket;
    }

    /** Reads the bridge's ICE credentials, candidate and fingerprint out of its SDP. */
    public void setRemoteDescription(String sdp) throws Exception {
        SessionDescription d = SessionDescription.parse(sdp);
        MediaDescription m = d.media().stream().filter(x -> x.port() != 0).findFirst().orElseThrow();
        remoteUfrag = m.iceUfrag();
        remotePwd = m.icePwd();
        remoteFingerprint = m.fingerprint().value();
        String cand = m.candidates().stream().filter(c -> c.split(" ")[2].equalsIgnoreCase(tcpMode ? "tcp" : "udp"))
                .findFirst().orElseThrow(() -> new AssertionError("no " + (tcpMode ? "tcp" : "udp") + " candidate"));
        String[] f = cand.split(" ");
        remote = new InetSocketAddress(InetAddress.getByName(f[4]), Integer.parseInt(f[5]));
        if (tcpMode && tcp == null) {
            if (!cand.endsWith("typ host tcptype passive")) {
                throw new AssertionError("not an RFC 6544 passive candidate: " + cand);
            }
            Socket s = new Socket();
            s.setReceiveBufferSize(16 * 1024); // small, so that a paused reader back-pressures the bridge soon
            s.setTcpNoDelay(true);
            s.bind(new InetSocketAddress(bindAddress, 0));
            s.connect(remote, 2000);
            tcp = s;
            tcpOut = s.getOutputStream();
            tcpReader = Thread.ofVirtual().start(this::readTcpLoop);
        }
        if (dtls != null) {
            dtls.setRemoteFingerprint("sha-256", remoteFingerprint);
        }
    }

    public InetSocketAddress remote() {
        return remote;
    }

    /** RFC 8445 §7.2.2: a nominating Binding request from the controlling side; waits for the success response. */
    public StunMessage connectivityCheck() throws Exception {
        byte[] tx = StunMessageBuilder.newTransactionId();
        byte[] req = StunMessageBuilder.bindingRequest(tx)
                .username(remoteUfrag + ":" + ufrag)
                .priority(1845501695L)
                .iceControlling(0x1234_5678_9ABCL)
                .useCandidate()
                .build(remotePwd.getBytes(java.nio.charset.StandardCharsets.UTF_8), true);
        CompletableFuture<byte[]> response = new CompletableFuture<>();
        stunResponse = response; // each check waits for its own response
        send(req);
        byte[] resp = response.get(5, TimeUnit.SECONDS);
        return StunMessage.decode(resp, 0, resp.length);
    }

    /**
     * One more Binding request on the same path (RFC 7675 consent check, or RFC 8445 §7.2.2 check with
     * USE-CANDIDATE), repeatable unlike {@link #connectivityCheck()}: waits up to {@code timeoutMillis} for the
     * response to this transaction and returns it, or throws on timeout.
     */
    public StunMessage check(boolean useCandidate, long timeoutMillis) throws Exception {
        byte[] tx = StunMessageBuilder.newTransactionId();
        StunMessageBuilder b = StunMessageBuilder.bindingRequest(tx)
                .username(remoteUfrag + ":" + ufrag)
                .priority(1845501695L)
                .iceControlling(0x1234_5678_9ABCL);
        if (useCandidate) {
            b.useCandidate();
        }
        byte[] req = b.build(remotePwd.getBytes(java.nio.charset.StandardCharsets.UTF_8), true);
        CompletableFuture<byte[]> response = new CompletableFuture<>();
        String key = java.util.HexFormat.of().formatHex(tx);
        pendingChecks.put(key, response);
        try {
            send(req);
            byte[] resp = response.get(timeoutMillis, TimeUnit.MILLISECONDS);
            return StunMessage.decode(resp, 0, resp.length);
        } finally {
            pendingChecks.remove(key);
        }
    }

    /** Runs the DTLS handshake as client (browser answers `a=setup:active`) and sets up SRTP. */
    public SrtpKeys handshake() throws Exception {
        dtls = new DtlsSession(certificate, DtlsRole.CLIENT, (data, off, len) -> {
            try {
                send(java.util.Arrays.copyOfRange(data, off, off + len));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }, new DtlsListener() {
            @Override
            public void onHandshakeComplete(SrtpKeys k) {
                srtp = SrtpTransformer.create(k, DtlsRole.CLIENT);
                keys.complete(k);
            }

            @Override
            public void onHandshakeFailed(Exception cause) {
                keys.completeExceptionally(cause);
            }

            @Override
            public void onClosed() {
            }
        });
        dtls.setRemoteFingerprint("sha-256", remoteFingerprint);
        dtls.start();
        return keys.get(15, TimeUnit.SECONDS);
    }

    public void send(byte[] datagram) throws IOException {
        if (tcpMode) {
            byte[] framed = new byte[2 + datagram.length]; // RFC 4571 §2
            framed[0] = (byte) (datagram.length >> 8);
            framed[1] = (byte) datagram.length;
            System.arraycopy(datagram, 0, framed, 2, datagram.length);
            synchronized (tcpOut) {
                tcpOut.write(framed);
                tcpOut.flush();
            }
        } else {
            socket.send(new DatagramPacket(datagram, datagram.length, remote));
        }
    }

    /** Protects and sends one RTP packet. */
    public void sendRtp(byte[] plain) throws IOException {
        send(protectRtp(plain));
    }

    public void sendRtcp(byte[] plain) throws IOException {
        send(protectRtcp(plain));
    }

    /** SRTP-protects one RTP packet with this peer's keys, without sending it (fuzz tests inject it themselves). */
    public synchronized byte[] protectRtp(byte[] plain) {
        ByteBuf b = Unpooled.buffer(plain.length + SrtpTransformer.MAX_TRAILER);
        b.writeBytes(plain);
        if (!srtp.protectRtp(b)) {
            throw new IllegalStateException("protect failed");
        }
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        return out;
    }

    /** SRTCP-protects one RTCP compound packet with this peer's keys, without sending it. */
    public synchronized byte[] protectRtcp(byte[] plain) {
        ByteBuf b = Unpooled.buffer(plain.length + SrtpTransformer.MAX_TRAILER);
        b.writeBytes(plain);
        if (!srtp.protectRtcp(b)) {
            throw new IllegalStateException("protect failed");
        }
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        return out;
    }

    /** Next decrypted RTP packet, or null after the timeout. */
    public byte[] pollRtp(long millis) throws InterruptedException {
        return rtp.poll(millis, TimeUnit.MILLISECONDS);
    }

    public byte[] pollRtcp(long millis) throws InterruptedException {
        return rtcp.poll(millis, TimeUnit.MILLISECONDS);
    }

    public List<byte[]> drainRtp() {
        List<byte[]> l = new ArrayList<>();
        rtp.drainTo(l);
        return l;
    }

    private void readLoop() {
        byte[] buf = new byte[2048];
        while (!closed) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                socket.receive(p);
            } catch (SocketTimeoutException e) {
                continue;
            } catch (IOException e) {
                return;
            }
            dispatch(java.util.Arrays.copyOf(buf, p.getLength()));
        }
    }

    private void readTcpLoop() {
        try {
            DataInputStream in = new DataInputStream(tcp.getInputStream());
            while (!closed) {
                while (readingPaused && !closed) {
                    Thread.sleep(10);
                }
                int length = in.readUnsignedShort(); // RFC 4571 §2
                byte[] data = new byte[length];
                in.readFully(data);
                if (length > 0) {
                    dispatch(data);
                }
            }
        } catch (IOException | InterruptedException e) {
            // closed
        }
    }

    private void dispatch(byte[] data) {
        int first = data[0] & 0xFF;
        if (first <= 3) {
            CompletableFuture<byte[]> awaited = data.length >= 20
                    ? pendingChecks.remove(java.util.HexFormat.of().formatHex(data, 8, 20)) : null;
            if (awaited != null) {
                awaited.complete(data);
            } else {
                stunResponse.complete(data);
            }
        } else if (first >= 20 && first <= 63) {
            if (dtls != null) {
                dtls.offer(data, 0, data.length);
            }
        } else if (first >= 128 && first <= 191 && srtp != null) {
            ByteBuf b = Unpooled.wrappedBuffer(data);
            synchronized (this) {
                if (RtcpPacket.isRtcp(b)) {
                    if (srtp.unprotectRtcp(b)) {
                        byte[] out = new byte[b.readableBytes()];
                        b.getBytes(b.readerIndex(), out);
                        rtcp.add(out);
                    }
                } else if (srtp.unprotectRtp(b)) {
                    byte[] out = new byte[b.readableBytes()];
                    b.getBytes(b.readerIndex(), out);
                    rtp.add(out);
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        if (dtls != null) {
            dtls.close();
        }
        if (socket != null) {
            socket.close();
            reader.interrupt();
        }
        if (tcp != null) {
            try {
                tcp.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            tcpReader.interrupt();
        }
    }
}
