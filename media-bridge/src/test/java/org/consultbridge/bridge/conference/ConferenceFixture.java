package org.consultbridge.bridge.conference;

import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.api.EndpointListener;
import org.consultbridge.bridge.sdp.MediaCapabilities;
import org.consultbridge.bridge.sdp.PublishedTrack;
import org.consultbridge.bridge.sdp.RtpCodec;

/**
 * Producers, their streams and consumers for unit tests of the conference classes, without peers or packets on a
 * network: owned by real (never connected) endpoints of a real bridge on 127.0.0.1, so that a keyframe request
 * is counted ({@link InboundStream#keyframeRequestsSent}) and goes nowhere. The objects built here are not
 * registered with their endpoints, so the bridge's event loop never touches them and a test may drive them from
 * its own thread with its own clock.
 */
final class ConferenceFixture implements AutoCloseable {

    private final SfuBridge bridge = SfuBridge.start(new BridgeConfig("127.0.0.1", 0, List.of()));
    private final List<Producer> producers = new ArrayList<>();

    /** A new endpoint of conference "unit". */
    Endpoint endpoint(String id) {
        return (Endpoint) bridge.createEndpoint("unit", id, EndpointListener.NONE);
    }

    /** VP8 video with one stream per rid (lowest first), each bound to SSRC {@code 0x1000 + layer + 1}. */
    Producer simulcastVp8(Endpoint owner, String... rids) {
        Producer p = producer(owner, "video", List.of(vp8(), rtx()), List.of(rids), List.of());
        for (InboundStream s : p.streams) {
            s.bindSsrc(0x1000L + s.layer + 1);
        }
        return p;
    }

    /** VP8 video without simulcast (one stream, declared with a=ssrc). */
    Producer singleVp8(Endpoint owner) {
        return producer(owner, "video", List.of(vp8(), rtx()), List.of(), List.of(0x2000L));
    }

    /** Opus audio (one stream, declared with a=ssrc). */
    Producer opus(Endpoint owner) {
        return producer(owner, "audio", List.of(new RtpCodec(111, "opus", 48000, 2, Map.of(), List.of())), List.of(),
                List.of(0x3000L));
    }

    /** A consumer of {@code p} whose answer accepted every payload type the bridge offers. */
    static Consumer consumer(Producer p, Endpoint subscriber, long ssrc) {
        Consumer c = new Consumer(p, subscriber, "0", ssrc, p.video ? ssrc + 1 : 0);
        c.applyAnswer(java.util.Set.of(MediaCapabilities.PT_OPUS, MediaCapabilities.PT_VP8,
                MediaCapabilities.PT_VP8_RTX), Map.of());
        return c;
    }

    private Producer producer(Endpoint owner, String kind, List<RtpCodec> codecs, List<String> rids, List<Long> ssrcs) {
        PublishedTrack track = new PublishedTrack(String.valueOf(producers.size()), kind, "stream", kind + "-track",
                codecs, Map.of(), ssrcs, Map.of(), rids);
        Producer p = new Producer(owner, track, UnpooledByteBufAllocator.DEFAULT);
        producers.add(p);
        return p;
    }

    private static RtpCodec vp8() {
        return new RtpCodec(96, "VP8", 90000, 0, Map.of(), List.of("nack", "nack pli", "ccm fir"));
    }

    private static RtpCodec rtx() {
        return new RtpCodec(97, "rtx", 90000, 0, Map.of("apt", "96"), List.of());
    }

    @Override
    public void close() {
        producers.forEach(Producer::release);
        bridge.close();
    }
}
