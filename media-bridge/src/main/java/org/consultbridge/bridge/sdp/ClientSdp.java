package org.consultbridge.bridge.sdp;

import java.util.List;

/**
 * The client side of negotiation: SDP as a browser writes it, for the project's own simulated peers (tests and the
 * load generator), so that they negotiate with the bridge exactly as Chromium does.
 */
public final class ClientSdp {

    private ClientSdp() {
    }

    /** What a client says about its own transport. */
    public record ClientTransport(String ufrag, String pwd, String fingerprint) {
    }

    /** A Chromium-shaped publish offer: Opus audio and VP8 (+rtx) video with a=ssrc lines, BUNDLE, rtcp-mux. */
    public static String publishOffer(ClientTransport peer, long audioSsrc, long videoSsrc, long rtxSsrc) {
        String common = "c=IN IP4 0.0.0.0\r\n"
                + "a=rtcp:9 IN IP4 0.0.0.0\r\n"
                + "a=ice-ufrag:" + peer.ufrag() + "\r\n"
                + "a=ice-pwd:" + peer.pwd() + "\r\n"
                + "a=ice-options:trickle\r\n"
                + "a=fingerprint:sha-256 " + peer.fingerprint() + "\r\n"
                + "a=setup:actpass\r\n";
        return "v=0\r\n"
                + "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
                + "s=-\r\n"
                + "t=0 0\r\n"
                + "a=group:BUNDLE 0 1\r\n"
                + "a=extmap-allow-mixed\r\n"
                + "a=msid-semantic: WMS s1\r\n"
                + "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n"
                + common
                + "a=mid:0\r\n"
                + "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
                + "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
                + "a=sendonly\r\n"
                + "a=msid:s1 a1\r\n"
                + "a=rtcp-mux\r\n"
                + "a=rtcp-rsize\r\n"
                + "a=rtpmap:111 opus/48000/2\r\n"
                + "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
                + "a=rtpmap:0 PCMU/8000\r\n"
                + "a=ssrc:" + audioSsrc + " cname:peer\r\n"
                + "a=ssrc:" + audioSsrc + " msid:s1 a1\r\n"
                + "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
                + common
                + "a=mid:1\r\n"
                + "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
                + "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
                + "a=sendonly\r\n"
                + "a=msid:s1 v1\r\n"
                + "a=rtcp-mux\r\n"
                + "a=rtcp-rsize\r\n"
                + "a=rtpmap:96 VP8/90000\r\n"
                + "a=rtcp-fb:96 ccm fir\r\n"
                + "a=rtcp-fb:96 nack\r\n"
                + "a=rtcp-fb:96 nack pli\r\n"
                + "a=rtpmap:97 rtx/90000\r\n"
                + "a=fmtp:97 apt=96\r\n"
                + "a=ssrc-group:FID " + videoSsrc + " " + rtxSsrc + "\r\n"
                + "a=ssrc:" + videoSsrc + " cname:peer\r\n"
                + "a=ssrc:" + videoSsrc + " msid:s1 v1\r\n"
                + "a=ssrc:" + rtxSsrc + " cname:peer\r\n"
                + "a=ssrc:" + rtxSsrc + " msid:s1 v1\r\n";
    }

    /** Header extension ids in {@link #publishOfferSimulcast}, as Chromium numbers them. */
    public static final int EXT_ID_MID = 4;
    public static final int EXT_ID_RID = 10;
    public static final int EXT_ID_REPAIRED_RID = 11;
    public static final int EXT_ID_TRANSPORT_CC = 3;

    /**
     * A Chromium-shaped publish offer with VP8 simulcast (RFC 8853): one a=rid per layer, lowest first, and no
     * a=ssrc lines for video; the bridge learns each layer's SSRC from the mid and rid header extensions.
     */
    public static String publishOfferSimulcast(ClientTransport peer, long audioSsrc, List<String> rids) {
        String offer = publishOffer(peer, audioSsrc, 1, 2);
        int video = offer.indexOf("m=video");
        String audioPart = offer.substring(0, video);
        String videoPart = offer.substring(video);
        videoPart = videoPart.substring(0, videoPart.indexOf("a=ssrc-group:FID"));
        videoPart = videoPart.replace("a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n",
                "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
                        + "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
                        + "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
                        + "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n");
        StringBuilder sb = new StringBuilder(audioPart).append(videoPart);
        for (String rid : rids) {
            sb.append("a=rid:").append(rid).append(" send\r\n");
        }
        sb.append("a=simulcast:send ").append(String.join(";", rids)).append("\r\n");
        return sb.toString();
    }

    /** The answer a browser writes to the bridge's subscribe offer: every m-line received, DTLS active. */
    public static String subscribeAnswer(ClientTransport peer, String offerSdp) throws SdpException {
        SessionDescription offer = SessionDescription.parse(offerSdp);
        StringBuilder sb = new StringBuilder();
        sb.append("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
        List<String> bundle = offer.bundleGroup();
        if (!bundle.isEmpty()) {
            sb.append("a=group:BUNDLE ").append(String.join(" ", bundle)).append("\r\n");
        }
        for (MediaDescription m : offer.media()) {
            sb.append("m=").append(m.kind()).append(' ').append(m.port() == 0 ? 0 : 9).append(' ')
                    .append(m.protocol());
            for (int pt : m.payloadTypes()) {
                sb.append(' ').append(pt);
            }
            sb.append("\r\nc=IN IP4 0.0.0.0\r\n");
            sb.append("a=mid:").append(m.mid()).append("\r\n");
            if (m.port() == 0) {
                sb.append("a=inactive\r\n");
                continue;
            }
            sb.append("a=ice-ufrag:").append(peer.ufrag()).append("\r\n");
            sb.append("a=ice-pwd:").append(peer.pwd()).append("\r\n");
            sb.append("a=fingerprint:sha-256 ").append(peer.fingerprint()).append("\r\n");
            sb.append("a=setup:active\r\na=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n");
            m.extensions().forEach(e -> sb.append("a=extmap:").append(e.id()).append(' ').append(e.uri()).append("\r\n"));
            for (RtpCodec c : m.codecs()) {
                sb.append("a=rtpmap:").append(c.pt()).append(' ').append(c.name()).append('/').append(c.clockRate());
                if (c.channels() > 1) {
                    sb.append('/').append(c.channels());
                }
                sb.append("\r\n");
                if (!c.fmtp().isEmpty()) {
                    StringBuilder f = new StringBuilder();
                    c.fmtp().forEach((k, v) -> f.append(f.isEmpty() ? "" : ";").append(k).append(v.isEmpty() ? "" : "=" + v));
                    sb.append("a=fmtp:").append(c.pt()).append(' ').append(f).append("\r\n");
                }
            }
        }
        return sb.toString();
    }
}
