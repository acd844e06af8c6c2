package org.consultbridge.bridge.sdp;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Answers a browser's publish offer (JSEP, RFC 8829 §5.3): the bridge receives what the browser sends. Codecs,
 * feedback and extensions are cut down to what {@link MediaCapabilities} supports, keeping the offer's payload
 * types and extension ids; m-lines the bridge cannot take are rejected with port 0, never an exception.
 */
public final class PublishNegotiation {

    private static final SecureRandom RANDOM = new SecureRandom();

    private PublishNegotiation() {
    }

    public static PublishAnswer answer(String offerSdp, LocalTransportParams local, MediaCapabilities caps)
            throws SdpException {
        SessionDescription offer = SessionDescription.parse(offerSdp);
        if (offer.media().isEmpty()) {
            throw new SdpException("offer has no m-lines");
        }
        List<String> bundle = offer.bundleGroup();
        List<Accepted> accepted = new ArrayList<>();
        List<Object> sections = new ArrayList<>(); // Accepted or MediaDescription (rejected), in offer order
        MediaDescription first = null;
        for (MediaDescription m : offer.media()) {
            Accepted a = accept(m, bundle, caps);
            if (a != null) {
                accepted.add(a);
                sections.add(a);
                if (first == null) {
                    first = m;
                }
            } else {
                sections.add(m);
            }
        }
        if (accepted.isEmpty()) {
            throw new SdpException("nothing to publish: the bridge takes Opus audio and VP8 or H264 "
                    + "(packetization-mode=1, baseline) video, bundled, with rtcp-mux, sent by the browser");
        }
        if (first.iceUfrag() == null || first.icePwd() == null) {
            throw new SdpException("offer has no ICE credentials (a=ice-ufrag / a=ice-pwd)");
        }
        if (first.fingerprint() == null) {
            throw new SdpException("offer has no DTLS fingerprint (a=fingerprint)");
        }
        Setup remoteSetup = first.setup() == null ? Setup.ACTPASS : first.setup();
        if (remoteSetup == Setup.PASSIVE || remoteSetup == Setup.HOLDCONN) {
            throw new SdpException("the bridge is the DTLS server on publish: offer a=setup:actpass or active");
        }

        SdpWriter w = new SdpWriter();
        w.session(RANDOM.nextLong() & Long.MAX_VALUE, 2, accepted.stream().map(a -> a.media.mid()).toList());
        boolean candidatesWritten = false;
        List<PublishedTrack> tracks = new ArrayList<>();
        for (Object s : sections) {
            if (s instanceof Accepted a) {
                MediaDescription m = a.media;
                w.line("m=" + m.kind() + " 9 " + m.protocol() + " "
                        + String.join(" ", a.codecs.stream().map(c -> String.valueOf(c.pt())).toList()));
                w.transport(local, "passive");
                w.line("a=mid:" + m.mid());
                a.extensions.forEach((uri, id) -> w.line("a=extmap:" + id + " " + uri));
                w.line(m.direction() == Direction.SENDRECV || m.direction() == Direction.SENDONLY
                        ? "a=recvonly" : "a=inactive");
                w.line("a=rtcp-mux");
                if (m.rtcpRsize()) {
                    w.line("a=rtcp-rsize");
                }
                for (RtpCodec c : a.codecs) {
                    w.codec(c.pt(), c.name(), c.clockRate(), c.channels(), c.fmtp(), c.rtcpFb());
                }
                if (caps.simulcast() && m.simulcast() != null && !m.simulcast().send().isEmpty()) {
                    for (List<String> layer : m.simulcast().send()) {
                        w.line("a=rid:" + layer.get(0) + " recv");
                    }
                    w.line("a=simulcast:recv " + String.join(";", m.simulcast().send().stream()
                            .map(l -> l.get(0)).toList()));
                }
                if (!candidatesWritten) {
                    w.candidates(local);
                    candidatesWritten = true;
                }
                if (m.direction() == Direction.SENDRECV || m.direction() == Direction.SENDONLY) {
                    tracks.add(track(m, a, caps));
                }
            } else {
                MediaDescription m = (MediaDescription) s;
                String fmt = m.formats().isEmpty() ? "0" : m.formats().get(0);
                w.line("m=" + m.kind() + " 0 " + m.protocol() + " " + fmt);
                w.line("c=IN IP4 0.0.0.0");
                if (m.mid() != null) {
                    w.line("a=mid:" + m.mid());
                }
                w.line("a=inactive");
            }
        }
        return new PublishAnswer(w.toString(), first.iceUfrag(), first.icePwd(), first.fingerprint(), remoteSetup,
                List.copyOf(tracks));
    }

    private record Accepted(MediaDescription media, List<RtpCodec> codecs, Map<String, Integer> extensions) {
    }

    private static Accepted accept(MediaDescription m, List<String> bundle, MediaCapabilities caps) {
        boolean video = "video".equals(m.kind());
        if (!(video || "audio".equals(m.kind())) || m.port() == 0 || m.mid() == null || !m.rtcpMux()
                || !bundle.contains(m.mid()) || !m.protocol().contains("SAVPF")) {
            return null;
        }
        List<RtpCodec> chosen = new ArrayList<>();
        int h264 = video ? bestH264(m.codecs()) : -1;
        int opus = -1;
        for (RtpCodec c : m.codecs()) {
            String name = c.name().toUpperCase(Locale.ROOT);
            boolean take;
            if (video) {
                take = name.equals("VP8") || c.pt() == h264;
            } else {
                take = name.equals("OPUS") && c.clockRate() == 48000 && c.channels() == 2 && opus < 0;
                if (take) {
                    opus = c.pt();
                    c = withDtx(c);
                }
            }
            if (take) {
                chosen.add(filterFeedback(c, caps, video));
            }
        }
        if (chosen.isEmpty()) {
            return null;
        }
        RtpCodec red = !video && caps.audioRed() ? audioRed(m.codecs(), opus) : null;
        // RFC 4588: keep an RTX payload type only when its associated payload type was taken
        for (RtpCodec c : m.codecs()) {
            if (c.isRtx() && chosen.stream().anyMatch(x -> x.pt() == c.apt() && !x.isRtx())) {
                chosen.add(new RtpCodec(c.pt(), c.name(), c.clockRate(), c.channels(), c.fmtp(), List.of()));
            }
        }
        // keep the offer's order of formats
        List<Integer> order = m.payloadTypes();
        chosen.sort((x, y) -> Integer.compare(order.indexOf(x.pt()), order.indexOf(y.pt())));
        if (red != null) {
            // first: the answerer's preferred format is the one the browser sends (RFC 3264 §6.1), so it sends RED
            chosen.add(0, red);
        }
        Map<String, Integer> ext = new LinkedHashMap<>();
        for (ExtMap e : m.extensions()) {
            if (caps.acceptsOnPublish(e.uri(), video)) {
                ext.put(e.uri(), e.id());
            }
        }
        return new Accepted(m, List.copyOf(chosen), ext);
    }

    /**
     * One H264 payload type: constrained baseline (42e0xx, what subscribe offers carry) before baseline (4200xx),
     * packetization-mode 1 only; -1 if none.
     */
    private static int bestH264(List<RtpCodec> codecs) {
        int baseline = -1;
        for (RtpCodec c : codecs) {
            if (c.name().equalsIgnoreCase("H264") && MediaCapabilities.acceptableH264(c.fmtp())) {
                String plid = c.fmtp().getOrDefault("profile-level-id", "").toLowerCase(Locale.ROOT);
                if (plid.startsWith("42e0")) {
                    return c.pt();
                }
                if (baseline < 0) {
                    baseline = c.pt();
                }
            }
        }
        return baseline;
    }

    /**
     * Chromium's audio RED: {@code red/48000/2} whose fmtp lists only the Opus payload type ({@code 111/111}: the
     * primary and one redundant block, RFC 2198 §5 with the format of RFC 2198 §3), or null.
     */
    private static RtpCodec audioRed(List<RtpCodec> codecs, int opus) {
        if (opus < 0) {
            return null;
        }
        for (RtpCodec c : codecs) {
            if (c.name().equalsIgnoreCase("RED") && c.clockRate() == 48000 && c.fmtp().size() == 1) {
                String[] pts = c.fmtp().keySet().iterator().next().split("/");
                boolean onlyOpus = pts.length >= 2;
                for (String p : pts) {
                    onlyOpus &= p.trim().equals(String.valueOf(opus));
                }
                if (onlyOpus) {
                    return new RtpCodec(c.pt(), c.name(), c.clockRate(), c.channels(), c.fmtp(), List.of());
                }
            }
        }
        return null;
    }

    /**
     * Opus as the publisher offered it, with in-band FEC and DTX asked for: a sender reads these from the remote
     * description (RFC 7587 §7: useinbandfec, usedtx are the receiver's wishes).
     */
    private static RtpCodec withDtx(RtpCodec c) {
        Map<String, String> fmtp = new LinkedHashMap<>(c.fmtp());
        fmtp.put("useinbandfec", "1");
        fmtp.put("usedtx", "1");
        return new RtpCodec(c.pt(), c.name(), c.clockRate(), c.channels(), fmtp, c.rtcpFb());
    }

    private static RtpCodec filterFeedback(RtpCodec c, MediaCapabilities caps, boolean video) {
        List<String> fb = c.rtcpFb().stream().filter(caps.feedback(video)::contains).distinct().toList();
        return new RtpCodec(c.pt(), c.name(), c.clockRate(), c.channels(), c.fmtp(), fb);
    }

    private static PublishedTrack track(MediaDescription m, Accepted a, MediaCapabilities caps) {
        String stream = null;
        String trackId = null;
        if (m.msid() != null) {
            String[] f = m.msid().split(" ");
            stream = f[0];
            trackId = f.length > 1 ? f[1] : null;
        }
        Map<Long, Long> rtxByMedia = new LinkedHashMap<>();
        for (SsrcGroup g : m.ssrcGroups()) {
            if (g.semantics().equals("FID") && g.ssrcs().size() == 2) {
                rtxByMedia.put(g.ssrcs().get(0), g.ssrcs().get(1));
            }
        }
        List<Long> media = new ArrayList<>();
        for (SsrcInfo s : m.ssrcs()) {
            if (!rtxByMedia.containsValue(s.ssrc())) {
                media.add(s.ssrc());
            }
            if (stream == null && s.msid() != null) {
                String[] f = s.msid().split(" ");
                stream = f[0];
                trackId = f.length > 1 ? f[1] : null;
            }
        }
        List<String> rids = new ArrayList<>();
        if (caps.simulcast() && m.simulcast() != null) {
            m.simulcast().send().forEach(l -> rids.add(l.get(0)));
        }
        return new PublishedTrack(m.mid(), m.kind(), stream, trackId, a.codecs, Map.copyOf(a.extensions),
                List.copyOf(media), Map.copyOf(rtxByMedia), List.copyOf(rids));
    }
}
