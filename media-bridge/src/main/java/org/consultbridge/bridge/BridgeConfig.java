package org.consultbridge.bridge;

import java.util.List;

/**
 * Configuration of the media bridge.
 *
 * @param bindAddress         address the UDP socket binds to ("0.0.0.0" for all)
 * @param udpPort             the one UDP port for all endpoints (default 10000; 0 picks a free port, for tests)
 * @param advertisedAddresses addresses put into ICE candidates; empty means every non-loopback address of this
 *                            host (or the bind address when it is a specific one). Like JVB's NAT mapping, a
 *                            public address behind NAT is configuration, never discovered over the internet.
 */
public record BridgeConfig(String bindAddress, int udpPort, List<String> advertisedAddresses) {

    public static final int DEFAULT_UDP_PORT = 10000;

    public BridgeConfig {
        advertisedAddresses = List.copyOf(advertisedAddresses);
    }

    public static BridgeConfig defaults() {
        return new BridgeConfig("0.0.0.0", DEFAULT_UDP_PORT, List.of());
    }
}
