package org.consultbridge.bridge.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.consultbridge.bridge.sdp.ClientSdp;
import org.consultbridge.bridge.sdp.IceCandidate;
import org.consultbridge.bridge.sdp.LocalTransportParams;
import org.consultbridge.bridge.sdp.MediaCapabilities;
import org.consultbridge.bridge.sdp.PublishNegotiation;
import org.consultbridge.bridge.sdp.SdpException;
import org.consultbridge.bridge.sdp.SessionDescription;
import org.consultbridge.bridge.sdp.SubscribeNegotiation;
import org.consultbridge.bridge.sdp.SubscribeTrack;

/**
 * Everything that reads SDP from a client, on arbitrary text: {@link SessionDescription#parse} (RFC 8866), the
 * publish answer to a client's offer, the parse of a client's subscribe answer, and the load generator's answer to
 * a bridge offer ({@link ClientSdp}). Contract: each throws only {@link SdpException}, which the signalling server
 * turns into {@code sdp-invalid}. Seeds: captured Chromium, Janus and GStreamer SDP. Memory is bounded by the
 * parser's own caps (64 KiB of text, 4096 characters a line, 64 m-lines, 1024 attributes a section), not measured
 * here: Jazzer's string hooks allocate far more than the parser itself.
 */
class SdpFuzzTest {

    private static final LocalTransportParams LOCAL = new LocalTransportParams("ufrag123", "password1234567890abcdef",
            "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
            List.of(new IceCandidate("1", 1, "udp", 2130706431L, "192.0.2.10", 10000, "host", null)));
    private static final MediaCapabilities CAPS = MediaCapabilities.defaults().withSimulcast(true).withTransportCc(true);
    private static final List<SubscribeTrack> OFFERED = List.of(
            new SubscribeTrack("0", "audio", true, 1111, 0, "cb-1", "room-7", "room-7-audio-0"),
            new SubscribeTrack("1", "video", true, 2222, 2223, "cb-1", "room-7", "room-7-video-1"));
    private static final ClientSdp.ClientTransport PEER = new ClientSdp.ClientTransport("peerufrag",
            "peerpassword1234567890ab", LOCAL.fingerprintSha256());

    @FuzzTest(maxDuration = "5s")
    void parseAndNegotiate(byte[] input) {
        String sdp = new String(input, StandardCharsets.UTF_8);
        try {
            SessionDescription d = SessionDescription.parse(sdp);
            d.media();
            d.bundleGroup();
        } catch (SdpException expected) {
            // sdp-invalid
        }
        try {
            PublishNegotiation.answer(sdp, LOCAL, CAPS);
        } catch (SdpException expected) {
            // sdp-invalid
        }
        try {
            SubscribeNegotiation.parseAnswer(sdp, OFFERED);
        } catch (SdpException expected) {
            // sdp-invalid
        }
        try {
            ClientSdp.subscribeAnswer(PEER, sdp);
        } catch (SdpException expected) {
            // the load generator refuses the offer
        }
    }
}
