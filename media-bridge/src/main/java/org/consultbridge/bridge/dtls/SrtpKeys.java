package org.consultbridge.bridge.dtls;

/**
 * SRTP master keys and salts exported from DTLS (RFC 5764 §4.2): the client writes with the client key/salt, the
 * server with the server key/salt.
 */
public record SrtpKeys(SrtpProfile profile, byte[] clientKey, byte[] clientSalt, byte[] serverKey, byte[] serverSalt) {

    /** Splits exporter output laid out as client_key | server_key | client_salt | server_salt. */
    public static SrtpKeys fromKeyingMaterial(SrtpProfile profile, byte[] material) {
        int k = profile.keyLength();
        int s = profile.saltLength();
        if (material.length != 2 * (k + s)) {
            throw new IllegalArgumentException("keying material of " + material.length + " bytes for " + profile);
        }
        byte[] ck = new byte[k];
        byte[] sk = new byte[k];
        byte[] cs = new byte[s];
        byte[] ss = new byte[s];
        System.arraycopy(material, 0, ck, 0, k);
        System.arraycopy(material, k, sk, 0, k);
        System.arraycopy(material, 2 * k, cs, 0, s);
        System.arraycopy(material, 2 * k + s, ss, 0, s);
        return new SrtpKeys(profile, ck, cs, sk, ss);
    }

    public byte[] localKey(DtlsRole r) {
        return r == DtlsRole.CLIENT ? clientKey : serverKey;
    }

    public byte[] localSalt(DtlsRole r) {
        return r == DtlsRole.CLIENT ? clientSalt : serverSalt;
    }

    public byte[] remoteKey(DtlsRole r) {
        return r == DtlsRole.CLIENT ? serverKey : clientKey;
    }

    public byte[] remoteSalt(DtlsRole r) {
        return r == DtlsRole.CLIENT ? serverSalt : clientSalt;
    }
}
