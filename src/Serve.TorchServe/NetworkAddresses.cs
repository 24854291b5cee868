using System.Net;
using System.Net.Sockets;

namespace Serve.TorchServe;

/// <summary>
/// Which addresses a registration may download from under the default <c>allowed_urls</c>: public
/// ones only. Loopback, private, link-local (cloud metadata at 169.254.169.254), shared, multicast
/// and unspecified addresses would let a registration reach the server's own listeners and its
/// network (TorchServe's ShellTorch, CVE-2023-43654).
/// </summary>
public static class NetworkAddresses
{
    /// <summary>True for an address on the public internet.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return false;
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 0                                   // "this network"
                || b[0] == 10                                    // private
                || (b[0] == 100 && (b[1] & 0xC0) == 64)          // shared (carrier-grade NAT)
                || (b[0] == 169 && b[1] == 254)                  // link-local, cloud metadata
                || (b[0] == 172 && (b[1] & 0xF0) == 16)          // private
                || (b[0] == 192 && b[1] == 0 && b[2] == 0)       // IETF protocol assignments
                || (b[0] == 192 && b[1] == 168)                  // private
                || (b[0] == 198 && (b[1] & 0xFE) == 18)          // benchmarking
                || b[0] >= 224);                                 // multicast, reserved
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
                || (b[0] & 0xFE) == 0xFC                         // unique local (fc00::/7)
                || address.IsIPv6Teredo
                || (b[0] == 0x20 && b[1] == 0x02)                // 6to4, which can wrap a private IPv4 address
                || (b[0] == 0 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B)); // NAT64, likewise
        }
        return false;
    }
}
