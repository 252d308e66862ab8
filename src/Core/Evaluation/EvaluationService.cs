using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.Evaluation;

/// <summary>
/// Runs an evaluator tick for all tenants every <see cref="EvaluatorOptions.EvaluateEverySeconds"/> seconds (0 = never).
/// A failed tick is logged and the next one repairs it; ticks never overlap (the evaluator serializes them, and the
/// timer skips beats that a long tick overran).
/// </summary>
public sealed class EvaluationService(ISegmentEvaluator evaluator, EvaluatorOptions options, ILogger<EvaluationService> logger) : BackgroundService
{
    /// <summary>Completed ticks since start (for health checks and tests).</summary>
    public int Ticks => ticks;

    private int ticks;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.EvaluateEverySeconds <= 0)
        {
            logger.LogInformation("Background evaluation is off (EvaluateEverySeconds = 0)");
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.EvaluateEverySeconds));
        do
        {
            try
            {
                await evaluator.TickAsync(null, null, null, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (ClickHouseException exception) when (exception.IsUnavailable)
            {
                // Not a fault of the tick: one line saying what to fix, not a stack trace every interval.
                logger.LogWarning("Background evaluation skipped, the engine is not available: {Reason}", exception.Message);
            }
            catch (Exception exception)
            {
                logger.LogError(exception, "Background evaluation tick failed; the next tick retries");
            }

            Interlocked.Increment(ref ticks);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
