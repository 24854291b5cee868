using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;

namespace Serve.TorchServe.Tests;

/// <summary>One sample of Prometheus text: its name, labels and value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    /// <summary>Every sample in a scrape.</summary>
    public static IReadOnlyList<PrometheusSample> Parse(string text) =>
        text.Split('\n')
            .Select(line => Regex.Match(line, @"^(?<name>[A-Za-z_:][A-Za-z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)"))
            .Where(match => match.Success)
            .Select(match => new PrometheusSample(
                match.Groups["name"].Value,
                Regex.Matches(match.Groups["labels"].Value, @"(\w+)=""([^""]*)""").ToDictionary(label => label.Groups[1].Value, label => label.Groups[2].Value),
                double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)))
            .ToArray();
}
