package org.consultbridge.loadtest;

import io.netty.buffer.ByteBuf;

/** Where a receiver's feedback goes: the subscribe peer connection ({@link MediaPeer}), or a test's capture. */
interface RtcpSink {
    /** A pooled buffer with room for {@code size} bytes and the SRTCP trailer. */
    ByteBuf allocate(int size);

    /** Encrypts and queues one RTCP compound packet (takes ownership). */
    void sendRtcp(ByteBuf plain);

    void flush();

    boolean isConnected();
}
