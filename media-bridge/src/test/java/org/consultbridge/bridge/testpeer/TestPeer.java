package org.consultbridge.bridge.testpeer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
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
 */
public final class TestPeer implements AutoCloseable {

    private final DatagramSocket socket;
    private final DtlsCertificate certificate = DtlsCertificate.generate();
    private final String ufrag;
    private final String pwd;
    private InetSocketAddress remote;
    private String remoteUfrag;
    private String remotePwd;
    private String remoteFingerprint;
    private DtlsSession dtls;
    private volatile SrtpTransformer srtp;
    private final CompletableFuture<SrtpKeys> keys = new CompletableFuture<>();
    private final CompletableFuture<byte[]> stunResponse = new CompletableFuture<>();
    private final BlockingQueue<byte[]> rtp = new LinkedBlockingQueue<>();
    private final BlockingQueue<byte[]> rtcp = new LinkedBlockingQueue<>();
    private final Thread reader;
    private volatile boolean closed;

    public TestPeer(InetAddress bindAddress) throws SocketException {
        socket = new DatagramSocket(new InetSocketAddress(bindAddress, 0));
        socket.setSoTimeout(200);
        ufrag = "tp" + Long.toHexString(System.nanoTime() & 0xFFFFFF);
        pwd = "testpeerpasswordtestpeer" + Long.toHexString(System.nanoTime() & 0xFFFF);
        reader = Thread.ofVirtual().start(this::readLoop);
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
        String cand = m.candidates().get(0);
        String[] f = cand.split(" ");
        remote = new InetSocketAddress(InetAddress.getByName(f[4]), Integer.parseInt(f[5]));
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
        send(req);
        byte[] resp = stunResponse.get(5, TimeUnit.SECONDS);
        return StunMessage.decode(resp, 0, resp.length);
    }

    /** Runs the DTLS handshake as client (browser answers `a=setup:active`) and sets up SRTP. */
    public SrtpKeys handshake() throws Exception {
        dtls = new DtlsSession(certificate, DtlsRole.CLIENT, (data, off, len) -> {
            try {
                socket.send(new DatagramPacket(data, off, len, remote));
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
        socket.send(new DatagramPacket(datagram, datagram.length, remote));
    }

    /** Protects and sends one RTP packet. */
    public synchronized void sendRtp(byte[] plain) throws IOException {
        ByteBuf b = Unpooled.buffer(plain.length + SrtpTransformer.MAX_TRAILER);
        b.writeBytes(plain);
        if (!srtp.protectRtp(b)) {
            throw new IllegalStateException("protect failed");
        }
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        send(out);
    }

    public synchronized void sendRtcp(byte[] plain) throws IOException {
        ByteBuf b = Unpooled.buffer(plain.length + SrtpTransformer.MAX_TRAILER);
        b.writeBytes(plain);
        if (!srtp.protectRtcp(b)) {
            throw new IllegalStateException("protect failed");
        }
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        send(out);
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
            int first = buf[0] & 0xFF;
            byte[] data = java.util.Arrays.copyOf(buf, p.getLength());
            if (first <= 3) {
                stunResponse.complete(data);
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
    }

    @Override
    public void close() {
        closed = true;
        if (dtls != null) {
            dtls.close();
        }
        socket.close();
        reader.interrupt();
    }
}
