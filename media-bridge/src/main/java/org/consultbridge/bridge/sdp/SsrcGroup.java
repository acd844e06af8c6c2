package org.consultbridge.bridge.sdp;

import java.util.List;

/** a=ssrc-group (RFC 5576 §4.2), e.g. FID (media + RTX) or SIM. */
public record SsrcGroup(String semantics, List<Long> ssrcs) {
}
