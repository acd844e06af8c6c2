package org.consultbridge.bridge.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.consultbridge.bridge.cc.TransportCcFeedback;
import org.consultbridge.bridge.rtp.H264Payload;
import org.consultbridge.bridge.rtp.RtpPacket;
import org.consultbridge.bridge.rtp.Vp8Payload;

/**
 * RTP header views (RFC 3550 §5.1, RFC 8285 extensions), the transport-wide sequence number element and the VP8
 * (RFC 7741) and H.264 (RFC 6184) payload readers on arbitrary packets. Contract: {@link RtpPacket#isValidRtp}
 * never throws; for a packet it accepts, every accessor stays inside the packet (the buffer is exactly the packet,
 * so a read outside throws IndexOutOfBoundsException), and the payload readers stay inside the payload (they get a
 * slice that is exactly the payload). Nothing allocates.
 */
class RtpPacketFuzzTest {

    @FuzzTest(maxDuration = "5s")
    void parse(byte[] packet) {
        ByteBuf b = Unpooled.wrappedBuffer(packet);
        FuzzBounds.allocationBounded("RTP views", 0, () -> read(b, packet.length));
    }

    private static void read(ByteBuf b, int packetLength) {
        if (!RtpPacket.isValidRtp(b)) {
            return;
        }
        RtpPacket.payloadType(b);
        RtpPacket.marker(b);
        RtpPacket.sequenceNumber(b);
        RtpPacket.timestamp(b);
        RtpPacket.ssrc(b);
        int header = RtpPacket.headerLength(b);
        int off = RtpPacket.payloadOffset(b);
        int len = RtpPacket.payloadLength(b);
        check(header >= RtpPacket.FIXED_HEADER && off == header, "header length");
        check(len >= 0 && off + len + RtpPacket.paddingLength(b) == packetLength, "payload inside the packet");
        for (int id = 0; id <= 255; id++) {
            int at = RtpPacket.findExtension(b, id);
            int extLen = RtpPacket.extensionLength(b, id);
            check((at < 0) == (extLen < 0), "extension offset and length agree");
            check(at < 0 || at >= RtpPacket.FIXED_HEADER && at + extLen <= header, "extension inside the header");
            TransportCcFeedback.readSequenceNumber(b, id);
        }
        ByteBuf payload = b.slice(off, len);
        int d = Vp8Payload.descriptorLength(payload, 0, len);
        check(d <= len, "VP8 descriptor inside the payload");
        Vp8Payload.isKeyframe(payload, 0, len);
        Vp8Payload.pictureId(payload, 0, len);
        Vp8Payload.tl0PicIdx(payload, 0, len);
        Vp8Payload.temporalLayer(payload, 0, len);
        int pid = Vp8Payload.pictureIdPosition(payload, 0, len);
        check(pid < 0 || pid < d, "picture id inside the descriptor");
        int tl0 = Vp8Payload.tl0PicIdxPosition(payload, 0, len);
        check(tl0 < 0 || tl0 < d, "TL0PICIDX inside the descriptor");
        H264Payload.isKeyframe(payload, 0, len);
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }
}
