package org.consultbridge.signaling.clinical;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Base64;
import java.util.List;
import org.consultbridge.signaling.consultation.Participant;

/**
 * The server's part in end-to-end media encryption (issue #8, docs/protocol.md "End-to-end encryption"): it relays,
 * and never understands, the participants' key agreement. Each web client announces an ECDH P-256 public key
 * ({@code e2eeKey}); the server keeps it in memory with the participant (gone when the participant leaves), hands
 * it to the others ({@code e2eePublicKey}, and in {@code welcome} to late joiners), and forwards each sender's media
 * key, encrypted by the sender for one recipient ({@code e2eeMediaKey}), to that recipient only. It checks sizes,
 * encodings and that the recipient is in the same consultation; it holds no private key and sees no media key.
 */
public final class E2eeRelay {

    public static final String E2EE_DISABLED = "e2ee-disabled";
    public static final String E2EE_INVALID = "e2ee-invalid";
    public static final String E2EE_UNKNOWN_TARGET = "e2ee-unknown-target";
    public static final String E2EE_TOO_FREQUENT = "e2ee-too-frequent";

    /** An uncompressed P-256 point (SEC 1 §2.3.3: 0x04 || X || Y), as WebCrypto exports it in "raw" format. */
    static final int PUBLIC_KEY_BYTES = 65;
    /** IV (12) + at least one byte + GCM tag (16). */
    static final int MIN_CIPHERTEXT_BYTES = 29;
    static final int MAX_CIPHERTEXT_BYTES = 512;
    /** Per socket: a burst of 40 key messages, then 4 per second (a key change sends one per other participant). */
    static final int BURST = 40;
    static final double PER_SECOND = 4;

    private final ObjectMapper json;
    private final ClinicalSettings settings;

    public E2eeRelay(ObjectMapper json, ClinicalSettings settings) {
        this.json = json;
        this.settings = settings;
    }

    /** One socket's allowance of key messages (a token bucket); used from that socket's thread only. */
    public static final class Budget {
        private double tokens = BURST;
        private long lastNanos = System.nanoTime();

        boolean take() {
            long now = System.nanoTime();
            tokens = Math.min(BURST, tokens + (now - lastNanos) / 1e9 * PER_SECOND);
            lastNanos = now;
            if (tokens < 1) {
                return false;
            }
            tokens -= 1;
            return true;
        }
    }

    /** What {@code welcome} says about end-to-end encryption. */
    public void describeWelcome(ObjectNode welcome) {
        ObjectNode e = welcome.putObject("e2ee");
        e.put("enabled", settings.e2eeEnabled());
        e.put("allowDisable", settings.e2eeEnabled() && settings.e2eeAllowDisable());
    }

    /** Adds the participant's public key, once announced, to its description in welcome/participantJoined. */
    public static void describe(Participant p, ObjectNode node) {
        String key = p.e2eePublicKey();
        if (key != null) {
            node.put("e2eePublicKey", key);
        }
    }

    /**
     * {@code e2eeKey}: {@code from} announces its public key. Returns null when accepted (the others are told), else
     * {error code, message}.
     */
    public String[] onKey(Participant from, List<Participant> others, JsonNode msg, Budget budget) {
        if (!settings.e2eeEnabled()) {
            return new String[] {E2EE_DISABLED, "end-to-end encryption is off on this server"};
        }
        if (!budget.take()) {
            return tooFrequent();
        }
        JsonNode key = msg.get("publicKey");
        byte[] raw = key != null && key.isTextual() ? decode(key.asText(), 100) : null;
        if (raw == null || raw.length != PUBLIC_KEY_BYTES || raw[0] != 0x04) {
            return new String[] {E2EE_INVALID, "'publicKey' must be the base64 of an uncompressed P-256 point ("
                    + PUBLIC_KEY_BYTES + " bytes, starting with 0x04)"};
        }
        String text = key.asText();
        if (text.equals(from.e2eePublicKey())) {
            return null; // announced again (e.g. after a reconnect of the socket): nothing new to tell
        }
        from.setE2eePublicKey(text);
        ObjectNode n = json.createObjectNode();
        n.put("type", "e2eePublicKey");
        n.put("participantId", from.id());
        n.put("publicKey", text);
        String out = n.toString();
        for (Participant o : others) {
            o.connection().send(out);
        }
        return null;
    }

    /**
     * {@code e2eeMediaKey}: {@code from}'s media key, encrypted for the participant {@code to}, relayed to it alone.
     * Returns null when relayed, else {error code, message}.
     */
    public String[] onMediaKey(Participant from, List<Participant> consultation, JsonNode msg, Budget budget) {
        if (!settings.e2eeEnabled()) {
            return new String[] {E2EE_DISABLED, "end-to-end encryption is off on this server"};
        }
        if (!budget.take()) {
            return tooFrequent();
        }
        JsonNode to = msg.get("to");
        JsonNode ciphertext = msg.get("ciphertext");
        if (to == null || !to.isTextual() || ciphertext == null || !ciphertext.isTextual()) {
            return new String[] {E2EE_INVALID, "e2eeMediaKey needs string fields 'to' and 'ciphertext'"};
        }
        byte[] c = decode(ciphertext.asText(), 4 * MAX_CIPHERTEXT_BYTES / 3 + 4);
        if (c == null || c.length < MIN_CIPHERTEXT_BYTES || c.length > MAX_CIPHERTEXT_BYTES) {
            return new String[] {E2EE_INVALID, "'ciphertext' must be base64 of " + MIN_CIPHERTEXT_BYTES + " to "
                    + MAX_CIPHERTEXT_BYTES + " bytes"};
        }
        if (from.e2eePublicKey() == null) {
            return new String[] {E2EE_INVALID, "announce your public key (e2eeKey) first"};
        }
        Participant target = null;
        for (Participant p : consultation) {
            if (p != from && p.id().equals(to.asText())) {
                target = p;
            }
        }
        if (target == null || target.e2eePublicKey() == null) {
            return new String[] {E2EE_UNKNOWN_TARGET, target == null
                    ? "no other participant with that id in this consultation"
                    : "that participant has not announced a public key"};
        }
        ObjectNode n = json.createObjectNode();
        n.put("type", "e2eeMediaKey");
        n.put("from", from.id());
        n.put("ciphertext", ciphertext.asText());
        target.connection().send(n.toString());
        return null;
    }

    private static String[] tooFrequent() {
        return new String[] {E2EE_TOO_FREQUENT, "at most " + BURST + " key messages at once, then "
                + (int) PER_SECOND + " per second"};
    }

    /** Strict base64 (RFC 4648 §4, padding as btoa writes it); null when malformed or longer than maxChars. */
    private static byte[] decode(String text, int maxChars) {
        if (text.length() > maxChars) {
            return null;
        }
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
