package org.consultbridge.bridge.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.consultbridge.bridge.stun.StunException;
import org.consultbridge.bridge.stun.StunMessage;

/**
 * STUN decoding (RFC 5389/8489) of arbitrary datagrams. Contract: {@link StunMessage#decode} throws only
 * {@link StunException}; the accessors and the integrity/fingerprint checks of a decoded message never throw.
 * Seeds: the RFC 5769 vectors (in {@code StunMessageFuzzTestInputs/decode}).
 */
class StunMessageFuzzTest {

    private static final byte[] KEY = "VOkJxbRl1RmTxUk/WvJxBt".getBytes(StandardCharsets.UTF_8);

    @FuzzTest(maxDuration = "5s")
    void decode(byte[] datagram) {
        FuzzBounds.allocationBounded("STUN decode", datagram.length, () -> decodeAndRead(datagram));
    }

    private static void decodeAndRead(byte[] datagram) {
        boolean looksLikeStun = StunMessage.looksLikeStun(Unpooled.wrappedBuffer(datagram));
        try {
            StunMessage m = StunMessage.decode(Unpooled.wrappedBuffer(datagram));
            if (!looksLikeStun) {
                throw new AssertionError("decoded a datagram that looksLikeStun() refused");
            }
            m.method();
            m.messageClass();
            m.transactionId();
            m.username();
            m.priority();
            m.xorMappedAddress();
            m.xorPeerAddress();
            m.xorRelayedAddress();
            m.errorCode();
            m.errorReason();
            m.realm();
            m.nonce();
            m.lifetime();
            m.checkFingerprint();
            m.checkMessageIntegrity(KEY);
        } catch (StunException expected) {
            // the parser's documented way of refusing a datagram
        }
    }
}
