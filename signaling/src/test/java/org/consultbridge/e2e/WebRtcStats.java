package org.consultbridge.e2e;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads WebRTC statistics (https://www.w3.org/TR/webrtc-stats/) from an {@code RTCPeerConnection} in a page.
 *
 * <p>The {@code *_FN} constants are JavaScript async functions {@code (pc) => result}; {@link #call} turns one into
 * a script for {@link Browser#execute}, where {@code pcExpression} names the connection in the page (e.g.
 * {@code window.subscriber}). The Java methods parse their results into records.
 */
public final class WebRtcStats {

    /**
     * One entry per {@code inbound-rtp} stream: kind, trackIdentifier, mid, ssrc, packetsReceived, packetsLost,
     * bytesReceived, framesDecoded (video), framesPerSecond, totalSamplesReceived (audio, only while played out).
     */
    public static final String INBOUND_RTP_FN = """
            async (pc) => {
              const out = [];
              (await pc.getStats()).forEach(r => {
                if (r.type !== 'inbound-rtp') return;
                out.push({
                  kind: r.kind, trackIdentifier: r.trackIdentifier ?? null, mid: r.mid ?? null, ssrc: r.ssrc,
                  packetsReceived: r.packetsReceived ?? 0, packetsLost: r.packetsLost ?? 0,
                  bytesReceived: r.bytesReceived ?? 0, framesDecoded: r.framesDecoded ?? 0,
                  framesPerSecond: r.framesPerSecond ?? 0, totalSamplesReceived: r.totalSamplesReceived ?? 0
                });
              });
              return out;
            }""";

    /**
     * The selected candidate pair, following {@code transport.selectedCandidatePairId} to the pair and its local and
     * remote {@code *-candidate} stats; null before ICE has selected a pair.
     */
    public static final String SELECTED_PAIR_FN = """
            async (pc) => {
              const stats = await pc.getStats();
              let pair = null;
              stats.forEach(r => {
                if (!pair && r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
              });
              if (!pair) return null;
              const l = stats.get(pair.localCandidateId) ?? {}, rc = stats.get(pair.remoteCandidateId) ?? {};
              return {
                state: pair.state, nominated: !!pair.nominated,
                localAddress: l.address ?? null, localPort: l.port ?? 0, localType: l.candidateType ?? null,
                protocol: l.protocol ?? null,
                remoteAddress: rc.address ?? null, remotePort: rc.port ?? 0, remoteType: rc.candidateType ?? null,
                bytesSent: pair.bytesSent ?? 0, bytesReceived: pair.bytesReceived ?? 0,
                currentRoundTripTime: pair.currentRoundTripTime ?? null
              };
            }""";

    /** Addresses of every local candidate the connection gathered ({@code local-candidate} stats). */
    public static final String LOCAL_CANDIDATE_ADDRESSES_FN = """
            async (pc) => {
              const out = [];
              (await pc.getStats()).forEach(r => { if (r.type === 'local-candidate') out.push(r.address ?? null); });
              return out;
            }""";

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** One {@code inbound-rtp} stream. */
    public record InboundRtp(String kind, String trackIdentifier, String mid, long ssrc, long packetsReceived,
                             long packetsLost, long bytesReceived, long framesDecoded, double framesPerSecond,
                             long totalSamplesReceived) {
    }

    /** The selected ICE candidate pair with its two candidates. */
    public record CandidatePair(String state, boolean nominated, String localAddress, int localPort,
                                String localType, String protocol, String remoteAddress, int remotePort,
                                String remoteType, long bytesSent, long bytesReceived, Double currentRoundTripTime) {
    }

    private WebRtcStats() {
    }

    /** A script for {@link Browser#execute} that applies {@code function} to the connection {@code pcExpression}. */
    public static String call(String function, String pcExpression) {
        return "return (" + function + ")(" + pcExpression + ");";
    }

    /**
     * A {@link Browser#waitFor} condition: the sum of {@code framesDecoded} over the connection's video streams once
     * it exceeds {@code threshold}, false until then.
     */
    public static String videoFramesDecodedAbove(String pcExpression, long threshold) {
        return "(" + INBOUND_RTP_FN + ")(" + pcExpression + ").then(rs => {"
                + " const n = rs.filter(r => r.kind === 'video').reduce((a, r) => a + r.framesDecoded, 0);"
                + " return n > " + threshold + " ? n : false; })";
    }

    /** A {@link Browser#waitFor} condition: the selected pair once ICE has one, null until then. */
    public static String selectedPairPresent(String pcExpression) {
        return "(" + SELECTED_PAIR_FN + ")(" + pcExpression + ")";
    }

    public static List<InboundRtp> inboundRtp(Browser browser, String pcExpression) {
        Object result = browser.execute(call(INBOUND_RTP_FN, pcExpression));
        return JSON.convertValue(result, JSON.getTypeFactory().constructCollectionType(List.class, InboundRtp.class));
    }

    public static Optional<CandidatePair> selectedPair(Browser browser, String pcExpression) {
        Object result = browser.execute(call(SELECTED_PAIR_FN, pcExpression));
        return result == null ? Optional.empty() : Optional.of(JSON.convertValue(result, CandidatePair.class));
    }

    @SuppressWarnings("unchecked")
    public static List<String> localCandidateAddresses(Browser browser, String pcExpression) {
        return (List<String>) browser.execute(call(LOCAL_CANDIDATE_ADDRESSES_FN, pcExpression));
    }

    /** Sum of {@code framesDecoded} over the video streams. */
    public static long videoFramesDecoded(List<InboundRtp> streams) {
        return streams.stream().filter(s -> "video".equals(s.kind())).mapToLong(InboundRtp::framesDecoded).sum();
    }

    /** Sum of {@code packetsReceived} over the audio streams. */
    public static long audioPacketsReceived(List<InboundRtp> streams) {
        return streams.stream().filter(s -> "audio".equals(s.kind())).mapToLong(InboundRtp::packetsReceived).sum();
    }

    /** Per-track view: trackIdentifier to the stream's stats (streams without a track are left out). */
    public static Map<String, InboundRtp> byTrack(List<InboundRtp> streams) {
        return streams.stream().filter(s -> s.trackIdentifier() != null)
                .collect(java.util.stream.Collectors.toMap(InboundRtp::trackIdentifier, s -> s, (a, b) -> a));
    }
}
