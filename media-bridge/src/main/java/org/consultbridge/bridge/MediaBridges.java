package org.consultbridge.bridge;

import org.consultbridge.bridge.api.MediaBridge;
import org.consultbridge.bridge.conference.WorkerPool;

/** Starts the media bridge in this process. */
public final class MediaBridges {

    private MediaBridges() {
    }

    /**
     * Starts the bridge's workers (one event loop, UDP port and ICE-TCP port each; {@link BridgeConfig#workers()});
     * the returned bridge is ready for endpoints.
     */
    public static MediaBridge start(BridgeConfig config) {
        return WorkerPool.start(config);
    }
}
