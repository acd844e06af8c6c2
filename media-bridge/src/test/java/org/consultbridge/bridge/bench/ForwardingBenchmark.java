package org.consultbridge.bridge.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import org.consultbridge.bridge.dtls.DtlsRole;
import org.consultbridge.bridge.dtls.SrtpKeys;
import org.consultbridge.bridge.dtls.SrtpProfile;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.rtp.RtpRewriter;
import org.consultbridge.bridge.srtp.SrtpTransformer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-packet cost of the bridge's forwarding work for one 1200-byte video packet: SRTP-decrypt it once, then for
 * each receiver copy it while rewriting SSRC/PT/extension ids and SRTP-encrypt the copy — what
 * {@code Endpoint.onRtp} does between the socket read and the socket write. Run: {@code ./consultbridge bench}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ForwardingBenchmark {

    @Param({"1", "3"})
    public int receivers;

    @Param({"AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"})
    public SrtpProfile profile;

    private final PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private SrtpTransformer publisher;
    private SrtpTransformer bridgeIn;
    private SrtpTransformer[] bridgeOut;
    private SrtpTransformer[] receiverSide;
    private byte[] plain;
    private int seq;
    private final byte[] extMap = new byte[256];

    @Setup(Level.Trial)
    public void setUp() {
        SrtpKeys in = keys(profile);
        publisher = SrtpTransformer.create(in, DtlsRole.CLIENT);
        bridgeIn = SrtpTransformer.create(in, DtlsRole.SERVER);
        bridgeOut = new SrtpTransformer[receivers];
        receiverSide = new SrtpTransformer[receivers];
        for (int i = 0; i < receivers; i++) {
            SrtpKeys out = keys(profile);
            bridgeOut[i] = SrtpTransformer.create(out, DtlsRole.SERVER);
            receiverSide[i] = SrtpTransformer.create(out, DtlsRole.CLIENT);
        }
        // 1200-byte VP8 packet with a one-byte-form header extension block (abs-send-time id 2, mid id 4)
        plain = new byte[1200];
        new SecureRandom().nextBytes(plain);
        byte[] header = {(byte) 0x90, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0x22, 0x22, (byte) 0xBE, (byte) 0xDE, 0, 2,
            0x22, 1, 2, 3, 0x40, '1', 0, 0};
        System.arraycopy(header, 0, plain, 0, header.length);
        extMap[2] = 2; // abs-send-time kept, mid dropped
    }

    private static SrtpKeys keys(SrtpProfile p) {
        SecureRandom r = new SecureRandom();
        byte[] ck = new byte[p.keyLength()];
        byte[] sk = new byte[p.keyLength()];
        byte[] cs = new byte[p.saltLength()];
        byte[] ss = new byte[p.saltLength()];
        r.nextBytes(ck);
        r.nextBytes(sk);
        r.nextBytes(cs);
        r.nextBytes(ss);
        return new SrtpKeys(p, ck, cs, sk, ss);
    }

    /** Produces the encrypted packet as it arrives at the bridge (outside the measured region's cost model). */
    private ByteBuf arriving() {
        ByteBuf b = alloc.heapBuffer(1200 + SrtpTransformer.MAX_TRAILER);
        b.writeBytes(plain);
        RtpPacket.setSequenceNumber(b, seq++ & 0xFFFF);
        publisher.protectRtp(b);
        return b;
    }

    /** Encrypt at the sender + the bridge's work; {@link #senderOnly} measures the first part alone. */
    @Benchmark
    public int forward() {
        ByteBuf in = arriving();
        int bytes = 0;
        try {
            if (!bridgeIn.unprotectRtp(in)) {
                throw new IllegalStateException("unprotect failed");
            }
            for (int i = 0; i < receivers; i++) {
                ByteBuf out = alloc.heapBuffer(in.readableBytes() + 64 + SrtpTransformer.MAX_TRAILER);
                RtpRewriter.copyRewritten(in, out, 96, RtpPacket.sequenceNumber(in), RtpPacket.timestamp(in),
                        0x1000 + i, extMap);
                bridgeOut[i].protectRtp(out);
                bytes += out.readableBytes();
                out.release();
            }
        } finally {
            in.release();
        }
        return bytes;
    }

    @Benchmark
    public int senderOnly() {
        ByteBuf in = arriving();
        int n = in.readableBytes();
        in.release();
        return n;
    }
}
