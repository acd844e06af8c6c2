package org.consultbridge.bridge.sdp;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The bridge's offers on a subscribe transport and the browser's answers (JSEP, RFC 8829 §5.2). One sendonly m-line
 * per track, never removed: a track that is gone is written with port 0 and left out of BUNDLE (RFC 8843 §7.3.3),
 * so the browser stops that transceiver and the remote track ends.
 */
public final class SubscribeNegotiation {

    private SubscribeNegotiation() {
    }

    public static String offer(LocalTransportParams local, long sessionId, long sessionVersion,
                               List<SubscribeTrack> tracks, MediaCapabilities caps) throws SdpException {
        if (tracks.isEmpty()) {
            throw new SdpException("nothing to offer");
        }
        List<String> bundle = tracks.stream().filter(SubscribeTrack::active).map(SubscribeTrack::mid).toList();
        SdpWriter w = new SdpWriter();
        w.session(sessionId, sessionVersion, bundle);
        boolean candidatesWritten = false;
        for (SubscribeTrack t : tracks) {
            boolean video = "video".equals(t.kind());
            String formats = video
                    ? MediaCapabilities.PT_VP8 + " " + MediaCapabilities.PT_VP8_RTX + " " + MediaCapabilities.PT_H264
                    + " " + MediaCapabilities.PT_H264_RTX
                    : MediaCapabilities.PT_OPUS + (caps.audioRed() ? " " + MediaCapabilities.PT_RED : "");
            w.line("m=" + t.kind() + " " + (t.active() ? 9 : 0) + " UDP/TLS/RTP/SAVPF " + formats);
            w.transport(local, "actpass");
            w.line("a=mid:" + t.mid());
            for (Map.Entry<String, Integer> e : caps.subscribeExtensions(video)) {
                w.line("a=extmap:" + e.getValue() + " " + e.getKey());
            }
            w.line(t.active() ? "a=sendonly" : "a=inactive");
            w.line("a=msid:" + t.msidStream() + " " + t.msidTrack());
            w.line("a=rtcp-mux");
            w.line("a=rtcp-rsize");
            List<String> fb = caps.feedbackOrdered(video);
            if (video) {
                w.codec(MediaCapabilities.PT_VP8, "VP8", 90000, 1, Map.of(), fb);
                w.codec(MediaCapabilities.PT_VP8_RTX, "rtx", 90000, 1, Map.of("apt", "" + MediaCapabilities.PT_VP8),
                        List.of());
                Map<String, String> h264 = new LinkedHashMap<>();
                h264.put("level-asymmetry-allowed", "1");
                h264.put("packetization-mode", "1");
                h264.put("profile-level-id", "42e01f");
                w.codec(MediaCapabilities.PT_H264, "H264", 90000, 1, h264, fb);
                w.codec(MediaCapabilities.PT_H264_RTX, "rtx", 90000, 1,
                        Map.of("apt", "" + MediaCapabilities.PT_H264), List.of());
            } else {
                Map<String, String> opus = new LinkedHashMap<>();
                opus.put("minptime", "10");
                opus.put("useinbandfec", "1");
                w.codec(MediaCapabilities.PT_OPUS, "opus", 48000, 2, opus, fb);
                if (caps.audioRed()) {
                    // RFC 2198 §5: the block formats; a subscriber that leaves RED out gets the primary Opus only
                    w.codec(MediaCapabilities.PT_RED, "red", 48000, 2,
                            Map.of(MediaCapabilities.PT_OPUS + "/" + MediaCapabilities.PT_OPUS, ""), List.of());
                }
            }
            if (t.active()) {
                if (t.rtxSsrc() != 0) {
                    w.line("a=ssrc-group:FID " + t.ssrc() + " " + t.rtxSsrc());
                }
                ssrcLines(w, t, t.ssrc());
                if (t.rtxSsrc() != 0) {
                    ssrcLines(w, t, t.rtxSsrc());
                }
                if (!candidatesWritten) {
                    w.candidates(local);
                    candidatesWritten = true;
                }
            }
        }
        return w.toString();
    }

    private static void ssrcLines(SdpWriter w, SubscribeTrack t, long ssrc) {
        w.line("a=ssrc:" + ssrc + " cname:" + t.cname());
        w.line("a=ssrc:" + ssrc + " msid:" + t.msidStream() + " " + t.msidTrack());
    }

    public static SubscribeAnswer parseAnswer(String answerSdp, List<SubscribeTrack> offeredTracks)
            throws SdpException {
        SessionDescription answer = SessionDescription.parse(answerSdp);
        List<MediaDescription> media = answer.media();
        if (media.size() != offeredTracks.size()) {
            throw new SdpException("answer has " + media.size() + " m-lines, the offer had " + offeredTracks.size());
        }
        Set<String> accepted = new HashSet<>();
        Map<String, Set<Integer>> pts = new HashMap<>();
        Map<String, Integer> ext = new HashMap<>();
        MediaDescription first = null;
        for (int i = 0; i < media.size(); i++) {
            MediaDescription m = media.get(i);
            SubscribeTrack t = offeredTracks.get(i);
            if (m.mid() != null && !m.mid().equals(t.mid())) {
                throw new SdpException("answer m-line " + i + " has mid " + m.mid() + ", the offer had " + t.mid());
            }
            if (m.port() == 0 || !t.active()) {
                continue;
            }
            accepted.add(t.mid());
            pts.put(t.mid(), Set.copyOf(m.payloadTypes()));
            for (ExtMap e : m.extensions()) {
                ext.putIfAbsent(e.uri(), e.id());
            }
            if (first == null) {
                first = m;
            }
        }
        if (first == null) {
            return new SubscribeAnswer(null, null, null, null, Set.of(), Map.of(), Map.of());
        }
        if (first.iceUfrag() == null || first.icePwd() == null) {
            throw new SdpException("answer has no ICE credentials");
        }
        if (first.fingerprint() == null) {
            throw new SdpException("answer has no DTLS fingerprint");
        }
        Setup setup = first.setup();
        if (setup != Setup.ACTIVE && setup != Setup.PASSIVE) {
            throw new SdpException("answer must choose a=setup:active or passive");
        }
        return new SubscribeAnswer(first.iceUfrag(), first.icePwd(), first.fingerprint(), setup, Set.copyOf(accepted),
                Map.copyOf(pts), Map.copyOf(ext));
    }

    static List<String> mids(List<SubscribeTrack> tracks) {
        List<String> l = new ArrayList<>();
        tracks.forEach(t -> l.add(t.mid()));
        return l;
    }
}
