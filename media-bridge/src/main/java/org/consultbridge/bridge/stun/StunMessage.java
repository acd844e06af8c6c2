package org.consultbridge.bridge.stun;

import io.netty.buffer.ByteBuf;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.zip.CRC32;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A decoded STUN message (RFC 5389). STUN is not on the media path (a few checks per second per peer), so this
 * class copies the datagram and favours clarity; it still never throws anything but {@link StunException} on
 * bad input, and bounds all work by the datagram's size.
 */
public final class StunMessage {

    static final int MAGIC_COOKIE = 0x2112A442;
    static final int HEADER_LENGTH = 20;
    /** RFC 5389 §15.5: FINGERPRINT is the CRC-32 of the message XOR-ed with this. */
    static final long FINGERPRINT_XOR = 0x5354554EL;

    private final byte[] data;
    private final int type;
    private final byte[] transactionId;
    /** Offset of MESSAGE-INTEGRITY / FINGERPRINT attribute headers, or -1. */
    private int integrityOffset = -1;
    private int fingerprintOffset = -1;
    private String username;
    private boolean useCandidate;
    private long priority = -1;
    private boolean iceControlling;
    private boolean iceControlled;
    private long tieBreaker;
    private InetSocketAddress xorMappedAddress;
    private InetSocketAddress xorRelayedAddress;
    private InetSocketAddress xorPeerAddress;
    private int errorCode = -1;
    private String errorReason;
    private String realm;
    private String nonce;
    private long lifetime = -1;

    private StunMessage(byte[] data) throws StunException {
        this.data = data;
        this.type = ((data[0] & 0xFF) << 8) | (data[1] & 0xFF);
        this.transactionId = new byte[12];
        System.arraycopy(data, 8, transactionId, 0, 12);
        parseAttributes();
    }

    /** RFC 7983 §7 and RFC 5389 §6: first two bits zero, magic cookie, length a multiple of 4 matching the datagram. */
    public static boolean looksLikeStun(ByteBuf buf) {
        int n = buf.readableBytes();
        if (n < HEADER_LENGTH) {
            return false;
        }
        int r = buf.readerIndex();
        if ((buf.getUnsignedByte(r) & 0xC0) != 0 || buf.getInt(r + 4) != MAGIC_COOKIE) {
            return false;
        }
        int length = buf.getUnsignedShort(r + 2);
        return (length & 3) == 0 && HEADER_LENGTH + length == n;
    }

    public static StunMessage decode(ByteBuf buf) throws StunException {
        byte[] copy = new byte[buf.readableBytes()];
        buf.getBytes(buf.readerIndex(), copy);
        return decode(copy, 0, copy.length);
    }

    public static StunMessage decode(byte[] data, int off, int len) throws StunException {
        if (data == null || off < 0 || len < 0 || off + len > data.length) {
            throw new StunException("bad buffer bounds");
        }
        if (len < HEADER_LENGTH) {
            throw new StunException("shorter than a STUN header: " + len + " bytes");
        }
        if ((data[off] & 0xC0) != 0) {
            throw new StunException("first two bits must be zero");
        }
        int cookie = ((data[off + 4] & 0xFF) << 24) | ((data[off + 5] & 0xFF) << 16) | ((data[off + 6] & 0xFF) << 8)
                | (data[off + 7] & 0xFF);
        if (cookie != MAGIC_COOKIE) {
            throw new StunException("no magic cookie");
        }
        int length = ((data[off + 2] & 0xFF) << 8) | (data[off + 3] & 0xFF);
        if ((length & 3) != 0) {
            throw new StunException("message length " + length + " is not a multiple of 4");
        }
        if (HEADER_LENGTH + length != len) {
            throw new StunException("message length " + length + " does not match datagram of " + len + " bytes");
        }
        byte[] copy = new byte[len];
        System.arraycopy(data, off, copy, 0, len);
        return new StunMessage(copy);
    }

    private void parseAttributes() throws StunException {
        int pos = HEADER_LENGTH;
        while (pos < data.length) {
            if (pos + 4 > data.length) {
                throw new StunException("truncated attribute header at " + pos);
            }
            int attrType = u16(pos);
            int attrLen = u16(pos + 2);
            int value = pos + 4;
            if (value + attrLen > data.length) {
                throw new StunException("attribute 0x" + Integer.toHexString(attrType) + " overruns the message");
            }
            if (fingerprintOffset >= 0) {
                throw new StunException("attribute after FINGERPRINT"); // RFC 5389 §15.5: FINGERPRINT is last
            }
            if (integrityOffset >= 0 && attrType != StunAttributeType.FINGERPRINT) {
                // RFC 5389 §15.4: attributes after MESSAGE-INTEGRITY, other than FINGERPRINT, are ignored
                pos = value + ((attrLen + 3) & ~3);
                continue;
            }
            switch (attrType) {
                case StunAttributeType.USERNAME -> {
                    if (attrLen > 513) {
                        throw new StunException("USERNAME longer than 513 bytes");
                    }
                    username = new String(data, value, attrLen, StandardCharsets.UTF_8);
                }
                case StunAttributeType.USE_CANDIDATE -> useCandidate = true;
                case StunAttributeType.PRIORITY -> {
                    requireLength(attrType, attrLen, 4);
                    priority = u32(value);
                }
                case StunAttributeType.ICE_CONTROLLING -> {
                    requireLength(attrType, attrLen, 8);
                    iceControlling = true;
                    tieBreaker = u64(value);
                }
                case StunAttributeType.ICE_CONTROLLED -> {
                    requireLength(attrType, attrLen, 8);
                    iceControlled = true;
                    tieBreaker = u64(value);
                }
                case StunAttributeType.XOR_MAPPED_ADDRESS -> xorMappedAddress = parseXorAddress(value, attrLen);
                // RFC 8656 §18.5 and §18.3: same encoding as XOR-MAPPED-ADDRESS
                case StunAttributeType.XOR_RELAYED_ADDRESS -> xorRelayedAddress = parseXorAddress(value, attrLen);
                case StunAttributeType.XOR_PEER_ADDRESS -> xorPeerAddress = parseXorAddress(value, attrLen);
                case StunAttributeType.ERROR_CODE -> {
                    // RFC 8489 §14.8: 21 reserved bits, class (3 bits), number (8 bits), UTF-8 reason phrase
                    if (attrLen < 4) {
                        throw new StunException("ERROR-CODE shorter than 4 bytes");
                    }
                    errorCode = (data[value + 2] & 0x07) * 100 + (data[value + 3] & 0xFF);
                    errorReason = new String(data, value + 4, attrLen - 4, StandardCharsets.UTF_8);
                }
                case StunAttributeType.REALM -> realm = text(attrType, value, attrLen); // RFC 8489 §14.9
                case StunAttributeType.NONCE -> nonce = text(attrType, value, attrLen); // RFC 8489 §14.10
                case StunAttributeType.LIFETIME -> { // RFC 8656 §18.2
                    requireLength(attrType, attrLen, 4);
                    lifetime = u32(value);
                }
                case StunAttributeType.MESSAGE_INTEGRITY -> {
                    requireLength(attrType, attrLen, 20);
                    integrityOffset = pos;
                }
                case StunAttributeType.FINGERPRINT -> {
                    requireLength(attrType, attrLen, 4);
                    fingerprintOffset = pos;
                }
                default -> {
                    // comprehension-optional or unknown attribute: skipped
                }
            }
            pos = value + ((attrLen + 3) & ~3); // RFC 5389 §15: values padded to 4 bytes
        }
        if (pos != data.length) {
            throw new StunException("attribute padding overruns the message");
        }
    }

    /** REALM and NONCE: fewer than 128 characters, at most 763 bytes (RFC 8489 §14.9, §14.10). */
    private String text(int attrType, int value, int len) throws StunException {
        if (len > 763) {
            throw new StunException("attribute 0x" + Integer.toHexString(attrType) + " longer than 763 bytes");
        }
        return new String(data, value, len, StandardCharsets.UTF_8);
    }

    private static void requireLength(int attrType, int actual, int expected) throws StunException {
        if (actual != expected) {
            throw new StunException("attribute 0x" + Integer.toHexString(attrType) + " has length " + actual
                    + ", expected " + expected);
        }
    }

    /**
     * RFC 5389 §15.2: port XOR the cookie's top 16 bits, address XOR the cookie (and transaction id for IPv6); also
     * the encoding of XOR-PEER-ADDRESS and XOR-RELAYED-ADDRESS (RFC 8656 §18.3, §18.5).
     */
    private InetSocketAddress parseXorAddress(int value, int len) throws StunException {
        if (len < 8) {
            throw new StunException("XOR address attribute too short");
        }
        int family = data[value + 1] & 0xFF;
        int port = u16(value + 2) ^ (MAGIC_COOKIE >>> 16);
        byte[] addr;
        if (family == 0x01 && len == 8) {
            addr = new byte[4];
        } else if (family == 0x02 && len == 20) {
            addr = new byte[16];
        } else {
            throw new StunException("XOR address attribute with bad family/length");
        }
        for (int i = 0; i < addr.length; i++) {
            // bytes 4..19 of the header are the cookie followed by the transaction id
            addr[i] = (byte) (data[value + 4 + i] ^ data[4 + i]);
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(addr), port);
        } catch (UnknownHostException e) {
            throw new StunException("bad address");
        }
    }

    private int u16(int pos) {
        return ((data[pos] & 0xFF) << 8) | (data[pos + 1] & 0xFF);
    }

    private long u32(int pos) {
        return ((long) u16(pos) << 16) | u16(pos + 2);
    }

    private long u64(int pos) {
        return (u32(pos) << 32) | u32(pos + 4);
    }

    public int messageType() {
        return type;
    }

    /** RFC 5389 §6: the method bits M0..M11 interleaved with the class bits C0 (bit 4) and C1 (bit 8). */
    public int method() {
        return (type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2);
    }

    public StunClass messageClass() {
        int c = ((type >> 4) & 0x1) | ((type >> 7) & 0x2);
        return StunClass.values()[c];
    }

    public byte[] transactionId() {
        return transactionId.clone();
    }

    public String username() {
        return username;
    }

    public boolean hasUseCandidate() {
        return useCandidate;
    }

    public long priority() {
        return priority;
    }

    public boolean hasIceControlling() {
        return iceControlling;
    }

    public boolean hasIceControlled() {
        return iceControlled;
    }

    public long tieBreaker() {
        return tieBreaker;
    }

    public InetSocketAddress xorMappedAddress() {
        return xorMappedAddress;
    }

    public int errorCode() {
        return errorCode;
    }

    /** The ERROR-CODE reason phrase, or null. */
    public String errorReason() {
        return errorReason;
    }

    /** XOR-RELAYED-ADDRESS (RFC 8656 §18.5): the relayed transport address of an allocation, or null. */
    public InetSocketAddress xorRelayedAddress() {
        return xorRelayedAddress;
    }

    /** XOR-PEER-ADDRESS (RFC 8656 §18.3), or null. */
    public InetSocketAddress xorPeerAddress() {
        return xorPeerAddress;
    }

    public String realm() {
        return realm;
    }

    public String nonce() {
        return nonce;
    }

    /** LIFETIME in seconds (RFC 8656 §18.2), or -1 when absent. */
    public long lifetime() {
        return lifetime;
    }

    public boolean hasMessageIntegrity() {
        return integrityOffset >= 0;
    }

    public boolean hasFingerprint() {
        return fingerprintOffset >= 0;
    }

    /**
     * RFC 5389 §15.4: HMAC-SHA1 over the message up to (not including) MESSAGE-INTEGRITY, with the header's length
     * field set as if MESSAGE-INTEGRITY were the last attribute. Short-term credentials: key = password bytes;
     * long-term: key = MD5(username ":" realm ":" password).
     */
    public boolean checkMessageIntegrity(byte[] key) {
        if (integrityOffset < 0 || key == null || key.length == 0) {
            return false;
        }
        byte[] expected = hmacSha1(key, data, integrityOffset, integrityOffset + 24 - HEADER_LENGTH);
        byte[] actual = new byte[20];
        System.arraycopy(data, integrityOffset + 4, actual, 0, 20);
        return MessageDigest.isEqual(expected, actual);
    }

    /** RFC 5389 §15.5. */
    public boolean checkFingerprint() {
        if (fingerprintOffset < 0) {
            return false;
        }
        long expected = crc32(data, fingerprintOffset) ^ FINGERPRINT_XOR;
        return expected == u32(fingerprintOffset + 4);
    }

    /** HMAC-SHA1 over {@code msg[0..length)} where the header's length field is replaced by {@code lengthField}. */
    static byte[] hmacSha1(byte[] key, byte[] msg, int length, int lengthField) {
        try {
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(key, "HmacSHA1"));
            mac.update(msg, 0, 2);
            mac.update((byte) (lengthField >> 8));
            mac.update((byte) lengthField);
            mac.update(msg, 4, length - 4);
            return mac.doFinal();
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA1 unavailable", e);
        }
    }

    static long crc32(byte[] msg, int length) {
        CRC32 crc = new CRC32();
        crc.update(msg, 0, length);
        return crc.getValue();
    }
}
