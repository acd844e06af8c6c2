package org.consultbridge.bridge.transport;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.consultbridge.bridge.BridgeConfig;
import org.consultbridge.bridge.sdp.IceCandidate;

/**
 * The bridge's ICE host candidates: one UDP candidate per advertised address, all on the one bridge port, then (with
 * ICE-TCP on) one passive TCP candidate per address on the TCP port (RFC 6544), at a lower priority than every UDP
 * one so that browsers only use TCP when UDP does not get through.
 * Which addresses: the configured ones; else the bind address when it is a specific one; else every up,
 * non-loopback, non-link-local address of this host (browsers never use loopback candidates).
 */
public final class HostCandidates {

    private HostCandidates() {
    }

    public static List<IceCandidate> forConfig(BridgeConfig config, int boundPort) {
        return forConfig(config, boundPort, 0);
    }

    /** UDP candidates on {@code udpPort}, then passive TCP candidates on {@code tcpPort} unless it is 0. */
    public static List<IceCandidate> forConfig(BridgeConfig config, int udpPort, int tcpPort) {
        List<String> addresses = addresses(config);
        List<IceCandidate> candidates = new ArrayList<>();
        for (int i = 0; i < addresses.size(); i++) {
            candidates.add(new IceCandidate(String.valueOf(i + 1), 1, "udp", hostPriority(i), addresses.get(i),
                    udpPort, "host", null));
        }
        if (tcpPort > 0) {
            for (int i = 0; i < addresses.size(); i++) {
                // RFC 6544 §4.5: passive candidates carry their listening port; the foundation differs from UDP's
                candidates.add(new IceCandidate("tcp" + (i + 1), 1, "tcp", tcpPassiveHostPriority(i),
                        addresses.get(i), tcpPort, "host", "passive"));
            }
        }
        return List.copyOf(candidates);
    }

    /**
     * RFC 6544 §4.2: local preference = 2^13 * direction-pref + other-pref, direction-pref 4 for a passive host
     * candidate; type preference 90 (libwebrtc's for host TCP) instead of 126, so every TCP candidate ranks below
     * every UDP host candidate (RFC 6544 §4.2: UDP should be preferred).
     */
    static long tcpPassiveHostPriority(int index) {
        long localPreference = (1L << 13) * 4 + (8191 - index);
        return (90L << 24) + (localPreference << 8) + (256 - 1);
    }

    /**
     * RFC 8445 §5.1.2.1: priority = 2^24 * type preference + 2^8 * local preference + (256 - component id),
     * host type preference 126; earlier addresses in the list get a higher local preference.
     */
    static long hostPriority(int index) {
        long localPreference = 65535 - index;
        return (126L << 24) + (localPreference << 8) + (256 - 1);
    }

    /** The addresses the bridge advertises (its host candidates), in order. */
    public static List<String> addresses(BridgeConfig config) {
        if (!config.advertisedAddresses().isEmpty()) {
            return config.advertisedAddresses();
        }
        try {
            InetAddress bind = InetAddress.getByName(config.bindAddress());
            if (!bind.isAnyLocalAddress()) {
                return List.of(bind.getHostAddress());
            }
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("bridge bind address is not an address: " + config.bindAddress(), e);
        }
        List<String> found = new ArrayList<>();
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nif.isUp() || nif.isLoopback()) {
                    continue;
                }
                for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                    if (a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isMulticastAddress()) {
                        continue;
                    }
                    if (a instanceof Inet4Address) {
                        found.add(0, a.getHostAddress());
                    } else if (a instanceof Inet6Address && "0.0.0.0".equals(config.bindAddress())) {
                        // an IPv4 wildcard socket cannot receive IPv6: only advertise v6 with a v6/dual bind
                        continue;
                    } else {
                        found.add(a.getHostAddress());
                    }
                }
            }
        } catch (SocketException e) {
            throw new IllegalStateException("cannot list network interfaces", e);
        }
        if (found.isEmpty()) {
            throw new IllegalStateException("no non-loopback address to advertise; set bridge.advertised-addresses");
        }
        return List.copyOf(found);
    }
}
