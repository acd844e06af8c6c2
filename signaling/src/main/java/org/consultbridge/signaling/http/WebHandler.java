package org.consultbridge.signaling.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.consultbridge.signaling.token.Role;
import org.consultbridge.signaling.token.TokenService;
import org.consultbridge.signaling.turn.TurnProbe;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * Plain HTTP: the web client's static files (from the classpath, no CDN, so it works on an offline hospital
 * network), {@code /healthz}, and in demo mode {@code POST /api/demo-token}.
 */
public final class WebHandler extends Handler.Abstract {

    private static final Pattern SAFE_PATH = Pattern.compile("/[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*\\.[a-z]{2,4}");
    private static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8", "svg", "image/svg+xml", "png", "image/png", "ico", "image/x-icon",
            "json", "application/json");
    /** Same-origin only; media from the camera and remote streams; WebSocket back to us. */
    private static final String CSP = "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob: "
            + "mediastream:; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

    private final TokenService tokens;
    private final boolean demoMode;
    private final ObjectMapper json;
    private final Map<String, byte[]> cache = new ConcurrentHashMap<>();
    private final TurnProbe turnProbe;

    /** @param turnProbe the TURN server's probe, or null when TURN is not configured */
    public WebHandler(TokenService tokens, boolean demoMode, ObjectMapper json, TurnProbe turnProbe) {
        this.tokens = tokens;
        this.demoMode = demoMode;
        this.json = json;
        this.turnProbe = turnProbe;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String path = Request.getPathInContext(request);
        response.getHeaders().put("X-Content-Type-Options", "nosniff");
        response.getHeaders().put("Referrer-Policy", "no-referrer");
        if (path.equals("/healthz")) {
            return health(response, callback);
        }
        if (path.equals("/api/demo-token")) {
            return demoToken(request, response, callback);
        }
        if (!request.getMethod().equals("GET") && !request.getMethod().equals("HEAD")) {
            return text(response, callback, HttpStatus.METHOD_NOT_ALLOWED_405, "text/plain", "method not allowed\n");
        }
        if (path.equals("/")) {
            path = "/index.html";
        }
        if (!SAFE_PATH.matcher(path).matches()) {
            return text(response, callback, HttpStatus.NOT_FOUND_404, "text/plain", "not found\n");
        }
        byte[] body = resource(path);
        if (body == null) {
            return text(response, callback, HttpStatus.NOT_FOUND_404, "text/plain", "not found\n");
        }
        String ext = path.substring(path.lastIndexOf('.') + 1);
        response.setStatus(HttpStatus.OK_200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, TYPES.getOrDefault(ext, "application/octet-stream"));
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        response.getHeaders().put("Content-Security-Policy", CSP);
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }

    private byte[] resource(String path) throws IOException {
        byte[] cached = cache.get(path);
        if (cached != null) {
            return cached;
        }
        try (InputStream in = WebHandler.class.getResourceAsStream("/web" + path)) {
            if (in == null) {
                return null;
            }
            byte[] b = in.readAllBytes();
            cache.put(path, b);
            return b;
        }
    }

    /**
     * {@code {"status":"ok","turn":{"ok":..,"latencyMs":..,"error":..,"checkedAt":..}}}: 200 while this server runs;
     * {@code turn} (only when TURN is configured) is the last probe's result, so a monitor can alert on it
     * separately (calls without TURN still work when it fails).
     */
    private boolean health(Response response, Callback callback) {
        ObjectNode body = json.createObjectNode();
        body.put("status", "ok");
        if (turnProbe != null) {
            TurnProbe.Health h = turnProbe.last();
            ObjectNode turn = body.putObject("turn");
            turn.put("ok", h.ok());
            if (h.latencyMs() == null) {
                turn.putNull("latencyMs");
            } else {
                turn.put("latencyMs", h.latencyMs());
            }
            if (h.error() == null) {
                turn.putNull("error");
            } else {
                turn.put("error", h.error());
            }
            if (h.checkedAt() == null) {
                turn.putNull("checkedAt");
            } else {
                turn.put("checkedAt", h.checkedAt().toString());
            }
        }
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        return text(response, callback, HttpStatus.OK_200, "application/json", body.toString());
    }

    /** Demo mode only: mints a token so the landing page can open a call without a scheduling system. */
    private boolean demoToken(Request request, Response response, Callback callback) throws Exception {
        if (!demoMode) {
            return text(response, callback, HttpStatus.NOT_FOUND_404, "text/plain", "not found\n");
        }
        if (!request.getMethod().equals("POST")) {
            return text(response, callback, HttpStatus.METHOD_NOT_ALLOWED_405, "text/plain", "use POST\n");
        }
        Fields q = Request.extractQueryParameters(request);
        Role role = Role.fromWire(q.getValue("role"));
        String consultation = q.getValue("consultation");
        String name = q.getValue("name");
        if (role == null || consultation == null || !SAFE_ID.matcher(consultation).matches()) {
            return text(response, callback, HttpStatus.BAD_REQUEST_400, "application/json",
                    "{\"error\":\"role (doctor|staff|room|guest) and consultation ([A-Za-z0-9._-]{1,64}) are required\"}");
        }
        String display = name == null || name.isBlank() ? role.wire() : name.strip();
        if (display.length() > 100) {
            display = display.substring(0, 100);
        }
        ObjectNode body = json.createObjectNode();
        body.put("token", tokens.mint(consultation, role, display, Duration.ofHours(12)));
        return text(response, callback, HttpStatus.OK_200, "application/json", body.toString());
    }

    private static boolean text(Response response, Callback callback, int status, String type, String body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
        response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
        return true;
    }
}
