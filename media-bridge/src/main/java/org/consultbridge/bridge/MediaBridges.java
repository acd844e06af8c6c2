package org.consultbridge.bridge;

import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.conference.SfuBridge;

/** Starts the media bridge in this process. */
public final class MediaBridges {

    private MediaBridges() {
    }

    /** Binds the bridge's UDP port and starts its event loop; the returned bridge is ready for endpoints. */
    public static MediaBridge start(BridgeConfig config) {
        return SfuBridge.start(config);
    }
}
