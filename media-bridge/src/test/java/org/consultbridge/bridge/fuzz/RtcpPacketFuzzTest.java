package org.consultbridge.bridge.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.consultbridge.bridge.cc.TransportCcFeedback;
import org.consultbridge.bridge.rtcp.RtcpPacket;

/**
 * RTCP compound packets (RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3.1) and transport-cc feedback
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1). Contract: {@link RtcpPacket#isValidCompound} never
 * throws; in a compound it accepts, the accessors the bridge uses for each packet type stay inside that packet
 * (each is read from a slice that is exactly the packet); {@link TransportCcFeedback#parse} never throws, reports
 * exactly {@code statusCount} statuses of a packet it accepts and nothing of one it refuses. Nothing allocates.
 */
class RtcpPacketFuzzTest {

    @FuzzTest(maxDuration = "5s")
    void parseCompound(byte[] compound) {
        ByteBuf b = Unpooled.wrappedBuffer(compound);
        FuzzBounds.allocationBounded("RTCP views", 0, () -> read(b, compound.length));
    }

    private static void read(ByteBuf b, int length) {
        RtcpPacket.isRtcp(b);
        // transport-cc feedback is validated on its own (the estimator calls it on the packet's offset)
        feedback(b, 0);
        if (!RtcpPacket.isValidCompound(b)) {
            return;
        }
        int off = 0;
        while (off < length) {
            int len = RtcpPacket.lengthBytes(b, off);
            ByteBuf p = b.slice(off, len);
            readPacket(p);
            feedback(p, 0);
            off += len;
        }
        check(off == length, "lengths add up");
    }

    private static void readPacket(ByteBuf p) {
        int type = RtcpPacket.packetType(p, 0);
        int fmt = RtcpPacket.fmt(p, 0);
        if (p.capacity() >= 8) { // BYE and SDES with no item are 4 bytes (RFC 3550 §6.5, §6.6): no SSRC to read
            RtcpPacket.senderSsrc(p, 0);
        }
        if (type == RtcpPacket.SR) {
            RtcpPacket.srNtp(p, 0);
            RtcpPacket.srRtpTimestamp(p, 0);
            RtcpPacket.srPacketCount(p, 0);
            RtcpPacket.srOctetCount(p, 0);
        }
        for (int i = 0; i < RtcpPacket.reportBlockCount(p, 0); i++) {
            int rb = RtcpPacket.reportBlockOffset(p, 0, i);
            RtcpPacket.rbSsrc(p, rb);
            RtcpPacket.rbFractionLost(p, rb);
            RtcpPacket.rbCumulativeLost(p, rb);
            RtcpPacket.rbExtHighestSeq(p, rb);
            RtcpPacket.rbJitter(p, rb);
            RtcpPacket.rbLsr(p, rb);
            RtcpPacket.rbDlsr(p, rb);
        }
        if (type == RtcpPacket.RTPFB || type == RtcpPacket.PSFB) {
            RtcpPacket.mediaSsrc(p, 0);
        }
        if (type == RtcpPacket.RTPFB && fmt == 1) {
            for (int i = 0; i < RtcpPacket.nackCount(p, 0); i++) {
                RtcpPacket.nackPid(p, 0, i);
                RtcpPacket.nackBlp(p, 0, i);
            }
        }
        if (type == RtcpPacket.PSFB && fmt == 4) {
            for (int i = 0; i < RtcpPacket.firEntries(p, 0); i++) {
                RtcpPacket.firSsrc(p, 0, i);
                RtcpPacket.firSeqNr(p, 0, i);
            }
        }
    }

    private static void feedback(ByteBuf b, int off) {
        int[] header = {-1};
        int[] statuses = {0};
        boolean ok = TransportCcFeedback.parse(b, off, new TransportCcFeedback.Visitor() {
            @Override
            public void onHeader(long senderSsrc, long mediaSsrc, int baseSeq, int statusCount, int referenceTime,
                                 int feedbackCount) {
                header[0] = statusCount;
            }

            @Override
            public void onStatus(int seq, boolean received, long arrivalUs) {
                statuses[0]++;
            }
        });
        check(ok ? header[0] == statuses[0] : header[0] == -1 && statuses[0] == 0, "transport-cc statuses");
        if (ok) {
            TransportCcFeedback.referenceTimeUs(b, off);
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }
}
