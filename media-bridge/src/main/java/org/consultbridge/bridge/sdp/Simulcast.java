package org.consultbridge.bridge.sdp;

import java.util.List;

/** a=simulcast (RFC 8853 §5.1): per direction, the layers, each a list of alternative rids ('~' prefix stripped). */
public record Simulcast(List<List<String>> send, List<List<String>> recv) {
}
