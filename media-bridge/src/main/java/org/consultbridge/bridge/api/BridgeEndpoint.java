package org.consultbridge.bridge.api;

import java.util.Optional;
import org.consultbridge.bridge.sdp.SdpException;

/**
 * One participant's presence on the bridge. Two transports, as in LiveKit and mediasoup-client:
 * <ul>
 *   <li><b>publish</b>: the browser offers what it sends (camera, microphone); the bridge answers;</li>
 *   <li><b>subscribe</b>: the bridge offers what the browser should receive (every other endpoint's media) and
 *       re-offers when that changes; the browser answers. Only the bridge offers here, so there is no glare.</li>
 * </ul>
 * Remote media streams in subscribe offers carry {@code a=msid:<publishing endpoint id> <track id>}.
 */
public interface BridgeEndpoint {

    String id();

    String conferenceId();

    /** Accepts the browser's publish offer and returns the bridge's answer (ICE-lite, passive DTLS). */
    String acceptPublishOffer(String sdpOffer) throws SdpException;

    /**
     * Returns a subscribe offer when one is due (something to receive changed and no offer is outstanding),
     * otherwise empty. When empty because an offer is outstanding, the listener is called again after the answer.
     */
    Optional<String> createSubscribeOffer();

    /**
     * ICE restart (RFC 8445 §9) after the participant's network changed or its connectivity checks failed: the next
     * subscribe offer (the listener is told one is due; an outstanding one is superseded) carries new ICE
     * credentials. The publish side restarts when the browser offers new credentials (its own ICE restart) in
     * {@link #acceptPublishOffer}. DTLS and SRTP go on; media resumes as soon as checks succeed again, also on a
     * transport whose consent had expired.
     */
    void restartIce();

    /** Accepts the browser's answer to the last subscribe offer. */
    void acceptSubscribeAnswer(String sdpAnswer) throws SdpException;

    /**
     * The endpoint whose video this one should see best (for a doctor, the telemedicine room's camera): the
     * allocator gives it the highest layer the downlink carries before anybody else. Null: no preference.
     */
    void setMainSource(String endpointId);

    /** Caps the simulcast layer this endpoint receives from every source (0 lowest); for small views. */
    void setMaxLayer(int layer);

    /**
     * What the allocation keeps for this endpoint's main video when its downlink is short: frame rate or
     * resolution (issue #8's clinical profiles); {@link VideoPreference#BALANCED} by default.
     */
    default void setVideoPreference(VideoPreference preference) {
    }

    /** What this endpoint receives and how its downlink is doing. */
    ReceiveQuality receiveQuality();

    /** Snapshot of this endpoint's transport state and counters. */
    EndpointStats stats();

    /** Closes both transports and removes the endpoint (and what others received from it) from the conference. */
    void close();
}
