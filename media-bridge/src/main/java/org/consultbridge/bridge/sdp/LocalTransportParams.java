package org.consultbridge.bridge.sdp;

import java.util.List;

/** What the bridge writes about one of its transports into every SDP: ICE credentials, fingerprint, candidates. */
public record LocalTransportParams(String iceUfrag, String icePwd, String fingerprintSha256,
                                   List<IceCandidate> candidates) {
}
