package org.consultbridge.bridge.srtp;

import io.netty.buffer.ByteBuf;
import org.jitsi.utils.ByteArrayBuffer;

/**
 * jitsi-srtp's view of a packet, over the backing array of a heap {@link ByteBuf}: offset and length track the
 * buffer's readable bytes; growth (an appended tag) may use the buffer's free capacity but never reallocates.
 * Reused for every packet, so the packet path allocates nothing.
 */
final class ByteBufArray implements ByteArrayBuffer {

    private byte[] array;
    private int offset;
    private int length;
    /** Array index one past the last byte the buffer owns. */
    private int limit;
    private boolean invalid;

    void wrap(ByteBuf b) {
        array = b.array();
        offset = b.arrayOffset() + b.readerIndex();
        length = b.readableBytes();
        limit = b.arrayOffset() + b.capacity();
        invalid = false;
    }

    /** Writes the new extent back into the buffer; false if the transform went out of bounds. */
    boolean commit(ByteBuf b) {
        if (invalid) {
            return false;
        }
        int reader = offset - b.arrayOffset();
        b.setIndex(reader, reader + length);
        return true;
    }

    @Override
    public byte[] getBuffer() {
        return array;
    }

    @Override
    public int getOffset() {
        return offset;
    }

    @Override
    public int getLength() {
        return length;
    }

    @Override
    public void setLength(int len) {
        if (len < 0 || offset + len > limit) {
            invalid = true;
            return;
        }
        length = len;
    }

    @Override
    public void setOffset(int off) {
        if (off < 0 || off + length > limit) {
            invalid = true;
            return;
        }
        offset = off;
    }

    @Override
    public boolean isInvalid() {
        return invalid;
    }

    @Override
    public void readRegionToBuff(int off, int len, byte[] out) {
        System.arraycopy(array, offset + off, out, 0, len);
    }

    @Override
    public void grow(int howMuch) {
        if (offset + length + howMuch > limit) {
            invalid = true; // callers reserve SrtpTransformer.MAX_TRAILER; never reallocate under Netty's feet
        }
    }

    @Override
    public void append(byte[] data, int len) {
        if (offset + length + len > limit) {
            invalid = true;
            return;
        }
        System.arraycopy(data, 0, array, offset + length, len);
        length += len;
    }

    @Override
    public void shrink(int len) {
        if (len > 0 && len <= length) {
            length -= len;
        }
    }
}
