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

    /**
     * RFC 5769 §2.4 Sample Request with Long-Term Authentication: USERNAME U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9,
     * password "The" U+00AD "M" U+00AA "tr" U+2168 ("TheMatrIX" after SASLprep), NONCE, REALM "example.org".
     */
    static final byte[] LONG_TERM_REQUEST = hex("""
            00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
            00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
            00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
            00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
            00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66
            """);
    static final String LT_USERNAME = "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9";
    static final String LT_NONCE = "f//499k954d6OL34oL9FSTvy64sA";

    @Test
    void rfc5769LongTermCredentialRequest() throws Exception {
        StunMessage m = StunMessage.decode(LONG_TERM_REQUEST, 0, LONG_TERM_REQUEST.length);
        assertThat(m.messageClass()).isEqualTo(StunClass.REQUEST);
        assertThat(m.method()).isEqualTo(StunMethod.BINDING);
        assertThat(m.username()).isEqualTo(LT_USERNAME);
        assertThat(m.nonce()).isEqualTo(LT_NONCE);
        assertThat(m.realm()).isEqualTo("example.org");
        assertThat(m.hasFingerprint()).isFalse();
        // RFC 8489 §9.2.2: key = MD5(username ":" realm ":" SASLprep(password))
        byte[] key = StunMessageBuilder.longTermKey(LT_USERNAME, "example.org", "TheMatrIX");
        assertThat(m.checkMessageIntegrity(key)).isTrue();
        assertThat(m.checkMessageIntegrity(StunMessageBuilder.longTermKey(LT_USERNAME, "example.org", "TheMatrix")))
                .isFalse();
        // and the builder writes the same bytes
        byte[] built = StunMessageBuilder.bindingRequest(hex("78ad3433c6ad72c029da412e")).username(LT_USERNAME)
                .nonce(LT_NONCE).realm("example.org").build(key, false);
        assertThat(built).isEqualTo(LONG_TERM_REQUEST);
    }

    @Test
    void turnAllocateRoundTrip() throws Exception {
        byte[] tx = StunMessageBuilder.newTransactionId();
        byte[] key = StunMessageBuilder.longTermKey("1700021600:room-7", "turn.example.org", "pw");
        byte[] req = StunMessageBuilder.request(StunMethod.ALLOCATE, tx).requestedTransport(17)
                .username("1700021600:room-7").realm("turn.example.org").nonce("abc").lifetime(600)
                .build(key, true);
        StunMessage m = StunMessage.decode(req, 0, req.length);
        assertThat(m.method()).isEqualTo(StunMethod.ALLOCATE);
        assertThat(m.messageClass()).isEqualTo(StunClass.REQUEST);
        assertThat(m.lifetime()).isEqualTo(600);
        assertThat(m.realm()).isEqualTo("turn.example.org");
        assertThat(m.nonce()).isEqualTo("abc");
        assertThat(m.checkMessageIntegrity(key)).isTrue();
        assertThat(m.checkFingerprint()).isTrue();
        // RFC 8656 §18.7: REQUESTED-TRANSPORT is 0x0019, length 4, protocol 17 then three zero bytes
        assertThat(java.util.Arrays.copyOfRange(req, 20, 28)).isEqualTo(hex("0019 0004 11000000"));

        InetSocketAddress relayed = new InetSocketAddress(InetAddress.getByName("203.0.113.5"), 49170);
        InetSocketAddress peer = new InetSocketAddress(InetAddress.getByName("2001:db8::9"), 10000);
        byte[] ok = StunMessageBuilder.message(StunMethod.ALLOCATE, StunClass.SUCCESS_RESPONSE, tx)
                .xorRelayedAddress(relayed).xorPeerAddress(peer).lifetime(3600).build(key, true);
        StunMessage r = StunMessage.decode(ok, 0, ok.length);
        assertThat(r.messageClass()).isEqualTo(StunClass.SUCCESS_RESPONSE);
        assertThat(r.method()).isEqualTo(StunMethod.ALLOCATE);
        assertThat(r.xorRelayedAddress()).isEqualTo(relayed);
        assertThat(r.xorPeerAddress()).isEqualTo(peer);
        assertThat(r.lifetime()).isEqualTo(3600);
        // the relayed address is XOR-ed on the wire (RFC 8489 §14.2), not in clear
        assertThat(java.util.Arrays.copyOfRange(ok, 28, 32)).isNotEqualTo(relayed.getAddress().getAddress());
    }

    @Test
    void errorResponseWithRealmAndNonce() throws Exception {
        byte[] tx = StunMessageBuilder.newTransactionId();
        byte[] e = StunMessageBuilder.message(StunMethod.CREATE_PERMISSION, StunClass.ERROR_RESPONSE, tx)
                .attribute(StunAttributeType.ERROR_CODE, new byte[] {0, 0, 4, 3, 'F', 'o', 'r', 'b', 'i', 'd', 'd',
                    'e', 'n'})
                .realm("r").nonce("n").build(null, true);
        StunMessage m = StunMessage.decode(e, 0, e.length);
        assertThat(m.method()).isEqualTo(StunMethod.CREATE_PERMISSION);
        assertThat(m.errorCode()).isEqualTo(403);
        assertThat(m.errorReason()).isEqualTo("Forbidden");
        assertThat(m.realm()).isEqualTo("r");
        assertThat(m.nonce()).isEqualTo("n");
    }

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
            byte[] base = i % 4 == 0 ? SAMPLE_REQUEST : i % 4 == 1 ? IPV4_RESPONSE : i % 4 == 2 ? IPV6_RESPONSE
                    : LONG_TERM_REQUEST;
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
