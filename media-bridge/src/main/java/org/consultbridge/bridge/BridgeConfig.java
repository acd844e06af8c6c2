package org.consultbridge.bridge;

import java.util.List;

/**
 * Configuration of the media bridge.
 *
 * @param bindAddress         address the UDP socket (and the ICE-TCP listener) binds to ("0.0.0.0" for all)
 * @param udpPort             the one UDP port for all endpoints (default 10000; 0 picks a free port, for tests)
 * @param advertisedAddresses addresses put into ICE candidates; empty means every non-loopback address of this
 *                            host (or the bind address when it is a specific one). Like JVB's NAT mapping, a
 *                            public address behind NAT is configuration, never discovered over the internet.
 * @param tcpPort             the ICE-TCP port (RFC 6544 passive candidates, RFC 4571 framing) for networks that
 *                            block UDP; {@link #TCP_OFF} (0) turns it off, {@link #TCP_ANY_PORT} picks a free
 *                            port (tests)
 * @param workers             event loops carrying media, each with its own UDP port (udpPort + i) and ICE-TCP port
 *                            (tcpPort + i); a conference lives on one of them. {@link #ALL_CORES} (0): one per core
 *                            the process may use
 */
public record BridgeConfig(String bindAddress, int udpPort, List<String> advertisedAddresses, int tcpPort,
                           int workers) {

    public static final int DEFAULT_UDP_PORT = 10000;
    public static final int DEFAULT_TCP_PORT = 4443;
    /** No ICE-TCP listener, no TCP candidates. */
    public static final int TCP_OFF = 0;
    /** ICE-TCP on a free port chosen by the system (tests). */
    public static final int TCP_ANY_PORT = -1;
    /** One worker per core the process may use. */
    public static final int ALL_CORES = 0;
    static final int MAX_WORKERS = 64;

    public BridgeConfig {
        advertisedAddresses = List.copyOf(advertisedAddresses);
        if (tcpPort < TCP_ANY_PORT || tcpPort > 65535) {
            throw new IllegalArgumentException("bridge tcp port out of range: " + tcpPort);
        }
        if (workers < 0 || workers > MAX_WORKERS) {
            throw new IllegalArgumentException("bridge workers must be 0 (one per core) to " + MAX_WORKERS + ": " + workers);
        }
    }

    /** One worker (tests and tools that want exactly one UDP port). */
    public BridgeConfig(String bindAddress, int udpPort, List<String> advertisedAddresses, int tcpPort) {
        this(bindAddress, udpPort, advertisedAddresses, tcpPort, 1);
    }

    /** UDP only (no ICE-TCP). */
    public BridgeConfig(String bindAddress, int udpPort, List<String> advertisedAddresses) {
        this(bindAddress, udpPort, advertisedAddresses, TCP_OFF);
    }

    public static BridgeConfig defaults() {
        return new BridgeConfig("0.0.0.0", DEFAULT_UDP_PORT, List.of(), DEFAULT_TCP_PORT, ALL_CORES);
    }

    /** The number of workers to start: {@link #workers}, or the cores this process may use. */
    public int effectiveWorkers() {
        return workers == ALL_CORES ? Math.min(MAX_WORKERS, Runtime.getRuntime().availableProcessors()) : workers;
    }

    public boolean tcpEnabled() {
        return tcpPort != TCP_OFF;
    }
}
