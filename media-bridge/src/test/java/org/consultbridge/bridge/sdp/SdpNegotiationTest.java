package org.consultbridge.bridge.sdp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** SDP parsing and the bridge's answers and offers, against SDP captured from real Chromium 156, Janus and GStreamer. */
class SdpNegotiationTest {

    static final LocalTransportParams LOCAL = new LocalTransportParams("brUf", "bridgepasswordbridgepassword",
            "AA:BB:CC", List.of(new IceCandidate("1", 1, "udp", 2130706431L, "10.0.0.1", 10000, "host", null)));

    static String fixture(String name) throws Exception {
        try (var in = SdpNegotiationTest.class.getResourceAsStream("/sdp/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"chromium-156-publish-offer.sdp", "chromium-156-publish-offer-simulcast.sdp",
        "gstreamer-1.22-webrtcbin-offer.sdp", "janus-1.1.2-answer-to-chromium-simulcast.sdp",
        "janus-1.1.2-subscribe-offer-to-chromium.sdp"})
    void parsesRealSdp(String name) throws Exception {
        SessionDescription d = SessionDescription.parse(fixture(name));
        assertThat(d.media()).isNotEmpty();
        for (MediaDescription m : d.media()) {
            assertThat(m.kind()).isNotBlank();
            assertThat(m.codecs()).allMatch(c -> c.clockRate() > 0);
        }
    }

    @Test
    void parsesChromiumSimulcastDetails() throws Exception {
        SessionDescription d = SessionDescription.parse(fixture("chromium-156-publish-offer-simulcast.sdp"));
        MediaDescription video = d.media().get(1);
        assertThat(d.bundleGroup()).containsExactly("0", "1");
        assertThat(video.rids()).extracting(Rid::id).containsExactly("r0", "r1", "r2");
        assertThat(video.simulcast().send()).containsExactly(List.of("r0"), List.of("r1"), List.of("r2"));
        assertThat(video.ssrcs()).isEmpty();
        assertThat(video.fingerprint().algorithm()).isEqualTo("sha-256");
        assertThat(video.setup()).isEqualTo(Setup.ACTPASS);
        assertThat(video.codecs().stream().filter(c -> c.pt() == 97).findFirst().orElseThrow().apt()).isEqualTo(96);
    }

    @Test
    void answersChromiumsPublishOffer() throws Exception {
        String offer = fixture("chromium-156-publish-offer.sdp");
        PublishAnswer a = PublishNegotiation.answer(offer, LOCAL, MediaCapabilities.defaults());
        String sdp = a.answerSdp();
        assertThat(sdp).contains("a=ice-lite", "a=setup:passive", "a=ice-ufrag:brUf", "a=fingerprint:sha-256 AA:BB:CC",
                "a=candidate:1 1 udp 2130706431 10.0.0.1 10000 typ host", "a=end-of-candidates", "a=recvonly",
                "a=rtpmap:111 opus/48000/2", "a=rtpmap:96 VP8/90000", "a=fmtp:97 apt=96",
                "profile-level-id=42e01f", "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid", "a=rtcp-fb:96 nack pli");
        assertThat(sdp).doesNotContain("VP9", "AV1", "red/", "ulpfec", "G722", "goog-remb", "transport-cc",
                "a=rid", "a=simulcast", "a=setup:actpass");
        // one H264 only (packetization-mode=1, 42e01f preferred order as offered), with its rtx
        assertThat(sdp.lines().filter(l -> l.startsWith("a=rtpmap:") && l.contains("H264")).count()).isEqualTo(1);
        SessionDescription parsed = SessionDescription.parse(sdp);
        assertThat(parsed.bundleGroup()).containsExactly("0", "1");
        assertThat(a.tracks()).hasSize(2);
        PublishedTrack video = a.tracks().get(1);
        assertThat(video.kind()).isEqualTo("video");
        assertThat(video.mediaSsrcs()).hasSize(1);
        assertThat(video.rtxSsrcByMediaSsrc()).containsKey(video.mediaSsrcs().get(0));
        assertThat(video.extensionIds()).containsEntry(MediaCapabilities.EXT_MID, 4);
        assertThat(a.remoteSetup()).isEqualTo(Setup.ACTPASS);
        assertThat(a.remoteFingerprint().value()).hasSize(95);
    }

    @Test
    void simulcastIsAcceptedOnlyWhenEnabled() throws Exception {
        String offer = fixture("chromium-156-publish-offer-simulcast.sdp");
        String sdp = PublishNegotiation.answer(offer, LOCAL, MediaCapabilities.defaults().withSimulcast(true)).answerSdp();
        assertThat(sdp).contains("a=rid:r0 recv", "a=rid:r2 recv", "a=simulcast:recv r0;r1;r2");
    }

    @Test
    void dataChannelAndUnbundledMediaAreRejectedWithPortZero() throws Exception {
        String offer = fixture("chromium-156-publish-offer.sdp").replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2")
                + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\n"
                + "a=sctp-port:5000\r\n";
        PublishAnswer a = PublishNegotiation.answer(offer, LOCAL, MediaCapabilities.defaults());
        assertThat(a.answerSdp()).contains("m=application 0 UDP/DTLS/SCTP webrtc-datachannel");
        assertThat(SessionDescription.parse(a.answerSdp()).bundleGroup()).containsExactly("0", "1");
    }

    @Test
    void unusableOffersAreRefusedWithAReason() throws Exception {
        String offer = fixture("chromium-156-publish-offer.sdp");
        assertThatThrownBy(() -> PublishNegotiation.answer(offer.replaceAll("a=fingerprint:[^\\r\\n]*\\r?\\n", ""),
                LOCAL, MediaCapabilities.defaults())).isInstanceOf(SdpException.class).hasMessageContaining("fingerprint");
        assertThatThrownBy(() -> PublishNegotiation.answer(offer.replace("a=setup:actpass", "a=setup:passive"),
                LOCAL, MediaCapabilities.defaults())).isInstanceOf(SdpException.class).hasMessageContaining("DTLS");
        assertThatThrownBy(() -> PublishNegotiation.answer(offer.replace("a=rtcp-mux\r\n", ""),
                LOCAL, MediaCapabilities.defaults())).isInstanceOf(SdpException.class).hasMessageContaining("nothing to publish");
    }

    @Test
    void subscribeOfferRoundTripsAndDisablesGoneTracks() throws Exception {
        List<SubscribeTrack> tracks = List.of(
                new SubscribeTrack("0", "audio", false, 11, 0, "cn", "alice", "alice-a"),
                new SubscribeTrack("1", "video", false, 12, 13, "cn", "alice", "alice-v"),
                new SubscribeTrack("2", "audio", true, 21, 0, "cn2", "bob", "bob-a"),
                new SubscribeTrack("3", "video", true, 22, 23, "cn2", "bob", "bob-v"));
        String offer = SubscribeNegotiation.offer(LOCAL, 42, 3, tracks, MediaCapabilities.defaults());
        SessionDescription d = SessionDescription.parse(offer);
        assertThat(d.bundleGroup()).containsExactly("2", "3");
        assertThat(d.media()).extracting(MediaDescription::port).containsExactly(0, 0, 9, 9);
        MediaDescription video = d.media().get(3);
        assertThat(video.direction()).isEqualTo(Direction.SENDONLY);
        assertThat(video.setup()).isEqualTo(Setup.ACTPASS);
        assertThat(video.msid()).isEqualTo("bob bob-v");
        assertThat(video.ssrcGroups()).containsExactly(new SsrcGroup("FID", List.of(22L, 23L)));
        assertThat(video.codecs()).extracting(RtpCodec::pt).containsExactly(96, 97, 102, 103);
        assertThat(offer).contains("o=- 42 3 IN IP4");

        String answer = offer.replace("a=setup:actpass", "a=setup:active").replace("a=sendonly", "a=recvonly")
                .replace("m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103", "m=video 9 UDP/TLS/RTP/SAVPF 96 97");
        SubscribeAnswer a = SubscribeNegotiation.parseAnswer(answer, tracks);
        assertThat(a.acceptedMids()).containsExactlyInAnyOrder("2", "3");
        assertThat(a.acceptedPayloadTypesByMid().get("3")).containsExactlyInAnyOrder(96, 97);
        assertThat(a.remoteSetup()).isEqualTo(Setup.ACTIVE);
        assertThat(a.extensionIdsByUri()).containsEntry(MediaCapabilities.EXT_ABS_SEND_TIME, 2);
        assertThatThrownBy(() -> SubscribeNegotiation.parseAnswer(answer, tracks.subList(0, 3)))
                .isInstanceOf(SdpException.class);
    }

    @Test
    void malformedSdpOnlyEverRaisesSdpException() throws Exception {
        for (String bad : List.of("", "hello", "v=1\r\n", "v=0\r\nm=audio x RTP/SAVPF 0\r\n",
                "v=0\r\nm=audio 9 RTP/SAVPF 999\r\n", "v=0\r\nm=audio 9 RTP/SAVPF 0\r\na=rtpmap:0\r\n",
                "v=0\r\n" + "a=x\r\n".repeat(20_000), "v=0\r\na=" + "x".repeat(5000) + "\r\n")) {
            assertThatThrownBy(() -> SessionDescription.parse(bad)).isInstanceOf(SdpException.class);
        }
        String base = fixture("chromium-156-publish-offer.sdp");
        Random r = new Random(8866);
        for (int i = 0; i < 3000; i++) {
            char[] c = base.toCharArray();
            for (int k = 0; k < 5; k++) {
                c[r.nextInt(c.length)] = (char) (32 + r.nextInt(95));
            }
            String mutated = new String(c, 0, r.nextInt(c.length));
            try {
                PublishNegotiation.answer(mutated, LOCAL, MediaCapabilities.defaults());
            } catch (SdpException expected) {
                // refused with a reason
            }
        }
    }
}
