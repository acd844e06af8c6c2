package org.consultbridge.bridge.sdp;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One m-section of a parsed SDP (RFC 8866 §5.14), with session-level ICE/DTLS attributes resolved into it. */
public final class MediaDescription {

    String kind;
    int port;
    String protocol;
    final List<Integer> payloadTypes = new ArrayList<>();
    /** The m= line's format tokens as written (payload types, or e.g. webrtc-datachannel). */
    final List<String> formats = new ArrayList<>();
    String mid;
    Direction direction;
    String iceUfrag;
    String icePwd;
    Fingerprint fingerprint;
    Setup setup;
    boolean rtcpMux;
    boolean rtcpRsize;
    final Map<Integer, String[]> rtpmaps = new LinkedHashMap<>();
    final Map<Integer, String> fmtps = new LinkedHashMap<>();
    final Map<Integer, List<String>> rtcpFbs = new LinkedHashMap<>();
    final List<String> rtcpFbWildcard = new ArrayList<>();
    final List<ExtMap> extensions = new ArrayList<>();
    final Map<Long, String[]> ssrcAttributes = new LinkedHashMap<>();
    final List<SsrcGroup> ssrcGroups = new ArrayList<>();
    final List<Rid> rids = new ArrayList<>();
    Simulcast simulcast;
    String msid;
    final List<String> candidates = new ArrayList<>();
    /** Every attribute line as given ("name" or "name:value"), so that nothing is lost. */
    final List<String> attributes = new ArrayList<>();
    private List<RtpCodec> codecs;

    public String kind() {
        return kind;
    }

    public int port() {
        return port;
    }

    public String protocol() {
        return protocol;
    }

    public List<String> formats() {
        return List.copyOf(formats);
    }

    public List<Integer> payloadTypes() {
        return List.copyOf(payloadTypes);
    }

    public String mid() {
        return mid;
    }

    /** The direction, sendrecv when absent (RFC 8866 §6.7). */
    public Direction direction() {
        return direction == null ? Direction.SENDRECV : direction;
    }

    public String iceUfrag() {
        return iceUfrag;
    }

    public String icePwd() {
        return icePwd;
    }

    public Fingerprint fingerprint() {
        return fingerprint;
    }

    public Setup setup() {
        return setup;
    }

    public boolean rtcpMux() {
        return rtcpMux;
    }

    public boolean rtcpRsize() {
        return rtcpRsize;
    }

    /** Codecs in the order of the m= line's format list. */
    public List<RtpCodec> codecs() {
        if (codecs == null) {
            List<RtpCodec> list = new ArrayList<>();
            for (int pt : payloadTypes) {
                String[] map = rtpmaps.get(pt);
                if (map == null) {
                    continue;
                }
                List<String> fb = new ArrayList<>(rtcpFbWildcard);
                fb.addAll(rtcpFbs.getOrDefault(pt, List.of()));
                list.add(new RtpCodec(pt, map[0], Integer.parseInt(map[1]), Integer.parseInt(map[2]),
                        parseFmtp(fmtps.get(pt)), List.copyOf(fb)));
            }
            codecs = List.copyOf(list);
        }
        return codecs;
    }

    static Map<String, String> parseFmtp(String fmtp) {
        Map<String, String> m = new LinkedHashMap<>();
        if (fmtp == null) {
            return m;
        }
        for (String part : fmtp.split(";")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            if (eq < 0) {
                // e.g. RED's "111/111": a value without a key
                m.put(p, "");
            } else {
                m.put(p.substring(0, eq).trim(), p.substring(eq + 1).trim());
            }
        }
        return m;
    }

    public List<ExtMap> extensions() {
        return List.copyOf(extensions);
    }

    public List<SsrcInfo> ssrcs() {
        List<SsrcInfo> l = new ArrayList<>();
        ssrcAttributes.forEach((ssrc, a) -> l.add(new SsrcInfo(ssrc, a[0], a[1])));
        return l;
    }

    public List<SsrcGroup> ssrcGroups() {
        return List.copyOf(ssrcGroups);
    }

    public List<Rid> rids() {
        return List.copyOf(rids);
    }

    public Simulcast simulcast() {
        return simulcast;
    }

    public String msid() {
        return msid;
    }

    public List<String> candidates() {
        return List.copyOf(candidates);
    }

    public List<String> attributes() {
        return List.copyOf(attributes);
    }
}
