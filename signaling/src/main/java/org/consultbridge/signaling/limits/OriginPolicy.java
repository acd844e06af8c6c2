package org.consultbridge.signaling.limits;

import java.net.URI;
import java.util.List;
import java.util.Locale;

/**
 * Which browser pages may open the signalling WebSocket (cross-site WebSocket hijacking: a page elsewhere would
 * otherwise drive a participant's browser against this server). Browsers always send {@code Origin} on a WebSocket
 * upgrade (RFC 6455 §4.1, §10.2); it is allowed when it is the server's own origin (scheme http or https, same host
 * and port as the request's Host header; a Host without a port matches the origin scheme's default port, as behind
 * a TLS-terminating proxy), the origin of {@code public-url}, or one of {@code http.allowed-origins}. Clients
 * without a browser send no Origin and are allowed: the join token, not the origin, is the authentication.
 */
public final class OriginPolicy {

    private final List<String> allowed;
    private final boolean any;

    public OriginPolicy(List<String> allowedOrigins, String publicUrl) {
        List<String> all = new java.util.ArrayList<>();
        for (String o : allowedOrigins) {
            if (!o.equals("*")) {
                String n = normalize(o);
                if (n == null) {
                    throw new IllegalArgumentException("not an origin (scheme://host[:port]): " + o);
                }
                all.add(n);
            }
        }
        if (publicUrl != null && !publicUrl.isBlank()) {
            String n = normalize(publicUrl);
            if (n != null) {
                all.add(n);
            }
        }
        this.allowed = List.copyOf(all);
        this.any = allowedOrigins.contains("*");
    }

    /**
     * @param origin    the request's Origin header, null when absent
     * @param hostHeader the request's Host header (host[:port]), null when absent
     */
    public boolean allows(String origin, String hostHeader) {
        if (origin == null || any) {
            return true;
        }
        String n = normalize(origin);
        if (n == null) {
            return false; // "null" (sandboxed frames, file:), or not an origin at all
        }
        if (allowed.contains(n)) {
            return true;
        }
        return hostHeader != null && sameHost(n, hostHeader);
    }

    private static boolean sameHost(String normalizedOrigin, String hostHeader) {
        URI o = URI.create(normalizedOrigin);
        URI h;
        try {
            h = new URI("http://" + hostHeader.strip());
        } catch (java.net.URISyntaxException e) {
            return false;
        }
        if (h.getHost() == null || !h.getHost().equalsIgnoreCase(o.getHost())) {
            return false;
        }
        return h.getPort() < 0 ? o.getPort() == defaultPort(o.getScheme()) : h.getPort() == o.getPort();
    }

    /** scheme://host:port with the port always written, lower case; null when not an http(s) origin. */
    static String normalize(String origin) {
        URI u;
        try {
            u = new URI(origin.strip());
        } catch (java.net.URISyntaxException e) {
            return null;
        }
        String scheme = u.getScheme() == null ? null : u.getScheme().toLowerCase(Locale.ROOT);
        if (!"http".equals(scheme) && !"https".equals(scheme) || u.getHost() == null || u.getRawUserInfo() != null) {
            return null;
        }
        int port = u.getPort() < 0 ? defaultPort(scheme) : u.getPort();
        return scheme + "://" + u.getHost().toLowerCase(Locale.ROOT) + ":" + port;
    }

    private static int defaultPort(String scheme) {
        return "https".equals(scheme) ? 443 : 80;
    }
}
