using System;
using System.IO;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Serve.TorchServe;

/// <summary>
/// The certificate of https listeners, from the keys TorchServe names: <c>keystore</c> (PKCS12,
/// with <c>keystore_pass</c>) or else <c>certificate_file</c> with <c>private_key_file</c> (PEM).
/// TorchServe falls back to a self-signed certificate when neither is given; this server refuses
/// to start instead, since a certificate nobody can verify teaches clients to skip verification.
/// </summary>
public static class ListenerCertificate
{
    /// <summary>Loads the certificate with its private key.</summary>
    /// <exception cref="ConfigPropertiesException">None is configured, or a file is missing or unreadable.</exception>
    public static X509Certificate2 Load(TorchServeConfig config)
    {
        X509Certificate2 certificate;
        if (config.Keystore is { } keystore)
        {
            Require(keystore, "keystore");
            try
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(keystore, config.KeystorePass);
            }
            catch (CryptographicException e)
            {
                throw new ConfigPropertiesException($"keystore={keystore} cannot be read as PKCS12 with keystore_pass ({e.Message.TrimEnd('.')}); check the file and the password.");
            }
            if (!certificate.HasPrivateKey)
            {
                certificate.Dispose();
                throw new ConfigPropertiesException($"keystore={keystore} holds a certificate without its private key; export it with the key (openssl pkcs12 -export -inkey ...).");
            }
            return certificate;
        }
        if (config.CertificateFile is { } certificateFile && config.PrivateKeyFile is { } privateKeyFile)
        {
            Require(certificateFile, "certificate_file");
            Require(privateKeyFile, "private_key_file");
            try
            {
                certificate = X509Certificate2.CreateFromPemFile(certificateFile, privateKeyFile);
            }
            catch (CryptographicException e)
            {
                throw new ConfigPropertiesException($"certificate_file={certificateFile} with private_key_file={privateKeyFile} is not a PEM certificate and its matching private key ({e.Message.TrimEnd('.')}).");
            }
            // SslStream on some platforms refuses a key that lives only in memory; a PKCS12 round trip gives it a usable key.
            using (certificate)
            {
                return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
            }
        }
        throw new ConfigPropertiesException(
            "An https address needs a certificate: set keystore (PKCS12, with keystore_pass) or certificate_file and private_key_file (PEM). " +
            "This server does not make a self-signed one as TorchServe does.");
    }

    private static void Require(string path, string key)
    {
        if (!File.Exists(path))
        {
            throw new ConfigPropertiesException($"{key}={path}: no such file ({Path.GetFullPath(path)}).");
        }
    }
}
