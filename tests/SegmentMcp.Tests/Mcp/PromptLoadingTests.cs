using SegmentMcp.Mcp;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Mcp;

/// <summary>
/// Prompt templates are read whole when the server starts: a broken one names its file then, instead of failing a
/// client's prompts/list or prompts/get later with a bare "An error occurred".
/// </summary>
public sealed class PromptLoadingTests
{
    [Fact]
    public void The_shipped_prompts_load()
    {
        var prompts = new SegmentPrompts(McpTestData.PromptsDirectory());

        Assert.Equal(["audit_segment", "build_segment", "compare_segments", "explain_profile", "segments_report"], prompts.List().Prompts.Select(p => p.Name));
    }

    [Theory]
    [InlineData("config.json", "{not json", "config.json: not a Semantic Kernel prompt config")]
    [InlineData("config.json", """{ "name": "audit_segment", "input_variables": [ { "name": "catalog" } ] }""", "config.json: catalog are filled in by the server")]
    [InlineData("skprompt.txt", "Audit {{ audit }} now", "skprompt.txt: ")]
    [InlineData("skprompt.txt", null, "audit_segment: no skprompt.txt beside config.json")]
    public void A_broken_prompt_names_its_file(string file, string? content, string expected)
    {
        using var directory = new TemporaryDirectory();
        CopyPrompts(McpTestData.PromptsDirectory(), directory.Path);
        var path = Path.Combine(directory.Path, "audit_segment", file);
        if (content is null)
        {
            File.Delete(path);
        }
        else
        {
            File.WriteAllText(path, content);
        }

        var error = Assert.Throws<InvalidOperationException>(() => new SegmentPrompts(directory.Path));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.StartsWith(Path.Combine(directory.Path, "audit_segment"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_refuses_a_broken_prompts_directory_before_serving()
    {
        using var directory = new TemporaryDirectory();
        CopyPrompts(McpTestData.PromptsDirectory(), directory.Path);
        await File.WriteAllTextAsync(Path.Combine(directory.Path, "build_segment", "config.json"), "[]");

        var (exitCode, output, error) = await HostProcess.RunAsync(null, "serve", "--prompts", directory.Path, "--data", Path.Combine(directory.Path, "data"));

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.StartsWith($"segmentmcp serve: --prompts: {Path.Combine(directory.Path, "build_segment", "config.json")}: ", error, StringComparison.Ordinal);
    }

    private static void CopyPrompts(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
