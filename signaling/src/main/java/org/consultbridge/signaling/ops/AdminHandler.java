package org.consultbridge.signaling.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

/**
 * The admin port's HTTP API:
 * <ul>
 *   <li>{@code GET /metrics}: Prometheus text format (no credential: for the scraper on the monitoring network);</li>
 *   <li>{@code GET /healthz/live}, {@code GET /healthz/ready}: 200 or 503 (no credential: for probes);</li>
 *   <li>{@code GET /ops} (the dashboard page, its script and style), {@code GET /api/ops/state[?consultation=K]},
 *       {@code GET /api/ops/events[?limit=N]}, {@code GET /api/ops/stream} (Server-Sent Events),
 *       {@code GET /api/ops/summaries[?from=&to=&limit=&consultation=]} and {@code GET /api/ops/summaries/<id>}
 *       (past consultations), and {@code GET|POST|DELETE /admin/drain}: the ops credential, HTTP Basic (user
 *       {@code ops}) or Bearer; 401 without.</li>
 * </ul>
 */
public final class AdminHandler extends Handler.Abstract {

    private static final Pattern KEY = Pattern.compile("[0-9a-f]{8}");
    private static final Pattern LIMIT = Pattern.compile("[0-9]{1,4}");
    private static final String CSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
            + "style-src 'self'; script-src 'self'; frame-ancestors 'none'";
    private static final Map<String, String> FILES = Map.of(
            "/ops", "index.html", "/ops/", "index.html", "/ops/ops.js", "ops.js", "/ops/ops.css", "ops.css");

    private final OpsMonitor monitor;
    private final ObjectMapper json;
    private final byte[] basic;
    private final byte[] bearer;
    private final Map<String, byte[]> cache = new ConcurrentHashMap<>();

    public AdminHandler(OpsMonitor monitor, ObjectMapper json, String credential) {
        this.monitor = monitor;
        this.json = json;
        this.basic = ("Basic " + Base64.getEncoder().encodeToString(("ops:" + credential)
                .getBytes(StandardCharsets.UTF_8))).getBytes(StandardCharsets.UTF_8);
        this.bearer = ("Bearer " + credential).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String path = Request.getPathInContext(request);
        String method = request.getMethod();
        response.getHeaders().put("X-Content-Type-Options", "nosniff");
        response.getHeaders().put("Referrer-Policy", "no-referrer");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        switch (path) {
            case "/metrics" -> {
                return get(method, response, callback) && text(response, callback, 200,
                        "text/plain; version=0.0.4; charset=utf-8", monitor.metrics().scrape());
            }
            case "/healthz/live" -> {
                return get(method, response, callback) && text(response, callback, 200, "application/json",
                        "{\"status\":\"live\"}");
            }
            case "/healthz/ready" -> {
                if (!get(method, response, callback)) {
                    return true;
                }
                List<String> reasons = monitor.notReadyReasons();
                ObjectNode body = json.createObjectNode();
                body.put("ready", reasons.isEmpty());
                body.put("draining", monitor.draining());
                ArrayNode r = body.putArray("reasons");
                reasons.forEach(r::add);
                return text(response, callback, reasons.isEmpty() ? 200 : 503, "application/json", body.toString());
            }
            default -> {
            }
        }
        boolean protectedPath = FILES.containsKey(path) || path.startsWith("/api/ops/") || path.equals("/admin/drain");
        if (!protectedPath) {
            return text(response, callback, 404, "text/plain", "not found\n");
        }
        if (!authorized(request)) {
            response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Basic realm=\"ConsultBridge ops\", charset=\"UTF-8\"");
            return text(response, callback, 401, "application/json",
                    "{\"error\":\"the ops credential is required (HTTP Basic, user ops, or Bearer)\"}");
        }
        if (path.equals("/admin/drain")) {
            return drain(request, response, callback);
        }
        if (!get(method, response, callback)) {
            return true;
        }
        if (FILES.containsKey(path)) {
            return file(FILES.get(path), response, callback);
        }
        if (path.equals("/api/ops/summaries") || path.startsWith("/api/ops/summaries/")) {
            return summaries(request, path, response, callback);
        }
        return switch (path) {
            case "/api/ops/state" -> state(request, response, callback);
            case "/api/ops/events" -> events(request, response, callback);
            case "/api/ops/stream" -> stream(response, callback);
            default -> text(response, callback, 404, "application/json", "{\"error\":\"not found\"}");
        };
    }

    /** Constant-time comparison of the Authorization header with both accepted forms. */
    private boolean authorized(Request request) {
        String h = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        if (h == null) {
            return false;
        }
        byte[] given = h.strip().getBytes(StandardCharsets.UTF_8);
        boolean ok = MessageDigest.isEqual(given, basic);
        ok |= MessageDigest.isEqual(given, bearer);
        return ok;
    }

    private boolean get(String method, Response response, Callback callback) {
        if (method.equals("GET") || method.equals("HEAD")) {
            return true;
        }
        response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
        text(response, callback, 405, "text/plain", "method not allowed\n");
        return false;
    }

    private boolean drain(Request request, Response response, Callback callback) {
        switch (request.getMethod()) {
            case "POST" -> monitor.setDraining(true);
            case "DELETE" -> monitor.setDraining(false);
            case "GET" -> {
            }
            default -> {
                response.getHeaders().put(HttpHeader.ALLOW, "GET, POST, DELETE");
                return text(response, callback, 405, "text/plain", "method not allowed\n");
            }
        }
        ObjectNode body = json.createObjectNode();
        body.put("draining", monitor.draining());
        ObjectNode s = monitor.state();
        int consultations = s.path("consultations").size();
        int participants = 0;
        for (var c : s.path("consultations")) {
            participants += c.path("participants").size();
        }
        body.put("consultations", consultations);
        body.put("participants", participants);
        return text(response, callback, 200, "application/json", body.toString());
    }

    private boolean state(Request request, Response response, Callback callback) {
        Fields q = Request.extractQueryParameters(request);
        for (Fields.Field f : q) {
            if (!f.getName().equals("consultation")) {
                return badRequest(response, callback, "unknown parameter '" + abbreviate(f.getName()) + "'");
            }
        }
        String key = q.getValue("consultation");
        ObjectNode s = monitor.state();
        if (key == null) {
            return text(response, callback, 200, "application/json", s.toString());
        }
        if (q.getValues("consultation").size() != 1 || !KEY.matcher(key).matches()) {
            return badRequest(response, callback, "consultation must be one key of 8 hex digits");
        }
        for (var c : s.path("consultations")) {
            if (key.equals(c.path("key").asText())) {
                return text(response, callback, 200, "application/json", c.toString());
            }
        }
        return text(response, callback, 404, "application/json", "{\"error\":\"no such consultation\"}");
    }

    private boolean events(Request request, Response response, Callback callback) {
        Fields q = Request.extractQueryParameters(request);
        for (Fields.Field f : q) {
            if (!f.getName().equals("limit")) {
                return badRequest(response, callback, "unknown parameter '" + abbreviate(f.getName()) + "'");
            }
        }
        int limit = 100;
        String l = q.getValue("limit");
        if (l != null) {
            if (q.getValues("limit").size() != 1 || !LIMIT.matcher(l).matches() || Integer.parseInt(l) < 1
                    || Integer.parseInt(l) > OpsMonitor.MAX_EVENTS) {
                return badRequest(response, callback, "limit must be an integer from 1 to " + OpsMonitor.MAX_EVENTS);
            }
            limit = Integer.parseInt(l);
        }
        return text(response, callback, 200, "application/json", monitor.events(limit).toString());
    }

    /** Past consultations: the list (newest first) or one summary. */
    private boolean summaries(Request request, String path, Response response, Callback callback) {
        var store = monitor.summaries();
        if (store.isEmpty()) {
            return text(response, callback, 404, "application/json",
                    "{\"error\":\"consultation summaries are switched off (consultbridge.ops.summaries.enabled)\"}");
        }
        try {
            if (path.equals("/api/ops/summaries")) {
                Map<String, List<String>> params = new java.util.LinkedHashMap<>();
                for (Fields.Field f : Request.extractQueryParameters(request)) {
                    params.put(f.getName(), f.getValues());
                }
                SummaryStore.Query q = store.get().query(params, monitor::summaryPseudonym);
                ObjectNode body = json.createObjectNode();
                body.put("from", q.from().toString());
                body.put("to", q.to().toString());
                body.put("retentionDays", store.get().retention().toDays());
                ArrayNode list = body.putArray("summaries");
                store.get().list(q).forEach(list::add);
                return text(response, callback, 200, "application/json", body.toString());
            }
            if (request.getHttpURI().getQuery() != null) {
                return badRequest(response, callback, "a summary takes no parameters");
            }
            String id = path.substring("/api/ops/summaries/".length());
            var summary = store.get().read(id);
            return summary.isPresent() ? text(response, callback, 200, "application/json", summary.get().toString())
                    : text(response, callback, 404, "application/json", "{\"error\":\"no such summary\"}");
        } catch (IllegalArgumentException e) {
            return badRequest(response, callback, e.getMessage());
        } catch (java.io.IOException e) {
            return text(response, callback, 500, "application/json", "{\"error\":\"summaries could not be read\"}");
        }
    }

    /**
     * Server-Sent Events: one {@code state} event now and after every sample. One write in flight per client; a
     * client that has not taken the previous event when the next is ready skips it (the next state replaces it).
     */
    private boolean stream(Response response, Callback callback) {
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        AtomicBoolean writing = new AtomicBoolean();
        AtomicBoolean done = new AtomicBoolean();
        Consumer<String>[] self = new Consumer[1];
        self[0] = text -> {
            if (done.get() || !writing.compareAndSet(false, true)) {
                return;
            }
            ByteBuffer event = ByteBuffer.wrap(("event: state\ndata: " + text + "\n\n").getBytes(StandardCharsets.UTF_8));
            response.write(false, event, Callback.from(() -> writing.set(false), failure -> {
                if (done.compareAndSet(false, true)) {
                    monitor.removeListener(self[0]);
                    callback.failed(failure);
                }
            }));
        };
        monitor.addListener(self[0]);
        self[0].accept(monitor.state().toString());
        return true;
    }

    private boolean file(String name, Response response, Callback callback) throws IOException {
        byte[] body = cache.get(name);
        if (body == null) {
            try (InputStream in = AdminHandler.class.getResourceAsStream("/ops-web/" + name)) {
                if (in == null) {
                    return text(response, callback, 404, "text/plain", "not found\n");
                }
                body = in.readAllBytes();
                cache.put(name, body);
            }
        }
        String type = name.endsWith(".html") ? "text/html; charset=utf-8"
                : name.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
        response.getHeaders().put("Content-Security-Policy", CSP);
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }

    private boolean badRequest(Response response, Callback callback, String message) {
        ObjectNode body = json.createObjectNode();
        body.put("error", message);
        return text(response, callback, 400, "application/json", body.toString());
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private static boolean text(Response response, Callback callback, int status, String type, String body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
        response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
        return true;
    }
}
