package org.consultbridge.bridge.sdp;

import java.util.List;
import java.util.Map;

/** Lines common to every SDP the bridge writes (RFC 8866 §5, RFC 8839, RFC 8842). */
final class SdpWriter {

    private final StringBuilder sb = new StringBuilder(4096);

    SdpWriter line(String l) {
        sb.append(l).append("\r\n");
        return this;
    }

    SdpWriter session(long sessionId, long version, List<String> bundleMids) {
        line("v=0");
        line("o=- " + sessionId + " " + version + " IN IP4 127.0.0.1");
        line("s=ConsultBridge");
        line("t=0 0");
        line("a=ice-lite"); // RFC 8445 §2.5: the bridge only answers checks
        if (!bundleMids.isEmpty()) {
            line("a=group:BUNDLE " + String.join(" ", bundleMids));
        }
        line("a=msid-semantic: WMS *");
        return this;
    }

    SdpWriter transport(LocalTransportParams local, String setup) {
        line("c=IN IP4 0.0.0.0");
        line("a=rtcp:9 IN IP4 0.0.0.0");
        line("a=ice-ufrag:" + local.iceUfrag());
        line("a=ice-pwd:" + local.icePwd());
        line("a=fingerprint:sha-256 " + local.fingerprintSha256());
        line("a=setup:" + setup);
        return this;
    }

    SdpWriter candidates(LocalTransportParams local) {
        for (IceCandidate c : local.candidates()) {
            line("a=candidate:" + c.toSdpValue());
        }
        line("a=end-of-candidates");
        return this;
    }

    SdpWriter codec(int pt, String name, int clockRate, int channels, Map<String, String> fmtp, List<String> fb) {
        line("a=rtpmap:" + pt + " " + name + "/" + clockRate + (channels > 1 ? "/" + channels : ""));
        for (String f : fb) {
            line("a=rtcp-fb:" + pt + " " + f);
        }
        if (!fmtp.isEmpty()) {
            StringBuilder f = new StringBuilder();
            fmtp.forEach((k, v) -> f.append(f.isEmpty() ? "" : ";").append(k).append(v.isEmpty() ? "" : "=" + v));
            line("a=fmtp:" + pt + " " + f);
        }
        return this;
    }

    @Override
    public String toString() {
        return sb.toString();
    }
}
