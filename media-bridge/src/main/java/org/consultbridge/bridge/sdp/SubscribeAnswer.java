package org.consultbridge.bridge.sdp;

import java.util.Map;
import java.util.Set;

/** What the browser's answer to a subscribe offer says. */
public record SubscribeAnswer(String remoteIceUfrag, String remoteIcePwd, Fingerprint remoteFingerprint,
                              Setup remoteSetup, Set<String> acceptedMids,
                              Map<String, Set<Integer>> acceptedPayloadTypesByMid,
                              Map<String, Integer> extensionIdsByUri) {
}
