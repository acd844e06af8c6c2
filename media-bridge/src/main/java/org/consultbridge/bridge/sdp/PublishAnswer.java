package org.consultbridge.bridge.sdp;

import java.util.List;

/** The bridge's answer to a publish offer, and what it learned from the offer. */
public record PublishAnswer(String answerSdp, String remoteIceUfrag, String remoteIcePwd, Fingerprint remoteFingerprint,
                            Setup remoteSetup, List<PublishedTrack> tracks) {
}
