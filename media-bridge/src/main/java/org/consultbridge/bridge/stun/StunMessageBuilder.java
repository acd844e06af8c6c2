package org.consultbridge.bridge.stun;

import java.io.ByteArrayOutputStream;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * Builds STUN messages (RFC 5389 §6, §15) for the ICE-lite responder, for test and load-test clients, and TURN
 * requests (RFC 8656) for the signalling server's TURN probe.
 */
public final class StunMessageBuilder {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int BINDING = 0x0001;

    private final int type;
    private final byte[] transactionId;
    private final ByteArrayOutputStream attributes = new ByteArrayOutputStream(128);

    private StunMessageBuilder(int type, byte[] transactionId) {
        if (transactionId.length != 12) {
            throw new IllegalArgumentException("transaction id must be 12 bytes");
        }
        this.type = type;
        this.transactionId = transactionId.clone();
    }

    /** RFC 5389 §6: message type from method and class bits. */
    static int messageType(int method, StunClass cls) {
        int c = cls.ordinal();
        return (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2)
                | ((c & 1) << 4) | ((c & 2) << 7);
    }

    public static StunMessageBuilder bindingRequest(byte[] transactionId) {
        return new StunMessageBuilder(messageType(BINDING, StunClass.REQUEST), transactionId);
    }

    public static StunMessageBuilder bindingSuccess(byte[] transactionId) {
        return new StunMessageBuilder(messageType(BINDING, StunClass.SUCCESS_RESPONSE), transactionId);
    }

    /** RFC 5389 §15.6: ERROR-CODE with class (hundreds) and number, and a reason phrase. */
    public static StunMessageBuilder bindingError(byte[] transactionId, int code, String reason) {
        StunMessageBuilder b = new StunMessageBuilder(messageType(BINDING, StunClass.ERROR_RESPONSE), transactionId);
        byte[] r = reason.getBytes(StandardCharsets.UTF_8);
        byte[] v = new byte[4 + r.length];
        v[2] = (byte) (code / 100);
        v[3] = (byte) (code % 100);
        System.arraycopy(r, 0, v, 4, r.length);
        b.attribute(StunAttributeType.ERROR_CODE, v);
        return b;
    }

    /** A request of any method, e.g. {@link StunMethod#ALLOCATE} (RFC 8656 §7.1). */
    public static StunMessageBuilder request(int method, byte[] transactionId) {
        return new StunMessageBuilder(messageType(method, StunClass.REQUEST), transactionId);
    }

    /** A message of any method and class. */
    public static StunMessageBuilder message(int method, StunClass cls, byte[] transactionId) {
        return new StunMessageBuilder(messageType(method, cls), transactionId);
    }

    /**
     * RFC 8489 §9.2.2: the long-term credential key, MD5(username ":" realm ":" password), for MESSAGE-INTEGRITY.
     * The strings must already be OpaqueString/SASLprep-processed (RFC 8265); ASCII ones are unchanged by it.
     */
    public static byte[] longTermKey(String username, String realm, String password) {
        try {
            return MessageDigest.getInstance("MD5")
                    .digest((username + ":" + realm + ":" + password).getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 unavailable", e);
        }
    }

    public static byte[] newTransactionId() {
        byte[] id = new byte[12];
        RANDOM.nextBytes(id);
        return id;
    }

    /** RFC 5389 §15.2. */
    public StunMessageBuilder xorMappedAddress(InetSocketAddress a) {
        return xorAddress(StunAttributeType.XOR_MAPPED_ADDRESS, a);
    }

    /** RFC 8656 §18.3: the peer of a CreatePermission, ChannelBind or Send. */
    public StunMessageBuilder xorPeerAddress(InetSocketAddress a) {
        return xorAddress(StunAttributeType.XOR_PEER_ADDRESS, a);
    }

    /** RFC 8656 §18.5. */
    public StunMessageBuilder xorRelayedAddress(InetSocketAddress a) {
        return xorAddress(StunAttributeType.XOR_RELAYED_ADDRESS, a);
    }

    /** RFC 8489 §14.9. */
    public StunMessageBuilder realm(String r) {
        return attribute(StunAttributeType.REALM, r.getBytes(StandardCharsets.UTF_8));
    }

    /** RFC 8489 §14.10. */
    public StunMessageBuilder nonce(String n) {
        return attribute(StunAttributeType.NONCE, n.getBytes(StandardCharsets.UTF_8));
    }

    /** RFC 8656 §18.2: seconds; 0 in a Refresh deletes the allocation (§7.2). */
    public StunMessageBuilder lifetime(long seconds) {
        return attribute(StunAttributeType.LIFETIME, u32(seconds));
    }

    /** RFC 8656 §18.7: protocol number (17 = UDP) followed by three reserved bytes. */
    public StunMessageBuilder requestedTransport(int protocol) {
        return attribute(StunAttributeType.REQUESTED_TRANSPORT, new byte[] {(byte) protocol, 0, 0, 0});
    }

    private StunMessageBuilder xorAddress(int attrType, InetSocketAddress a) {
        byte[] addr = a.getAddress().getAddress();
        byte[] v = new byte[4 + addr.length];
        v[1] = (byte) (a.getAddress() instanceof Inet4Address ? 0x01 : 0x02);
        int port = a.getPort() ^ (StunMessage.MAGIC_COOKIE >>> 16);
        v[2] = (byte) (port >> 8);
        v[3] = (byte) port;
        byte[] mask = new byte[16];
        mask[0] = 0x21;
        mask[1] = 0x12;
        mask[2] = (byte) 0xA4;
        mask[3] = 0x42;
        System.arraycopy(transactionId, 0, mask, 4, 12);
        for (int i = 0; i < addr.length; i++) {
            v[4 + i] = (byte) (addr[i] ^ mask[i]);
        }
        return attribute(attrType, v);
    }

    public StunMessageBuilder username(String u) {
        return attribute(StunAttributeType.USERNAME, u.getBytes(StandardCharsets.UTF_8));
    }

    public StunMessageBuilder priority(long p) {
        return attribute(StunAttributeType.PRIORITY, u32(p));
    }

    public StunMessageBuilder iceControlling(long tieBreaker) {
        return attribute(StunAttributeType.ICE_CONTROLLING, u64(tieBreaker));
    }

    public StunMessageBuilder iceControlled(long tieBreaker) {
        return attribute(StunAttributeType.ICE_CONTROLLED, u64(tieBreaker));
    }

    public StunMessageBuilder useCandidate() {
        return attribute(StunAttributeType.USE_CANDIDATE, new byte[0]);
    }

    public StunMessageBuilder software(String s) {
        return attribute(StunAttributeType.SOFTWARE, s.getBytes(StandardCharsets.UTF_8));
    }

    /** Adds a raw attribute, padded to 4 bytes (RFC 5389 §15). */
    public StunMessageBuilder attribute(int attrType, byte[] value) {
        attributes.write(attrType >> 8);
        attributes.write(attrType);
        attributes.write(value.length >> 8);
        attributes.write(value.length);
        attributes.writeBytes(value);
        for (int i = value.length; (i & 3) != 0; i++) {
            attributes.write(0);
        }
        return this;
    }

    /**
     * Encodes the message; with a key, MESSAGE-INTEGRITY (RFC 5389 §15.4) is added, then FINGERPRINT (§15.5) last
     * when asked for.
     */
    public byte[] build(byte[] integrityKeyOrNull, boolean fingerprint) {
        byte[] attrs = attributes.toByteArray();
        int total = StunMessage.HEADER_LENGTH + attrs.length + (integrityKeyOrNull != null ? 24 : 0)
                + (fingerprint ? 8 : 0);
        byte[] msg = new byte[total];
        msg[0] = (byte) (type >> 8);
        msg[1] = (byte) type;
        msg[4] = 0x21;
        msg[5] = 0x12;
        msg[6] = (byte) 0xA4;
        msg[7] = 0x42;
        System.arraycopy(transactionId, 0, msg, 8, 12);
        System.arraycopy(attrs, 0, msg, 20, attrs.length);
        int pos = 20 + attrs.length;
        if (integrityKeyOrNull != null) {
            byte[] mac = StunMessage.hmacSha1(integrityKeyOrNull, msg, pos, pos + 24 - StunMessage.HEADER_LENGTH);
            msg[pos] = 0x00;
            msg[pos + 1] = 0x08;
            msg[pos + 2] = 0x00;
            msg[pos + 3] = 20;
            System.arraycopy(mac, 0, msg, pos + 4, 20);
            pos += 24;
        }
        if (fingerprint) {
            int lengthField = pos + 8 - StunMessage.HEADER_LENGTH;
            msg[2] = (byte) (lengthField >> 8);
            msg[3] = (byte) lengthField;
            long crc = StunMessage.crc32(msg, pos) ^ StunMessage.FINGERPRINT_XOR;
            msg[pos] = (byte) 0x80;
            msg[pos + 1] = 0x28;
            msg[pos + 2] = 0x00;
            msg[pos + 3] = 4;
            System.arraycopy(u32(crc), 0, msg, pos + 4, 4);
            pos += 8;
        }
        int lengthField = pos - StunMessage.HEADER_LENGTH;
        msg[2] = (byte) (lengthField >> 8);
        msg[3] = (byte) lengthField;
        return msg;
    }

    private static byte[] u32(long v) {
        return new byte[] {(byte) (v >> 24), (byte) (v >> 16), (byte) (v >> 8), (byte) v};
    }

    private static byte[] u64(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >> (56 - 8 * i));
        }
        return b;
    }
}
