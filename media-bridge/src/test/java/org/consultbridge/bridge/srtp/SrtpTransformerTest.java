package org.consultbridge.bridge.srtp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.consultbridge.bridge.dtls.DtlsRole;
import org.consultbridge.bridge.dtls.SrtpKeys;
import org.consultbridge.bridge.dtls.SrtpProfile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * SRTP through jitsi-srtp checked against a second, independent implementation written here with plain JCE from
 * RFC 3711 (AES-CM, HMAC-SHA1, key derivation §4.3, whose Appendix B.3 vectors it reproduces) and RFC 7714 (AES-GCM).
 */
class SrtpTransformerTest {

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replaceAll("\\s", ""));
    }

    // ---------------------------------------------------------------- independent reference implementation

    /** RFC 3711 §4.3.1/§4.3.3: session key for a label, AES-CM PRF over x = (label << 48) XOR master salt. */
    static byte[] kdf(byte[] masterKey, byte[] masterSalt, int label, int length) throws Exception {
        byte[] salt14 = Arrays.copyOf(masterSalt, 14); // RFC 7714 §11: a 96-bit salt is used as its leading bits
        byte[] iv = new byte[16];
        System.arraycopy(salt14, 0, iv, 0, 14);
        iv[7] ^= (byte) label;
        Cipher aes = Cipher.getInstance("AES/CTR/NoPadding");
        aes.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(masterKey, "AES"), new IvParameterSpec(iv));
        return aes.doFinal(new byte[length]);
    }

    /** RFC 3711 §4.1.1 + §4.2: AES_CM_128_HMAC_SHA1_80 protect of an RTP packet with ROC 0. */
    static byte[] referenceProtectCm(byte[] masterKey, byte[] masterSalt, byte[] rtp, int headerLength) throws Exception {
        byte[] k = kdf(masterKey, masterSalt, 0, 16);
        byte[] a = kdf(masterKey, masterSalt, 1, 20);
        byte[] s = kdf(masterKey, masterSalt, 2, 14);
        long ssrc = ByteBuffer.wrap(rtp, 8, 4).getInt() & 0xFFFFFFFFL;
        int seq = ByteBuffer.wrap(rtp, 2, 2).getShort() & 0xFFFF;
        byte[] iv = new byte[16];
        System.arraycopy(s, 0, iv, 0, 14);
        for (int i = 0; i < 4; i++) {
            iv[4 + i] ^= (byte) (ssrc >>> (24 - 8 * i));
        }
        iv[12] ^= (byte) (seq >>> 8); // index i = ROC(0) || SEQ, shifted left by 16 bits
        iv[13] ^= (byte) seq;
        Cipher aes = Cipher.getInstance("AES/CTR/NoPadding");
        aes.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(k, "AES"), new IvParameterSpec(iv));
        byte[] out = Arrays.copyOf(rtp, rtp.length + 10);
        byte[] enc = aes.doFinal(rtp, headerLength, rtp.length - headerLength);
        System.arraycopy(enc, 0, out, headerLength, enc.length);
        Mac mac = Mac.getInstance("HmacSHA1");
        mac.init(new SecretKeySpec(a, "HmacSHA1"));
        mac.update(out, 0, rtp.length);
        byte[] tag = mac.doFinal(new byte[4]); // ROC
        System.arraycopy(tag, 0, out, rtp.length, 10);
        return out;
    }

    /** RFC 7714 §8.1-8.2: AEAD_AES_128_GCM protect of an RTP packet with ROC 0. */
    static byte[] referenceProtectGcm(byte[] masterKey, byte[] masterSalt, byte[] rtp, int headerLength) throws Exception {
        byte[] k = kdf(masterKey, masterSalt, 0, 16);
        byte[] s = kdf(masterKey, masterSalt, 2, 12);
        byte[] iv = new byte[12];
        System.arraycopy(rtp, 8, iv, 2, 4); // 00 00 || SSRC || ROC || SEQ
        System.arraycopy(rtp, 2, iv, 10, 2);
        for (int i = 0; i < 12; i++) {
            iv[i] ^= s[i];
        }
        Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
        gcm.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(k, "AES"), new GCMParameterSpec(128, iv));
        gcm.updateAAD(rtp, 0, headerLength);
        byte[] enc = gcm.doFinal(rtp, headerLength, rtp.length - headerLength);
        byte[] out = new byte[headerLength + enc.length];
        System.arraycopy(rtp, 0, out, 0, headerLength);
        System.arraycopy(enc, 0, out, headerLength, enc.length);
        return out;
    }

    /** RFC 3711 Appendix B.3: key derivation test vectors. */
    @Test
    void referenceKdfReproducesRfc3711AppendixB3() throws Exception {
        byte[] mk = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        byte[] ms = hex("0EC675AD498AFEEBB6960B3AABE6");
        assertThat(kdf(mk, ms, 0, 16)).isEqualTo(hex("C61E7A93744F39EE10734AFE3FF7A087"));
        assertThat(kdf(mk, ms, 2, 14)).isEqualTo(hex("30CBBC08863D8C85D49DB34A9AE1"));
        assertThat(kdf(mk, ms, 1, 20)).isEqualTo(hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
    }

    // ---------------------------------------------------------------- jitsi-srtp through our transformer

    static SrtpKeys keys(SrtpProfile p, long seed) {
        Random r = new Random(seed);
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

    static byte[] rtp(int seq, long ssrc, int payloadLength, long seed) {
        byte[] p = new byte[12 + payloadLength];
        new Random(seed).nextBytes(p);
        p[0] = (byte) 0x80;
        p[1] = 96;
        p[2] = (byte) (seq >> 8);
        p[3] = (byte) seq;
        p[8] = (byte) (ssrc >> 24);
        p[9] = (byte) (ssrc >> 16);
        p[10] = (byte) (ssrc >> 8);
        p[11] = (byte) ssrc;
        return p;
    }

    static ByteBuf buf(byte[] b) {
        ByteBuf x = Unpooled.buffer(b.length + SrtpTransformer.MAX_TRAILER);
        x.writeBytes(b);
        return x;
    }

    static byte[] bytes(ByteBuf b) {
        byte[] out = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), out);
        return out;
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void protectMatchesTheIndependentImplementationByteForByte(SrtpProfile profile) throws Exception {
        SrtpKeys k = keys(profile, 7);
        SrtpTransformer client = SrtpTransformer.create(k, DtlsRole.CLIENT);
        for (long ssrc : new long[] {0x12345678L, 0xFEDCBA98L}) {
            for (int seq = 1000; seq < 1010; seq++) {
                byte[] plain = rtp(seq, ssrc, 160 + seq % 7, seq);
                ByteBuf b = buf(plain);
                assertThat(client.protectRtp(b)).isTrue();
                byte[] expected = profile == SrtpProfile.AES_CM_128_HMAC_SHA1_80
                        ? referenceProtectCm(k.clientKey(), k.clientSalt(), plain, 12)
                        : referenceProtectGcm(k.clientKey(), k.clientSalt(), plain, 12);
                assertThat(bytes(b)).as("%s ssrc %x seq %d", profile, ssrc, seq).isEqualTo(expected);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void roundTripsRtpAndRtcpAcrossSequenceRollover(SrtpProfile profile) {
        SrtpKeys k = keys(profile, 11);
        SrtpTransformer client = SrtpTransformer.create(k, DtlsRole.CLIENT);
        SrtpTransformer server = SrtpTransformer.create(k, DtlsRole.SERVER);
        for (int i = 0; i < 300; i++) {
            int seq = (65_400 + i) & 0xFFFF; // crosses the 16-bit wrap: the rollover counter must follow
            byte[] plain = rtp(seq, 0xCAFEL, 100, i);
            ByteBuf b = buf(plain);
            assertThat(client.protectRtp(b)).isTrue();
            assertThat(server.unprotectRtp(b)).as("seq %d", seq).isTrue();
            assertThat(bytes(b)).isEqualTo(plain);
        }
        // RTCP: a receiver report from the server side
        byte[] rr = hex("81c90007 00000001 0000cafe 00000000 0000ff00 00000000 00000000 00000000");
        ByteBuf b = buf(rr);
        assertThat(server.protectRtcp(b)).isTrue();
        assertThat(bytes(b).length).isGreaterThan(rr.length);
        assertThat(client.unprotectRtcp(b)).isTrue();
        assertThat(bytes(b)).isEqualTo(rr);
    }

    /**
     * Issue #7: a refused packet is counted by the caller, never logged. jitsi-srtp logs replays and failed
     * authentications at SEVERE (through java.util.logging), which anyone on the network could turn into one log
     * line per packet on the event loop.
     */
    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void refusedPacketsAreNotLogged(SrtpProfile profile) {
        java.util.List<java.util.logging.LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler capture = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                if (r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue()) {
                    records.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        root.addHandler(capture);
        try {
            SrtpKeys k = keys(profile, 17);
            SrtpTransformer client = SrtpTransformer.create(k, DtlsRole.CLIENT);
            SrtpTransformer server = SrtpTransformer.create(k, DtlsRole.SERVER);
            ByteBuf b = buf(rtp(9, 0xCAFEL, 300, 3));
            client.protectRtp(b);
            byte[] wire = bytes(b);
            assertThat(server.unprotectRtp(buf(wire))).isTrue();
            for (int i = 0; i < 20; i++) {
                assertThat(server.unprotectRtp(buf(wire))).as("replay").isFalse();
                byte[] tampered = wire.clone();
                tampered[wire.length - 1] ^= (byte) (i + 1);
                assertThat(server.unprotectRtp(buf(tampered))).as("forged").isFalse();
            }
            assertThat(records).extracting(java.util.logging.LogRecord::getMessage).isEmpty();
        } finally {
            root.removeHandler(capture);
        }
    }

    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void tamperedReplayedAndTruncatedPacketsAreRefusedWithoutExceptions(SrtpProfile profile) {
        SrtpKeys k = keys(profile, 13);
        SrtpTransformer client = SrtpTransformer.create(k, DtlsRole.CLIENT);
        SrtpTransformer server = SrtpTransformer.create(k, DtlsRole.SERVER);
        byte[] plain = rtp(5, 0xBEEFL, 200, 1);
        ByteBuf b = buf(plain);
        client.protectRtp(b);
        byte[] wire = bytes(b);

        byte[] tampered = wire.clone();
        tampered[40] ^= 1;
        assertThat(server.unprotectRtp(buf(tampered))).isFalse();
        assertThat(server.unprotectRtp(buf(wire))).isTrue();
        assertThat(server.unprotectRtp(buf(wire))).as("replay").isFalse();
        for (int len = 0; len < 30; len++) {
            assertThat(server.unprotectRtp(buf(Arrays.copyOf(wire, len)))).isFalse();
            assertThat(server.unprotectRtcp(buf(Arrays.copyOf(wire, len)))).isFalse();
        }
        // the same packet protected twice in a row (a duplicate forwarded twice): never plaintext on the wire
        byte[] dup = rtp(6, 0xBEEFL, 200, 2);
        ByteBuf first = buf(dup);
        assertThat(client.protectRtp(first)).isTrue();
        ByteBuf second = buf(dup);
        assertThat(client.protectRtp(second)).as("an index is protected once").isFalse();
        assertThat(bytes(second)).as("refused, bytes untouched").isEqualTo(dup);
        // forged packets under thousands of SSRCs neither authenticate nor use up the stream limit
        for (int i = 0; i < 5 * SrtpTransformer.MAX_STREAMS; i++) {
            byte[] forged = rtp(1, 0x1000 + i, 60, i);
            assertThat(server.unprotectRtp(buf(Arrays.copyOf(forged, forged.length + 16)))).isFalse();
        }
        byte[] legit = rtp(1, 0x7777L, 60, 9);
        ByteBuf lb = buf(legit);
        client.protectRtp(lb);
        assertThat(server.unprotectRtp(lb)).as("a new real stream still gets through").isTrue();
        // no room for the tag: refused rather than written out of bounds
        ByteBuf tight = Unpooled.buffer(plain.length, plain.length);
        tight.writeBytes(plain);
        assertThat(client.protectRtp(tight)).isFalse();
    }

    /** RFC 7714 §8.1: an SRTP index (hence a GCM nonce) is used once, across reordering and the 16-bit wrap. */
    @ParameterizedTest
    @EnumSource(SrtpProfile.class)
    void sentIndicesAreNeverReused(SrtpProfile profile) {
        SrtpTransformer client = SrtpTransformer.create(keys(profile, 17), DtlsRole.CLIENT);
        java.util.function.IntPredicate send = seq -> client.protectRtp(buf(rtp(seq, 0xABCDL, 80, seq)));
        assertThat(send.test(65_500)).isTrue();
        for (int seq = 65_501; seq < 65_536 + 100; seq++) { // across the wrap
            assertThat(send.test(seq & 0xFFFF)).as("seq %d", seq & 0xFFFF).isTrue();
        }
        assertThat(send.test(65_530)).as("already sent before the wrap").isFalse();
        assertThat(send.test(99)).as("the highest one again").isFalse();
        assertThat(send.test(110)).as("ahead, leaving a gap").isTrue();
        assertThat(send.test(105)).as("late into the gap: first use").isTrue();
        assertThat(send.test(105)).as("twice into the gap").isFalse();
        assertThat(send.test(110 - 127)).as("127 behind, sent before").isFalse();
        assertThat(send.test(110 + 200)).isTrue();
        assertThat(send.test(110 + 200 - 128)).as("far behind: too old to tell, refused").isFalse();
        assertThat(send.test(110 + 200 - 40)).as("never sent, within the window").isTrue();
        assertThat(send.test(110 + 200 - 40)).isFalse();
        // a second SSRC has indices of its own
        assertThat(client.protectRtp(buf(rtp(99, 0x1234L, 80, 1)))).isTrue();
    }
}
