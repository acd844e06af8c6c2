package org.consultbridge.signaling.limits;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Who a connection is from, for the per-address limits: the TCP peer, or, when the peer is a trusted reverse proxy,
 * the address it names in X-Forwarded-For (the rightmost entry that is not itself a trusted proxy: entries further
 * left were written by the client and prove nothing). Addresses are only compared, never resolved: a value that is
 * not an IP literal is ignored.
 */
public final class ClientAddress {

    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

    private ClientAddress() {
    }

    /** The client's address for the limits. */
    public static InetAddress resolve(InetAddress peer, String forwardedFor, Set<InetAddress> trustedProxies) {
        if (peer == null || forwardedFor == null || !trustedProxies.contains(peer)) {
            return peer;
        }
        String[] hops = forwardedFor.split(",");
        InetAddress client = peer;
        for (int i = hops.length - 1; i >= 0; i--) {
            InetAddress hop = parseLiteral(hops[i].strip());
            if (hop == null) {
                return client; // garbage in the header: the last address we could trust
            }
            client = hop;
            if (!trustedProxies.contains(hop)) {
                return hop;
            }
        }
        return client;
    }

    /** An IPv4 or IPv6 literal (IPv6 possibly in brackets), never a DNS lookup; null when it is not one. */
    public static InetAddress parseLiteral(String s) {
        if (s == null) {
            return null;
        }
        String v = s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
        boolean literal = IPV4.matcher(v).matches() || v.indexOf(':') >= 0 && IPV6.matcher(v).matches();
        if (!literal) {
            return null;
        }
        try {
            return InetAddress.getByName(v); // a literal: parsed, not looked up
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
