package org.consultbridge.bridge.sdp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed SDP (RFC 8866) with the WebRTC attributes the bridge needs (RFC 8829 JSEP, RFC 8843 BUNDLE, RFC 8839 ICE,
 * RFC 8842 DTLS, RFC 8285 extmap, RFC 5576 ssrc, RFC 8851 rid, RFC 8853 simulcast). Bounded: rejects bodies over
 * 64 KiB, lines over 4 KiB and more than 64 m-sections, so no input can make it allocate without bound.
 */
public final class SessionDescription {

    public static final int MAX_BYTES = 64 * 1024;
    public static final int MAX_LINE = 4096;
    public static final int MAX_MEDIA = 64;
    private static final int MAX_ATTRIBUTES_PER_SECTION = 1024;

    private final List<MediaDescription> media = new ArrayList<>();
    private final List<String> bundleGroup = new ArrayList<>();
    private final List<String> sessionAttributes = new ArrayList<>();
    private String sessionIceUfrag;
    private String sessionIcePwd;
    private Fingerprint sessionFingerprint;
    private Setup sessionSetup;
    private boolean iceLite;

    private SessionDescription() {
    }

    public static SessionDescription parse(String sdp) throws SdpException {
        if (sdp == null || sdp.isBlank()) {
            throw new SdpException("empty SDP");
        }
        if (sdp.length() > MAX_BYTES) {
            throw new SdpException("SDP larger than " + MAX_BYTES + " bytes");
        }
        SessionDescription d = new SessionDescription();
        String[] lines = sdp.split("\r?\n");
        MediaDescription current = null;
        boolean sawVersion = false;
        int attributeCount = 0;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int no = i + 1;
            if (line.isEmpty()) {
                continue;
            }
            if (line.length() > MAX_LINE) {
                throw new SdpException("line " + no + ": longer than " + MAX_LINE + " characters");
            }
            if (line.length() < 2 || line.charAt(1) != '=') {
                throw new SdpException("line " + no + ": not of the form <type>=<value>");
            }
            char type = line.charAt(0);
            String value = line.substring(2);
            if (!sawVersion) {
                if (type != 'v' || !value.equals("0")) {
                    throw new SdpException("line " + no + ": an SDP starts with v=0");
                }
                sawVersion = true;
                continue;
            }
            switch (type) {
                case 'm' -> {
                    if (d.media.size() >= MAX_MEDIA) {
                        throw new SdpException("more than " + MAX_MEDIA + " m-lines");
                    }
                    current = parseMediaLine(value, no);
                    d.media.add(current);
                    attributeCount = 0;
                }
                case 'a' -> {
                    if (++attributeCount > MAX_ATTRIBUTES_PER_SECTION) {
                        throw new SdpException("line " + no + ": too many attributes");
                    }
                    if (current == null) {
                        d.sessionAttribute(value, no);
                    } else {
                        mediaAttribute(current, value, no);
                    }
                }
                default -> {
                    // o, s, t, c, b, ...: nothing the bridge needs
                }
            }
        }
        if (!sawVersion) {
            throw new SdpException("missing v=0");
        }
        for (MediaDescription m : d.media) {
            if (m.iceUfrag == null) {
                m.iceUfrag = d.sessionIceUfrag;
            }
            if (m.icePwd == null) {
                m.icePwd = d.sessionIcePwd;
            }
            if (m.fingerprint == null) {
                m.fingerprint = d.sessionFingerprint;
            }
            if (m.setup == null) {
                m.setup = d.sessionSetup;
            }
        }
        return d;
    }

    private static MediaDescription parseMediaLine(String value, int no) throws SdpException {
        String[] f = value.split(" ");
        if (f.length < 3) {
            throw new SdpException("line " + no + ": m= needs media, port, protocol and formats");
        }
        MediaDescription m = new MediaDescription();
        m.kind = f[0];
        try {
            String port = f[1];
            int slash = port.indexOf('/');
            m.port = Integer.parseInt(slash < 0 ? port : port.substring(0, slash));
            if (m.port < 0 || m.port > 65535) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            throw new SdpException("line " + no + ": bad port in m= line");
        }
        m.protocol = f[2];
        for (int i = 3; i < f.length; i++) {
            if (!f[i].isEmpty()) {
                m.formats.add(f[i]);
            }
        }
        if (m.protocol.contains("RTP")) {
            for (int i = 3; i < f.length; i++) {
                if (f[i].isEmpty()) {
                    continue;
                }
                int pt = parseInt(f[i], no, "payload type");
                if (pt < 0 || pt > 127) {
                    throw new SdpException("line " + no + ": payload type out of range: " + pt);
                }
                m.payloadTypes.add(pt);
            }
        }
        return m;
    }

    private void sessionAttribute(String value, int no) throws SdpException {
        sessionAttributes.add(value);
        String name = name(value);
        String v = val(value);
        switch (name) {
            case "group" -> {
                String[] f = v.split(" ");
                if (f[0].equals("BUNDLE") && bundleGroup.isEmpty()) {
                    bundleGroup.addAll(Arrays.asList(f).subList(1, f.length));
                }
            }
            case "ice-ufrag" -> sessionIceUfrag = v;
            case "ice-pwd" -> sessionIcePwd = v;
            case "ice-lite" -> iceLite = true;
            case "fingerprint" -> sessionFingerprint = fingerprint(v, no);
            case "setup" -> sessionSetup = Setup.parse(v);
            default -> {
            }
        }
    }

    private static void mediaAttribute(MediaDescription m, String value, int no) throws SdpException {
        m.attributes.add(value);
        String name = name(value);
        String v = val(value);
        switch (name) {
            case "mid" -> m.mid = v;
            case "sendrecv", "sendonly", "recvonly", "inactive" -> m.direction = Direction.parse(name);
            case "ice-ufrag" -> m.iceUfrag = v;
            case "ice-pwd" -> m.icePwd = v;
            case "fingerprint" -> m.fingerprint = fingerprint(v, no);
            case "setup" -> m.setup = Setup.parse(v);
            case "rtcp-mux" -> m.rtcpMux = true;
            case "rtcp-rsize" -> m.rtcpRsize = true;
            case "msid" -> m.msid = v;
            case "candidate" -> m.candidates.add(v);
            case "rtpmap" -> {
                // a=rtpmap:<pt> <name>/<clock>[/<channels>]
                int sp = v.indexOf(' ');
                if (sp < 0) {
                    throw new SdpException("line " + no + ": bad rtpmap");
                }
                int pt = parseInt(v.substring(0, sp), no, "rtpmap payload type");
                String[] enc = v.substring(sp + 1).trim().split("/");
                if (enc.length < 2) {
                    throw new SdpException("line " + no + ": rtpmap without clock rate");
                }
                int clock = parseInt(enc[1], no, "clock rate");
                int channels = enc.length > 2 ? parseInt(enc[2], no, "channels") : 1;
                m.rtpmaps.put(pt, new String[] {enc[0].trim(), String.valueOf(clock), String.valueOf(channels)});
            }
            case "fmtp" -> {
                int sp = v.indexOf(' ');
                if (sp > 0) {
                    m.fmtps.put(parseInt(v.substring(0, sp), no, "fmtp payload type"), v.substring(sp + 1));
                }
            }
            case "rtcp-fb" -> {
                int sp = v.indexOf(' ');
                if (sp > 0) {
                    String pt = v.substring(0, sp);
                    String fb = v.substring(sp + 1).trim();
                    if (pt.equals("*")) {
                        m.rtcpFbWildcard.add(fb);
                    } else {
                        m.rtcpFbs.computeIfAbsent(parseInt(pt, no, "rtcp-fb payload type"), k -> new ArrayList<>())
                                .add(fb);
                    }
                }
            }
            case "extmap" -> {
                // a=extmap:<id>[/<direction>] <uri> [<attributes>]
                String[] f = v.split(" ");
                if (f.length < 2) {
                    throw new SdpException("line " + no + ": bad extmap");
                }
                String idPart = f[0];
                Direction dir = null;
                int slash = idPart.indexOf('/');
                if (slash >= 0) {
                    dir = Direction.parse(idPart.substring(slash + 1));
                    idPart = idPart.substring(0, slash);
                }
                int id = parseInt(idPart, no, "extmap id");
                if (id < 1 || id > 255) {
                    throw new SdpException("line " + no + ": extmap id out of range: " + id);
                }
                m.extensions.add(new ExtMap(id, f[1], dir));
            }
            case "ssrc" -> {
                // a=ssrc:<ssrc> <attribute>[:<value>]
                int sp = v.indexOf(' ');
                String ssrcText = sp < 0 ? v : v.substring(0, sp);
                long ssrc = parseLong(ssrcText, no);
                String[] info = m.ssrcAttributes.computeIfAbsent(ssrc, k -> new String[2]);
                if (sp > 0) {
                    String attr = v.substring(sp + 1);
                    if (attr.startsWith("cname:")) {
                        info[0] = attr.substring(6);
                    } else if (attr.startsWith("msid:")) {
                        info[1] = attr.substring(5);
                    }
                }
            }
            case "ssrc-group" -> {
                String[] f = v.split(" ");
                List<Long> ssrcs = new ArrayList<>();
                for (int i = 1; i < f.length; i++) {
                    ssrcs.add(parseLong(f[i], no));
                }
                m.ssrcGroups.add(new SsrcGroup(f[0], List.copyOf(ssrcs)));
            }
            case "rid" -> {
                String[] f = v.split(" ", 3);
                if (f.length < 2) {
                    throw new SdpException("line " + no + ": bad rid");
                }
                Map<String, String> params = new LinkedHashMap<>();
                if (f.length == 3) {
                    for (String p : f[2].split(";")) {
                        int eq = p.indexOf('=');
                        if (eq > 0) {
                            params.put(p.substring(0, eq), p.substring(eq + 1));
                        } else if (!p.isBlank()) {
                            params.put(p, "");
                        }
                    }
                }
                m.rids.add(new Rid(f[0], f[1], params));
            }
            case "simulcast" -> m.simulcast = simulcast(v);
            default -> {
            }
        }
    }

    /** RFC 8853 §5.1: "send r0;r1;r2 recv ..."; alternatives separated by ',', paused streams prefixed by '~'. */
    private static Simulcast simulcast(String v) {
        List<List<String>> send = new ArrayList<>();
        List<List<String>> recv = new ArrayList<>();
        String[] f = v.trim().split(" ");
        for (int i = 0; i + 1 < f.length; i += 2) {
            List<List<String>> target = f[i].equals("send") ? send : f[i].equals("recv") ? recv : null;
            if (target == null) {
                continue;
            }
            for (String layer : f[i + 1].split(";")) {
                List<String> alts = new ArrayList<>();
                for (String alt : layer.split(",")) {
                    alts.add(alt.startsWith("~") ? alt.substring(1) : alt);
                }
                target.add(List.copyOf(alts));
            }
        }
        return new Simulcast(List.copyOf(send), List.copyOf(recv));
    }

    private static Fingerprint fingerprint(String v, int no) throws SdpException {
        int sp = v.indexOf(' ');
        if (sp <= 0) {
            throw new SdpException("line " + no + ": bad fingerprint");
        }
        return new Fingerprint(v.substring(0, sp).toLowerCase(java.util.Locale.ROOT), v.substring(sp + 1).trim());
    }

    private static String name(String attr) {
        int colon = attr.indexOf(':');
        return colon < 0 ? attr : attr.substring(0, colon);
    }

    private static String val(String attr) {
        int colon = attr.indexOf(':');
        return colon < 0 ? "" : attr.substring(colon + 1);
    }

    private static int parseInt(String s, int no, String what) throws SdpException {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new SdpException("line " + no + ": bad " + what + ": " + abbreviate(s));
        }
    }

    private static long parseLong(String s, int no) throws SdpException {
        try {
            long v = Long.parseLong(s.trim());
            if (v < 0 || v > 0xFFFF_FFFFL) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new SdpException("line " + no + ": bad SSRC: " + abbreviate(s));
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 20 ? s.substring(0, 20) + "..." : s;
    }

    public List<MediaDescription> media() {
        return List.copyOf(media);
    }

    public List<String> bundleGroup() {
        return List.copyOf(bundleGroup);
    }

    public String sessionIceUfrag() {
        return sessionIceUfrag;
    }

    public boolean iceLite() {
        return iceLite;
    }

    public List<String> sessionAttributes() {
        return List.copyOf(sessionAttributes);
    }
}
