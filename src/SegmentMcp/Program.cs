using SegmentMcp.Cli;

return await CommandLine.RunAsync(args).ConfigureAwait(false);
