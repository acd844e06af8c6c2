package org.consultbridge.bridge.rtcp;

/** NTP timestamps as RTCP uses them (RFC 3550 §4): seconds since 1900 in the high 32 bits, fraction below. */
public final class NtpTime {

    /** Seconds from 1900-01-01 to 1970-01-01. */
    private static final long EPOCH_OFFSET_SECONDS = 2_208_988_800L;

    private NtpTime() {
    }

    public static long fromUnixMillis(long ms) {
        long seconds = Math.floorDiv(ms, 1000) + EPOCH_OFFSET_SECONDS;
        long fraction = (Math.floorMod(ms, 1000L) << 32) / 1000;
        return (seconds << 32) | fraction;
    }

    /** The middle 32 bits, as in LSR (RFC 3550 §6.4.1). */
    public static long middle32(long ntp64) {
        return (ntp64 >>> 16) & 0xFFFF_FFFFL;
    }

    public static long nowNtp() {
        return fromUnixMillis(System.currentTimeMillis());
    }
}
