package org.consultbridge.signaling.tls;

import java.io.IOException;
import java.io.Reader;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The HTTPS certificate and key, as an in-memory PKCS#12 key store for Jetty: read from a PKCS#12 file, from PEM
 * files (BouncyCastle's PEM parser: the JDK reads no PEM keys), or generated at start (ECDSA P-256, SHA-256, one
 * day before now to 90 days after, subjectAltName = localhost, 127.0.0.1, ::1 and the given names/addresses).
 */
public final class ServerCertificate {

    public static final String ALIAS = "consultbridge";
    private final KeyStore keyStore;
    private final char[] password;
    private final X509Certificate leaf;
    private final boolean selfSigned;

    private ServerCertificate(KeyStore keyStore, char[] password, X509Certificate leaf, boolean selfSigned) {
        this.keyStore = keyStore;
        this.password = password;
        this.leaf = leaf;
        this.selfSigned = selfSigned;
    }

    /** From the settings: the configured key store or PEM files, else a self-signed certificate for {@code names}. */
    public static ServerCertificate load(TlsSettings s, List<String> names) throws IOException,
            GeneralSecurityException {
        if (!s.keystore().isEmpty()) {
            char[] pw = s.keystorePassword().toCharArray();
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(Path.of(s.keystore()))) {
                ks.load(in, pw);
            }
            String alias = null;
            for (String a : java.util.Collections.list(ks.aliases())) {
                if (ks.isKeyEntry(a)) {
                    alias = a;
                    break;
                }
            }
            if (alias == null) {
                throw new GeneralSecurityException(s.keystore() + " holds no private key");
            }
            return new ServerCertificate(ks, pw, (X509Certificate) ks.getCertificate(alias), false);
        }
        if (!s.certFile().isEmpty()) {
            return fromPem(Path.of(s.certFile()), Path.of(s.keyFile()));
        }
        return selfSigned(names);
    }

    static ServerCertificate fromPem(Path certFile, Path keyFile) throws IOException, GeneralSecurityException {
        JcaX509CertificateConverter certs = new JcaX509CertificateConverter();
        List<X509Certificate> chain = new ArrayList<>();
        try (Reader r = Files.newBufferedReader(certFile); PEMParser p = new PEMParser(r)) {
            for (Object o = p.readObject(); o != null; o = p.readObject()) {
                if (o instanceof X509CertificateHolder h) {
                    chain.add(certs.getCertificate(h));
                }
            }
        }
        if (chain.isEmpty()) {
            throw new GeneralSecurityException(certFile + " holds no PEM certificate");
        }
        PrivateKey key;
        try (Reader r = Files.newBufferedReader(keyFile); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            if (o instanceof PEMKeyPair kp) {
                key = conv.getPrivateKey(kp.getPrivateKeyInfo());
            } else if (o instanceof PrivateKeyInfo info) {
                key = conv.getPrivateKey(info);
            } else {
                throw new GeneralSecurityException(keyFile + " holds no unencrypted PEM private key");
            }
        }
        return inMemory(key, chain.toArray(new X509Certificate[0]), false);
    }

    /** A fresh self-signed ECDSA P-256 certificate for localhost, the loopback addresses and {@code names}. */
    public static ServerCertificate selfSigned(List<String> names) throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        KeyPair kp = g.generateKeyPair();
        Set<String> all = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "::1"));
        for (String n : names) {
            if (n != null && !n.isBlank()) {
                all.add(n.strip().toLowerCase(Locale.ROOT));
            }
        }
        List<GeneralName> san = new ArrayList<>();
        for (String n : all) {
            boolean ip = n.indexOf(':') >= 0 || n.matches("\\d{1,3}(\\.\\d{1,3}){3}");
            san.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, n));
        }
        Instant now = Instant.now();
        X500Name subject = new X500Name("CN=ConsultBridge self-signed (" + all.iterator().next() + ")");
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject,
                new BigInteger(64, new SecureRandom()).abs().add(BigInteger.ONE),
                Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(90))), subject,
                kp.getPublic());
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(san.toArray(new GeneralName[0])));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
            return inMemory(kp.getPrivate(), new X509Certificate[] {cert}, true);
        } catch (IOException | OperatorCreationException e) {
            throw new GeneralSecurityException("generating the self-signed certificate failed", e);
        }
    }

    private static ServerCertificate inMemory(PrivateKey key, X509Certificate[] chain, boolean selfSigned)
            throws GeneralSecurityException {
        char[] pw = HexFormat.of().formatHex(randomBytes()).toCharArray(); // the store never leaves memory
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try {
            ks.load(null, pw);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        ks.setKeyEntry(ALIAS, key, pw, (Certificate[]) chain);
        return new ServerCertificate(ks, pw, chain[0], selfSigned);
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[16];
        new SecureRandom().nextBytes(b);
        return b;
    }

    public KeyStore keyStore() {
        return keyStore;
    }

    public String password() {
        return new String(password);
    }

    public X509Certificate certificate() {
        return leaf;
    }

    public boolean isSelfSigned() {
        return selfSigned;
    }

    /** SHA-256 of the DER certificate, colon-separated hex (what browsers show). */
    public String sha256Fingerprint() {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(leaf.getEncoded());
            return HexFormat.ofDelimiter(":").withUpperCase().formatHex(d);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether {@code address} is among the certificate's subjectAltNames (tests). */
    public boolean covers(InetAddress address) throws GeneralSecurityException {
        var sans = leaf.getSubjectAlternativeNames();
        if (sans == null) {
            return false;
        }
        for (List<?> e : sans) {
            if (((Integer) e.get(0)) == GeneralName.iPAddress) {
                try {
                    if (InetAddress.getByName((String) e.get(1)).equals(address)) {
                        return true;
                    }
                } catch (java.net.UnknownHostException ignored) {
                    // not an address
                }
            }
        }
        return false;
    }
}
