package org.consultbridge.bridge.sdp;

/** One of the bridge's ICE candidates, as written into its SDP (RFC 8839 §5.1). */
public record IceCandidate(String foundation, int component, String transport, long priority, String address,
                           int port, String type, String tcpType) {

    /** The value of an a=candidate attribute. */
    public String toSdpValue() {
        StringBuilder sb = new StringBuilder();
        sb.append(foundation).append(' ').append(component).append(' ').append(transport).append(' ')
                .append(priority).append(' ').append(address).append(' ').append(port).append(" typ ").append(type);
        if (tcpType != null) {
            sb.append(" tcptype ").append(tcpType);
        }
        return sb.toString();
    }
}
