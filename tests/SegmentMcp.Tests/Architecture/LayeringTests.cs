using System.Text.RegularExpressions;

namespace SegmentMcp.Tests.Architecture;

/// <summary>
/// Dependencies point one way: Mcp/Cli → App → Evaluation, Ingest → Storage → Sql → Dsl (Demo sits on Ingest). A file
/// of a layer may name only its own layer and lower ones, read from its using directives and qualified names.
/// </summary>
public sealed partial class LayeringTests
{
    /// <summary>Each folder of src/Core with its rank; a layer may depend on strictly lower ranks only.</summary>
    public static readonly Dictionary<string, int> Ranks = new(StringComparer.Ordinal)
    {
        ["Dsl"] = 0,
        ["Sql"] = 1,
        ["Storage"] = 2,
        ["Evaluation"] = 3,
        ["Ingest"] = 3,
        ["Demo"] = 4,
        ["App"] = 5,
    };

    public static TheoryData<string> CoreFiles() => [.. Directory
        .EnumerateFiles(Path.Combine(RepositoryRoot(), "src", "Core"), "*.cs", SearchOption.AllDirectories)
        .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
        .Select(f => Path.GetRelativePath(RepositoryRoot(), f))
        .Order(StringComparer.Ordinal)];

    [Fact]
    public void Every_core_folder_is_a_known_layer()
    {
        var folders = Directory.GetDirectories(Path.Combine(RepositoryRoot(), "src", "Core"))
            .Select(Path.GetFileName)
            .Where(name => name is not ("bin" or "obj"))
            .Order(StringComparer.Ordinal);
        Assert.Equal(Ranks.Keys.Order(StringComparer.Ordinal), folders);
    }

    [Theory]
    [MemberData(nameof(CoreFiles))]
    public void A_layer_names_only_itself_and_lower_layers(string file)
    {
        var parts = file.Split(Path.DirectorySeparatorChar);
        var layer = parts[2];
        Assert.True(Ranks.TryGetValue(layer, out var rank), $"{file}: not in a known layer");
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), file));

        Assert.DoesNotMatch(GlobalUsing(), text);
        Assert.Matches($"namespace SegmentMcp\\.Core\\.{layer}(\\.[A-Za-z]+)?;", text);
        foreach (Match reference in CoreReference().Matches(text))
        {
            var target = reference.Groups["layer"].Value;
            if (target == layer)
            {
                continue;
            }

            Assert.True(Ranks.TryGetValue(target, out var targetRank), $"{file}: names unknown layer {target}");
            Assert.True(targetRank < rank, $"{file} ({layer}) names {reference.Value.Trim()}, a layer that is not below it");
        }

        Assert.DoesNotMatch(HostReference(), text);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "SegmentMcp.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException("SegmentMcp.sln");
    }

    [GeneratedRegex(@"(?:SegmentMcp\.|\b)Core\.(?<layer>[A-Z][A-Za-z]+)\b")]
    private static partial Regex CoreReference();

    [GeneratedRegex(@"\bSegmentMcp\.(Mcp|Cli)\b")]
    private static partial Regex HostReference();

    [GeneratedRegex(@"^\s*global using", RegexOptions.Multiline)]
    private static partial Regex GlobalUsing();
}
