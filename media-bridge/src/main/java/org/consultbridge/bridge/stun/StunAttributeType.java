package org.consultbridge.bridge.stun;

/** STUN attribute types used by ICE and TURN (RFC 5389 §18.2, RFC 8445 §16.1, RFC 8656 §18). */
public final class StunAttributeType {
    public static final int MAPPED_ADDRESS = 0x0001;
    public static final int USERNAME = 0x0006;
    public static final int MESSAGE_INTEGRITY = 0x0008;
    public static final int ERROR_CODE = 0x0009;
    public static final int UNKNOWN_ATTRIBUTES = 0x000A;
    /** RFC 8656 §18.1. */
    public static final int CHANNEL_NUMBER = 0x000C;
    /** RFC 8656 §18.2: seconds until the allocation expires. */
    public static final int LIFETIME = 0x000D;
    /** RFC 8656 §18.3. */
    public static final int XOR_PEER_ADDRESS = 0x0012;
    /** RFC 8656 §18.4. */
    public static final int DATA = 0x0013;
    public static final int REALM = 0x0014;
    public static final int NONCE = 0x0015;
    /** RFC 8656 §18.5. */
    public static final int XOR_RELAYED_ADDRESS = 0x0016;
    /** RFC 8656 §18.7: the relay's transport protocol (17 = UDP). */
    public static final int REQUESTED_TRANSPORT = 0x0019;
    public static final int XOR_MAPPED_ADDRESS = 0x0020;
    public static final int PRIORITY = 0x0024;
    public static final int USE_CANDIDATE = 0x0025;
    public static final int SOFTWARE = 0x8022;
    public static final int FINGERPRINT = 0x8028;
    public static final int ICE_CONTROLLED = 0x8029;
    public static final int ICE_CONTROLLING = 0x802A;

    private StunAttributeType() {
    }
}
