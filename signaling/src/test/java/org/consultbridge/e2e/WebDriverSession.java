package org.consultbridge.e2e;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * A minimal client of the W3C WebDriver HTTP protocol (https://www.w3.org/TR/webdriver2/), enough to drive
 * ChromeDriver: new session, navigate, execute script (sync and async), screenshot, ChromeDriver's log endpoint,
 * delete session.
 *
 * <p>Why not Selenium: a few dozen lines of {@code java.net.http} and Jackson cover what the end-to-end tests need,
 * and every request gets an explicit time limit.
 */
final class WebDriverSession {

    /** An error reported by the remote end (W3C WebDriver §6.6) or a transport failure talking to it. */
    static final class WebDriverException extends RuntimeException {
        private final String error;

        WebDriverException(String error, String message, Throwable cause) {
            super(error + ": " + message, cause);
            this.error = error;
        }

        /** The W3C error code, e.g. {@code javascript error}, {@code script timeout}; or {@code transport}. */
        String error() {
            return error;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);
    /** Added to a script's own time limit for the HTTP round trip, so the remote end times out first. */
    private static final Duration MARGIN = Duration.ofSeconds(10);

    private final HttpClient http;
    private final URI base;
    private final String sessionId;
    private volatile Duration scriptTimeout = Duration.ofSeconds(30);

    private WebDriverSession(HttpClient http, URI base, String sessionId) {
        this.http = http;
        this.base = base;
        this.sessionId = sessionId;
    }

    static HttpClient newHttpClient() {
        return HttpClient.newBuilder()
                .proxy(HttpClient.Builder.NO_PROXY) // never route the driver's traffic through a proxy
                .connectTimeout(Duration.ofSeconds(5))
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    /** True if the remote end answers {@code GET /status} with {@code ready: true} (W3C §8.3). */
    static boolean ready(HttpClient http, URI base) {
        try {
            JsonNode value = send(http, HttpRequest.newBuilder(base.resolve("status")).GET(), Duration.ofSeconds(2));
            return value.path("ready").asBoolean(false);
        } catch (WebDriverException e) {
            return false;
        }
    }

    /** New Session (W3C §8.1) with the given capabilities under {@code alwaysMatch}. */
    static WebDriverSession create(HttpClient http, URI base, Map<String, Object> capabilities, Duration timeout) {
        Map<String, Object> body = Map.of("capabilities", Map.of("alwaysMatch", capabilities));
        JsonNode value = send(http, post(base.resolve("session"), body), timeout);
        String id = value.path("sessionId").asText(null);
        if (id == null) {
            throw new WebDriverException("session not created", "no sessionId in " + value, null);
        }
        return new WebDriverSession(http, base, id);
    }

    String sessionId() {
        return sessionId;
    }

    /** Navigate To (W3C §10.1); returns when the page's load event fired. */
    void navigate(String url) {
        command(post(path("url"), Map.of("url", url)), COMMAND_TIMEOUT);
    }

    /** Set Timeouts (W3C §9.2): the script limit applies to async scripts and to promises a sync script returns. */
    void setScriptTimeout(Duration timeout) {
        command(post(path("timeouts"), Map.of("script", timeout.toMillis())), COMMAND_TIMEOUT);
        scriptTimeout = timeout;
    }

    Duration scriptTimeout() {
        return scriptTimeout;
    }

    /** Execute Script (W3C §13.2.1); a returned promise is awaited. Results come back as JSON-like Java values. */
    Object executeSync(String script, List<Object> args) {
        return toJava(command(post(path("execute/sync"), Map.of("script", script, "args", args)),
                scriptTimeout.plus(MARGIN)));
    }

    /** Execute Async Script (W3C §13.2.2): the script calls its last argument with the result. */
    Object executeAsync(String script, List<Object> args) {
        return toJava(command(post(path("execute/async"), Map.of("script", script, "args", args)),
                scriptTimeout.plus(MARGIN)));
    }

    /** Take Screenshot (W3C §17.1), PNG bytes. */
    byte[] screenshotPng() {
        return Base64.getDecoder().decode(command(get(path("screenshot")), COMMAND_TIMEOUT).asText());
    }

    /**
     * ChromeDriver's legacy log endpoint ({@code POST /session/{id}/se/log}, type {@code browser}): console messages
     * and failed loads since the previous call (the remote end drains its buffer). Needs the capability
     * {@code goog:loggingPrefs: {browser: ALL}}.
     */
    List<String> drainBrowserLog() {
        JsonNode entries = command(post(path("se/log"), Map.of("type", "browser")), COMMAND_TIMEOUT);
        List<String> lines = new ArrayList<>();
        for (JsonNode entry : entries) {
            lines.add(entry.path("timestamp").asLong() + " " + entry.path("level").asText() + " "
                    + entry.path("source").asText() + " " + entry.path("message").asText());
        }
        return lines;
    }

    /** Delete Session (W3C §8.2): closes the browser. */
    void delete(Duration timeout) {
        send(http, HttpRequest.newBuilder(URI.create(base + "session/" + sessionId)).DELETE(), timeout);
    }

    private URI path(String command) {
        return URI.create(base + "session/" + sessionId + "/" + command);
    }

    private JsonNode command(HttpRequest.Builder request, Duration timeout) {
        return send(http, request, timeout);
    }

    private static HttpRequest.Builder get(URI uri) {
        return HttpRequest.newBuilder(uri).GET();
    }

    private static HttpRequest.Builder post(URI uri, Object body) {
        try {
            return HttpRequest.newBuilder(uri)
                    .header("Content-Type", "application/json; charset=utf-8")
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot encode WebDriver arguments as JSON: " + e.getMessage(), e);
        }
    }

    /** Sends a request and returns the response's {@code value}, or throws the remote end's error (W3C §6.6). */
    private static JsonNode send(HttpClient http, HttpRequest.Builder request, Duration timeout) {
        HttpRequest built = request.timeout(timeout).build();
        HttpResponse<String> response;
        try {
            response = http.send(built, HttpResponse.BodyHandlers.ofString());
        } catch (HttpTimeoutException e) {
            throw new WebDriverException("transport", built.method() + " " + built.uri() + " got no answer within "
                    + timeout.toMillis() + " ms", e);
        } catch (IOException e) {
            throw new WebDriverException("transport", built.method() + " " + built.uri() + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WebDriverException("transport", "interrupted during " + built.uri(), e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(response.body());
        } catch (JsonProcessingException e) {
            throw new WebDriverException("invalid response", "HTTP " + response.statusCode() + " from "
                    + built.uri() + ": " + abbreviate(response.body()), e);
        }
        JsonNode value = root == null ? null : root.get("value");
        if (value == null) {
            throw new WebDriverException("invalid response", "no value in " + abbreviate(response.body()), null);
        }
        if (response.statusCode() != 200 || value.has("error")) {
            throw new WebDriverException(value.path("error").asText("HTTP " + response.statusCode()),
                    value.path("message").asText(abbreviate(response.body())), null);
        }
        return value;
    }

    private static Object toJava(JsonNode node) {
        return JSON.convertValue(node, Object.class);
    }

    private static String abbreviate(String text) {
        return text.length() <= 2000 ? text : text.substring(0, 2000) + "...";
    }
}
