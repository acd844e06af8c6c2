package org.consultbridge.bridge.sdp;

/** a=ssrc lines of one SSRC (RFC 5576 §4.1): its cname and msid. */
public record SsrcInfo(long ssrc, String cname, String msid) {
}
