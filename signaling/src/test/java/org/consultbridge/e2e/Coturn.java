package org.consultbridge.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.consultbridge.signaling.turn.TurnClient;
import org.consultbridge.turn.CoturnConfig;
import org.consultbridge.turn.TurnSettings;

/**
 * A real coturn ({@code turnserver}) started by a test as a child process with the configuration
 * {@link CoturnConfig} generates, and a throw-away self-signed certificate. The test chooses only where it listens
 * (address, ports, relay range) and the certificate's paths; every other line is the generated file as written.
 */
public final class Coturn implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(15);

    private final Process process;
    private final Path dir;
    private final TurnSettings settings;

    private Coturn(Process process, Path dir, TurnSettings settings) {
        this.process = process;
        this.dir = dir;
        this.settings = settings;
    }

    /** coturn's binary: {@code -Dcbt.turnserver}, else Debian's {@code /usr/bin/turnserver} or {@code /usr/sbin/}. */
    public static Optional<Path> binary() {
        List<Path> candidates = new ArrayList<>();
        String configured = System.getProperty("cbt.turnserver");
        if (configured != null) {
            candidates.add(Path.of(configured));
        }
        candidates.add(Path.of("/usr/bin/turnserver"));
        candidates.add(Path.of("/usr/sbin/turnserver"));
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    /**
     * Settings for a test coturn: {@code base} (the configuration's TURN section) listening on {@code address}
     * with free ports, a 200-port relay range, and a fresh self-signed certificate in {@code dir}.
     */
    public static TurnSettings forTest(TurnSettings base, String address, Path dir) {
        Path cert = dir.toAbsolutePath().resolve("cert.pem");
        Path key = dir.toAbsolutePath().resolve("key.pem");
        writeSelfSignedCertificate(cert, key, base.host());
        int port = freePort();
        int tlsPort = freePort();
        int minPort = 20000 + 200 * ThreadLocalRandom.current().nextInt(100);
        return base.withListening(List.of(address), port, tlsPort, minPort, minPort + 199)
                .withCertificate(cert.toString(), key.toString());
    }

    /** Writes {@code dir/turnserver.conf} and starts coturn on it; returns once it answers a STUN Binding. */
    public static Coturn start(TurnSettings settings, Path dir) {
        Path binary = binary().orElseThrow(() -> new IllegalStateException("coturn is not installed"));
        Path conf = dir.resolve("turnserver.conf");
        Path log = dir.resolve("coturn.log");
        try {
            Files.writeString(conf, CoturnConfig.render(settings));
            Process p = new ProcessBuilder(binary.toString(), "-c", conf.toString(),
                    "--pidfile", dir.resolve("turnserver.pid").toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Coturn coturn = new Coturn(p, dir, settings);
            coturn.awaitReady();
            return coturn;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start coturn in " + dir, e);
        }
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        InetSocketAddress udp = new InetSocketAddress(settings.listeningIps().getFirst(), settings.port());
        while (true) {
            if (!process.isAlive()) {
                throw new IllegalStateException("coturn exited with " + process.exitValue() + ":\n" + log());
            }
            try (TurnClient c = new TurnClient(udp, "-", "-", Duration.ofMillis(500))) {
                c.binding();
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    close();
                    throw new IllegalStateException("coturn did not answer a STUN Binding on " + udp + ":\n" + log());
                }
            }
        }
    }

    public TurnSettings settings() {
        return settings;
    }

    /** UDP/TCP listening address of the plain port. */
    public InetSocketAddress udpAddress() {
        return new InetSocketAddress(settings.listeningIps().getFirst(), settings.port());
    }

    /** What coturn printed so far. */
    public String log() {
        try {
            return Files.readString(dir.resolve("coturn.log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A throw-away ECDSA P-256 certificate for {@code name}, valid one day, PEM. */
    static void writeSelfSignedCertificate(Path certFile, Path keyFile, String name) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair kp = g.generateKeyPair();
            X500Name subject = new X500Name("CN=" + name);
            Instant now = Instant.now();
            X509CertificateHolder cert = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(now.toEpochMilli()),
                    Date.from(now.minusSeconds(60)), Date.from(now.plus(Duration.ofDays(1))), subject, kp.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate()));
            try (Writer w = Files.newBufferedWriter(certFile); JcaPEMWriter pem = new JcaPEMWriter(w)) {
                pem.writeObject(cert);
            }
            try (Writer w = Files.newBufferedWriter(keyFile); JcaPEMWriter pem = new JcaPEMWriter(w)) {
                pem.writeObject(new JcaPKCS8Generator(kp.getPrivate(), null)); // PKCS#8, with the curve
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot make a test certificate", e);
        }
    }
}
