package org.consultbridge.bridge.rtp;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.lang.management.ManagementFactory;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The per-packet codec work of forwarding (validate, read fields, find an extension, copy with rewriting, keyframe
 * check, receive statistics) allocates nothing: measured with the JVM's per-thread allocation counter.
 */
class ZeroAllocationTest {

    @Test
    void forwardingCodecPathDoesNotAllocate() {
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        ByteBuf src = Unpooled.wrappedBuffer(HexFormat.of().parseHex(
                "90e01234" + "00010203" + "aabbccdd" + "bede0002" + "1055004166770000" + "1050020000"));
        ByteBuf dst = Unpooled.buffer(256);
        byte[] map = new byte[256];
        map[4] = 2;
        RtpReceiveStatistics stats = new RtpReceiveStatistics(90000);
        long sink = 0;
        for (int i = 0; i < 20_000; i++) { // warm up: let the JIT compile (and escape-analyse) the path
            sink += run(src, dst, map, stats, i);
        }
        long before = mx.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 200_000; i++) {
            sink += run(src, dst, map, stats, i);
        }
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        assertThat(sink).isNotZero();
        assertThat(allocated).as("bytes allocated over 200k packets").isLessThan(4096);
    }

    private static long run(ByteBuf src, ByteBuf dst, byte[] map, RtpReceiveStatistics stats, int i) {
        if (!RtpPacket.isValidRtp(src)) {
            return 0;
        }
        dst.clear();
        int n = RtpRewriter.copyRewritten(src, dst, 96, i & 0xFFFF, RtpPacket.timestamp(src), 0x55L, map);
        stats.onPacket(i & 0xFFFF, 3000L * i, 33_000_000L * i);
        int off = RtpPacket.payloadOffset(src);
        boolean key = Vp8Payload.isKeyframe(src, off, RtpPacket.payloadLength(src));
        return n + RtpPacket.findExtension(src, 4) + (key ? 1 : 0) + RtpPacket.ssrc(src);
    }
}
