package org.consultbridge.bridge.stun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** STUN codec against the RFC 5769 test vectors, plus round trips and hostile input. */
class StunMessageTest {

    private static final byte[] PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt".getBytes(StandardCharsets.UTF_8);

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replaceAll("\\s", ""));
    }

    /** RFC 5769 §2.1 Sample Request. */
    static final byte[] SAMPLE_REQUEST = hex("""
            00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
            80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
            00 24 00 04 6e 00 01 ff
            80 29 00 08 93 2f f9 b1 51 26 3b 36
            00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
            00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
            80 28 00 04 e5 7a 3b cf
            """);

    /** RFC 5769 §2.2 Sample IPv4 Response. */
    static final byte[] IPV4_RESPONSE = hex("""
            01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
            80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
            00 20 00 08 00 01 a1 47 e1 12 a6 43
            00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
            80 28 00 04 c0 7d 4c 96
            """);

    /** RFC 5769 §2.3 Sample IPv6 Response. */
    static final byte[] IPV6_RESPONSE = hex("""
            01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
            80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
            00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
            00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
            80 28 00 04 c8 fb 0b 4c
            """);

    @Test
    void rfc5769SampleRequest() throws Exception {
        assertThat(StunMessage.looksLikeStun(Unpooled.wrappedBuffer(SAMPLE_REQUEST))).isTrue();
        StunMessage m = StunMessage.decode(SAMPLE_REQUEST, 0, SAMPLE_REQUEST.length);
        assertThat(m.method()).isEqualTo(0x001);
        assertThat(m.messageClass()).isEqualTo(StunClass.REQUEST);
        assertThat(m.username()).isEqualTo("evtj:h6vY");
        assertThat(m.priority()).isEqualTo(0x6e0001ffL);
        assertThat(m.hasIceControlled()).isTrue();
        assertThat(m.tieBreaker()).isEqualTo(0x932ff9b151263b36L);
        assertThat(m.checkFingerprint()).isTrue();
        assertThat(m.checkMessageIntegrity(PASSWORD)).isTrue();
        assertThat(m.checkMessageIntegrity("wrong".getBytes())).isFalse();
    }

    @Test
    void rfc5769Ipv4Response() throws Exception {
        StunMessage m = StunMessage.decode(IPV4_RESPONSE, 0, IPV4_RESPONSE.length);
        assertThat(m.messageClass()).isEqualTo(StunClass.SUCCESS_RESPONSE);
        assertThat(m.xorMappedAddress())
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("192.0.2.1"), 32853));
        assertThat(m.checkFingerprint()).isTrue();
        assertThat(m.checkMessageIntegrity(PASSWORD)).isTrue();
    }

    @Test
    void rfc5769Ipv6Response() throws Exception {
        StunMessage m = StunMessage.decode(IPV6_RESPONSE, 0, IPV6_RESPONSE.length);
        assertThat(m.xorMappedAddress()).isEqualTo(new InetSocketAddress(
                InetAddress.getByName("2001:db8:1234:5678:11:2233:4455:6677"), 32853));
        assertThat(m.checkFingerprint()).isTrue();
        assertThat(m.checkMessageIntegrity(PASSWORD)).isTrue();
    }

    @Test
    void builderReproducesTheRfc5769Ipv4ResponseByteForByte() throws Exception {
        byte[] tx = HexFormat.of().parseHex("b7e7a701bc34d686fa87dfae");
        byte[] built = StunMessageBuilder.bindingSuccess(tx)
                .software("test vector")
                .xorMappedAddress(new InetSocketAddress(InetAddress.getByName("192.0.2.1"), 32853))
                .build(PASSWORD, true);
        // RFC 5769 pads SOFTWARE with a space; we pad with zero bytes (RFC 5389 §15 allows any value)
        byte[] expected = IPV4_RESPONSE.clone();
        expected[20 + 4 + 11] = 0;
        StunMessage m = StunMessage.decode(built, 0, built.length);
        assertThat(m.checkMessageIntegrity(PASSWORD)).isTrue();
        assertThat(m.checkFingerprint()).isTrue();
        assertThat(java.util.Arrays.copyOfRange(built, 0, 32 + 12))
                .isEqualTo(java.util.Arrays.copyOfRange(expected, 0, 32 + 12));
    }

    @Test
    void roundTripOfAnIceCheck() throws Exception {
        byte[] tx = StunMessageBuilder.newTransactionId();
        byte[] req = StunMessageBuilder.bindingRequest(tx).username("bridge:browser").priority(1845501695L)
                .iceControlling(42).useCandidate().build("secretsecretsecretsecret".getBytes(), true);
        StunMessage m = StunMessage.decode(Unpooled.wrappedBuffer(req));
        assertThat(m.transactionId()).isEqualTo(tx);
        assertThat(m.username()).isEqualTo("bridge:browser");
        assertThat(m.hasUseCandidate()).isTrue();
        assertThat(m.hasIceControlling()).isTrue();
        assertThat(m.tieBreaker()).isEqualTo(42);
        assertThat(m.priority()).isEqualTo(1845501695L);
        assertThat(m.checkMessageIntegrity("secretsecretsecretsecret".getBytes())).isTrue();
        assertThat(m.checkFingerprint()).isTrue();
        req[25] ^= 1; // flip a bit inside USERNAME
        StunMessage tampered = StunMessage.decode(req, 0, req.length);
        assertThat(tampered.checkMessageIntegrity("secretsecretsecretsecret".getBytes())).isFalse();
        assertThat(tampered.checkFingerprint()).isFalse();
    }

    @Test
    void errorResponseCarriesItsCode() throws Exception {
        byte[] e = StunMessageBuilder.bindingError(StunMessageBuilder.newTransactionId(), 487, "Role Conflict")
                .build(null, true);
        StunMessage m = StunMessage.decode(e, 0, e.length);
        assertThat(m.messageClass()).isEqualTo(StunClass.ERROR_RESPONSE);
        assertThat(m.errorCode()).isEqualTo(487);
    }

    @Test
    void truncatedAndRandomInputOnlyEverRaisesStunException() {
        Random r = new Random(5769);
        for (int i = 0; i < 100_000; i++) {
            byte[] base = i % 3 == 0 ? SAMPLE_REQUEST : i % 3 == 1 ? IPV4_RESPONSE : IPV6_RESPONSE;
            byte[] d = java.util.Arrays.copyOf(base, r.nextInt(base.length + 8));
            for (int k = r.nextInt(4); k > 0; k--) {
                if (d.length > 0) {
                    d[r.nextInt(d.length)] = (byte) r.nextInt();
                }
            }
            try {
                StunMessage m = StunMessage.decode(d, 0, d.length);
                m.checkMessageIntegrity(PASSWORD);
                m.checkFingerprint();
            } catch (StunException expected) {
                // fine: refused with a reason
            }
        }
        assertThatThrownBy(() -> StunMessage.decode(new byte[10], 0, 10)).isInstanceOf(StunException.class);
    }
}
