using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.Evaluation;

/// <summary>
/// The two-phase incremental evaluator. A tick brings every saved segment of a tenant to one evaluation time t1,
/// segments that reference others after those (dependency levels). Per level: phase 1 finds each segment's
/// candidates (<see cref="CandidateQuery"/>), chunks them onto an <see cref="IChunkQueue"/>; phase 2 runs
/// <see cref="EvaluatorOptions.Workers"/> workers that evaluate the compiled segment restricted to a chunk, diff it
/// against stored membership and hand the transitions to a <see cref="ChangeWriter"/>, which writes those of several
/// chunks together (<see cref="IMembershipStore.WriteChangesAsync"/>). A segment's state (evaluation time, ingestion
/// watermark, size) advances only once all its chunks are written; a failure leaves it where it was, and the next tick
/// re-derives the same candidates from the old state and repairs.
/// </summary>
public sealed class SegmentEvaluator : ISegmentEvaluator, IAsyncDisposable, IDisposable
{
    private readonly IClickHouseEngine engine;
    private readonly StorageSchema schema;
    private readonly EvaluatorOptions options;
    private readonly ILogger logger;
    private readonly IChunkQueueFactory queues;
    private readonly ISegmentStateStore segments;
    private readonly IMembershipStore membership;
    private readonly CurrentTraitsRefresher currentTraits;
    private readonly ProfileTimelinesRefresher? timelines;

    /// <summary>
    /// After a purge of deleted segments fails, how long this evaluator leaves the tenant's purge alone: a failing step
    /// would otherwise repeat the steps before it (a full read of the membership lookup) on every tick.
    /// </summary>
    internal static readonly TimeSpan PurgeRetryDelay = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, DateTime> purgeRetryAfter = new(StringComparer.Ordinal);

    /// <summary>One tick at a time per tenant; tenants never wait for each other.</summary>
    private readonly ConcurrentDictionary<string, SemaphoreSlim> tenantLocks = new(StringComparer.Ordinal);

    private readonly QueryEstimates estimates;

    /// <summary>The timelines refresh the last tick left running (<see cref="EvaluatorOptions.RefreshTimelinesAfterTick"/>).</summary>
    private Task<ulong> afterTick = Task.FromResult(0UL);

    private readonly Lock afterTickLock = new();
    private readonly CancellationTokenSource disposing = new();

    /// <summary>An evaluator over the engine's own <see cref="SegmentStore"/> and <see cref="MembershipStore"/>.</summary>
    public SegmentEvaluator(
        IClickHouseEngine engine,
        StorageSchema schema,
        EvaluatorOptions? options = null,
        ILogger<SegmentEvaluator>? logger = null,
        IChunkQueueFactory? queues = null)
        : this(engine, schema, new SegmentStore(engine, schema), new MembershipStore(engine, schema), options, logger, queues)
    {
    }

    /// <summary>
    /// An evaluator that runs its segment queries on <paramref name="engine"/> and keeps evaluation state and membership
    /// in the given stores.
    /// </summary>
    public SegmentEvaluator(
        IClickHouseEngine engine,
        StorageSchema schema,
        ISegmentStateStore segments,
        IMembershipStore membership,
        EvaluatorOptions? options = null,
        ILogger<SegmentEvaluator>? logger = null,
        IChunkQueueFactory? queues = null,
        QueryEstimates? estimates = null)
    {
        this.engine = engine;
        this.estimates = estimates ?? new QueryEstimates();
        this.schema = schema;
        this.segments = segments;
        this.membership = membership;
        currentTraits = new CurrentTraitsRefresher(engine, schema);
        timelines = schema.HasKeyValueTables ? new ProfileTimelinesRefresher(engine, schema) : null;
        this.options = options ?? new EvaluatorOptions();
        this.options.Validate();
        this.logger = (ILogger?)logger ?? NullLogger.Instance;
        this.queues = queues ?? ChannelChunkQueue.Factory.Instance;
    }

    /// <summary>Test hook: runs after a chunk's log rows are written and before its membership rows.</summary>
    internal Func<ChunkWork, ValueTask>? AfterLogWritten { get; set; }

    /// <summary>Test hook: runs when a worker takes a chunk, before it queries.</summary>
    internal Func<ChunkWork, ValueTask>? BeforeChunk { get; set; }

    /// <summary>Test hook: runs when the tick's refresh of the timelines and current values starts, before its statements.</summary>
    internal Func<ValueTask>? BeforeReadStructuresRefresh { get; set; }

    /// <summary>Test hook: a shared statement of several segments' chunks failed (they then ran one by one).</summary>
    internal Action<Exception>? TogetherFailed { get; set; }

    /// <summary>
    /// How far past the engine's clock an explicit evaluation time may lie (clocks of client and server differ a
    /// little). Stored evaluation times only move forward, so one in the future would freeze a segment until then.
    /// </summary>
    public static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(5);

    public async Task<TickReport> TickAsync(string? tenant, DateTime? asOf, IProgress<TickProgress>? progress, CancellationToken cancellationToken)
    {
        var t1 = IsoTime.Truncate(asOf ?? DateTime.UtcNow);
        if (t1.Kind == DateTimeKind.Local)
        {
            throw new ArgumentException("asOf must be UTC.", nameof(asOf));
        }

        var tick = new Tick(t1);

        // The tick's working set should not sit on memory the engine or the managed heap freed before it (a preview, an
        // import, the previous tick): released beside the first reads, which are small, and before any level starts.
        var released = Task.WhenAll(engine.ReleaseFreedMemoryAsync(cancellationToken), Task.Run(ReleaseManagedMemory, cancellationToken));
        var reading = ReadStartAsync(tenant, cancellationToken);
        await Task.WhenAll(released, reading).ConfigureAwait(false);
        var (tenants, clock) = await reading.ConfigureAwait(false);
        var databaseNow = clock.Now;
        if (asOf is not null && t1 > databaseNow + options.FutureAllowance)
        {
            throw new ArgumentOutOfRangeException(
                nameof(asOf),
                $"{IsoTime.Format(t1)} is in the future (the engine's clock says {IsoTime.Format(databaseNow)}); saved segments are evaluated up to now at the latest.");
        }

        var watermark = clock.Watermark - options.IngestLag;
        foreach (var name in tenants)
        {
            var tenantLock = tenantLocks.GetOrAdd(name, _ => new SemaphoreSlim(1, 1));
            await tenantLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await TickTenantAsync(tick, name, watermark, databaseNow, progress, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                tenantLock.Release();
            }
        }

        // A host ticks every few minutes: what the tick freed goes back to the system now, not in ten seconds' time.
        await engine.ReleaseFreedMemoryAsync(cancellationToken).ConfigureAwait(false);
        if (options.RefreshTimelinesAfterTick && timelines is not null)
        {
            RefreshTimelinesAfterTick(tenants);
        }

        var report = tick.Report();
        var s = report.Statistics;
        logger.LogInformation(
            "Tick at {EvaluatedAt:O}: {Segments} segments, {Candidates} candidates in {Chunks} chunks, {Entered} entered, {Exited} exited, {RowsRead} rows read; phase 1 {Phase1} ms, phase 2 {Phase2} ms",
            t1, report.Segments.Count, s.Candidates, s.Chunks, s.Entered, s.Exited, s.RowsRead, (long)s.Phase1.TotalMilliseconds, (long)s.Phase2.TotalMilliseconds);
        if (!tick.Failures.IsEmpty)
        {
            throw new TickFailedException(report, new Dictionary<string, Exception>(tick.Failures, StringComparer.Ordinal));
        }

        return report;
    }

    /// <summary>
    /// How far the managed heap's committed memory may grow above what the last release left before a tick starts with
    /// a compacting collection that returns the free part to the system. The workstation collector keeps what earlier
    /// work committed (previews, imports, the previous tick's lists and result buffers); a heap that is simply large
    /// stays the new floor, so its ticks do not each pay a full collection.
    /// </summary>
    internal const long ManagedReleaseThreshold = 64L * 1024 * 1024;

    /// <summary>Committed managed memory after the last release (process-wide: the heap is).</summary>
    private static long managedFloor;

    /// <summary>Committed managed memory after the last release: a tick releases once the heap grew <see cref="ManagedReleaseThreshold"/> above it.</summary>
    internal static long ManagedReleaseFloor => Volatile.Read(ref managedFloor);

    private static void ReleaseManagedMemory()
    {
        if (GC.GetGCMemoryInfo().TotalCommittedBytes > Volatile.Read(ref managedFloor) + ManagedReleaseThreshold)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            Volatile.Write(ref managedFloor, GC.GetGCMemoryInfo().TotalCommittedBytes);
        }
    }

    /// <summary>The tenants a tick evaluates and the engine's clock and ingestion watermark.</summary>
    private async Task<(IReadOnlyList<string> Tenants, IngestInstant Clock)> ReadStartAsync(string? tenant, CancellationToken cancellationToken)
    {
        var tenants = tenant is null ? await segments.TenantsAsync(cancellationToken).ConfigureAwait(false) : [tenant];
        return (tenants, await IngestClock.ReadAsync(engine, schema, cancellationToken).ConfigureAwait(false));
    }

    private async Task TickTenantAsync(Tick tick, string tenant, DateTime watermark, DateTime databaseNow, IProgress<TickProgress>? progress, CancellationToken cancellationToken)
    {
        var reading = segments.LiveVersionsAsync(tenant, cancellationToken);
        var states = await segments.StatesAsync(tenant, null, cancellationToken).ConfigureAwait(false);
        var rows = await reading.ConfigureAwait(false);

        // Not needed for correctness, only for speed: phase 2 reads its candidates' rows from the timelines and property
        // values from the current-value table (anything newer than either is read from the history). Phase 1 reads
        // only the history, so both refreshes run beside the first level's phase 1 and are awaited before its phase 2;
        // the timelines first, since the current values' refresh reads the changed profiles' history through them.
        var currentValues = rows.Count > 0 ? Task.Run(() => RefreshReadStructuresAsync(tick, tenant, cancellationToken), cancellationToken) : Task.CompletedTask;

        try
        {
            await EvaluateLevelsAsync(tick, tenant, watermark, databaseNow, rows, states, currentValues, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // A refresh never outlives its tick; when the levels failed first, theirs is the error reported.
            await Task.WhenAny(currentValues).ConfigureAwait(false);
            _ = currentValues.Exception;
        }

        await currentValues.ConfigureAwait(false);

        await PurgeDeletedAsync(tick, tenant, rows, states, cancellationToken).ConfigureAwait(false);
    }

    private async Task RefreshReadStructuresAsync(Tick tick, string tenant, CancellationToken cancellationToken)
    {
        if (BeforeReadStructuresRefresh is { } before)
        {
            await before().ConfigureAwait(false);
        }

        if (timelines is not null && !options.RefreshTimelinesAfterTick)
        {
            // The timelines once enough rows are behind them (TimelinesRefreshShare).
            tick.AddRows((await timelines.RefreshWhenBehindAsync(tenant, options.TimelinesRefreshShare, cancellationToken).ConfigureAwait(false)).RowsRead);

            // The refresh's blocks of whole histories are freed by now; what follows should not stack on them.
            await engine.ReleaseFreedMemoryAsync(cancellationToken).ConfigureAwait(false);
        }

        var refreshed = await currentTraits.RefreshAsync(tenant, cancellationToken).ConfigureAwait(false);
        tick.AddRows(refreshed.RowsRead);
    }

    /// <summary>
    /// The timelines refresh that <see cref="EvaluatorOptions.RefreshTimelinesAfterTick"/> moves out of the tick; completed
    /// when none runs; its result is the rows it read. Benchmarks and tests await it.
    /// </summary>
    public Task<ulong> TimelinesRefreshAfterTick
    {
        get
        {
            lock (afterTickLock)
            {
                return afterTick;
            }
        }
    }

    /// <summary>Starts the after-tick refresh of <paramref name="tenants"/>, unless the previous one still runs (the next tick starts another).</summary>
    private void RefreshTimelinesAfterTick(IReadOnlyList<string> tenants)
    {
        lock (afterTickLock)
        {
            if (!afterTick.IsCompleted || disposing.IsCancellationRequested)
            {
                return;
            }

            afterTick = Task.Run(() => RefreshTimelinesAsync(tenants, disposing.Token));
        }
    }

    private async Task<ulong> RefreshTimelinesAsync(IReadOnlyList<string> tenants, CancellationToken cancellationToken)
    {
        var rowsRead = 0UL;
        foreach (var tenant in tenants)
        {
            // Holding the tenant as a tick does: the refresh's whole-history blocks never stack on a tick's working set.
            var tenantLock = tenantLocks.GetOrAdd(tenant, _ => new SemaphoreSlim(1, 1));
            try
            {
                await tenantLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return rowsRead;
            }

            try
            {
                var refresh = await timelines!.RefreshWhenBehindAsync(tenant, options.TimelinesRefreshShare, cancellationToken).ConfigureAwait(false);
                rowsRead += refresh.RowsRead;
                await engine.ReleaseFreedMemoryAsync(cancellationToken).ConfigureAwait(false);
                if (refresh.DeferredRows is null)
                {
                    logger.LogInformation("Profile timelines of {Tenant} brought up to date after the tick: {RowsRead} rows read", tenant, refresh.RowsRead);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return rowsRead;
            }
            catch (Exception exception)
            {
                // Only a matter of speed: the next tick reads the rows behind from the history and tries again after it.
                logger.LogWarning(exception, "Bringing the profile timelines of {Tenant} up to date after the tick failed", tenant);
            }
            finally
            {
                tenantLock.Release();
            }
        }

        return rowsRead;
    }

    /// <summary>Stops an after-tick refresh under way (a refresh cut short is repeated by the next) and waits for it.</summary>
    public async ValueTask DisposeAsync()
    {
        Task<ulong> running;
        lock (afterTickLock)
        {
            running = afterTick;
            if (!disposing.IsCancellationRequested)
            {
                disposing.Cancel();
            }
        }

        await running.ConfigureAwait(false);
        disposing.Dispose();
    }

    /// <summary>For a container disposed synchronously: <see cref="DisposeAsync"/>, waited for.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task EvaluateLevelsAsync(
        Tick tick,
        string tenant,
        DateTime watermark,
        DateTime databaseNow,
        IReadOnlyList<SegmentVersion> rows,
        IReadOnlyDictionary<string, SegmentState> states,
        Task currentValues,
        IProgress<TickProgress>? progress,
        CancellationToken cancellationToken)
    {
        var definitions = new Dictionary<string, SegmentDefinition>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var parsed = SegmentDefinitionJson.Parse(row.DefinitionJson);
            if (parsed.Definition is null)
            {
                tick.Fail(tenant, row.SegmentId, new InvalidOperationException("The saved definition no longer parses: " + string.Join("; ", parsed.Errors)));
                continue;
            }

            definitions[row.SegmentId] = parsed.Definition;
        }

        // Definitions saved before the inlining limits existed (or grown through a reference since) are not compiled:
        // they would cost the engine unbounded parsing and memory on every tick.
        var oversized = definitions
            .Select(d => (d.Key, Errors: ReferenceExpansion.Check(d.Value.Condition, definitions.GetValueOrDefault)))
            .Where(d => d.Errors.Count > 0)
            .ToList();
        foreach (var (id, errors) in oversized)
        {
            tick.Fail(tenant, id, new InvalidOperationException(string.Join(" ", errors.Select(e => e.ToString()))));
            definitions.Remove(id);
        }

        // A referencing segment waits for its references only when one of its chain takes a new definition this tick
        // (see CandidateQuery.PhaseOneSegment): otherwise it runs beside them.
        var liveVersions = rows.ToDictionary(r => r.SegmentId, r => r.Version, StringComparer.Ordinal);
        bool Settled(string id) =>
            states.TryGetValue(id, out var state)
            && liveVersions.TryGetValue(id, out var version)
            && state.Version == version
            && state.EvaluatedAt <= databaseNow + options.FutureAllowance;
        var inlined = new HashSet<string>(StringComparer.Ordinal);
        var levels = Levels(tenant, definitions, tick, id => Closure(definitions[id], definitions).Keys.All(Settled), inlined);
        long? universe = null;
        var done = 0;
        var doneAtT1 = new HashSet<string>(StringComparer.Ordinal);
        foreach (var level in levels)
        {
            var jobs = new List<SegmentJob>();
            var toPlan = new List<(SegmentVersion Row, SegmentDefinition Definition, SegmentState? State)>();
            var phase1 = Stopwatch.StartNew();
            foreach (var id in level)
            {
                var definition = definitions[id];
                var row = rows.First(r => r.SegmentId == id);
                states.TryGetValue(id, out var state);
                if (state is not null && state.EvaluatedAt > databaseNow + options.FutureAllowance)
                {
                    // Stored by a version that accepted a future evaluation time: such a segment would be skipped until
                    // then. It is re-evaluated from scratch instead, as a new version would be.
                    logger.LogWarning(
                        "Segment {Tenant}/{Segment} was evaluated at {EvaluatedAt:O}, in the future; re-evaluating it in full at {T1:O}",
                        tenant, id, state.EvaluatedAt, tick.T1);
                    state = null;
                }

                var direct = SegmentReads.Of(definition.Condition).References;
                if (!inlined.Contains(id) && direct.FirstOrDefault(r => !doneAtT1.Contains(r)) is { } behind)
                {
                    tick.Fail(tenant, id, new InvalidOperationException($"Referenced segment '{behind}' is not evaluated at {tick.T1:O}; retried next tick."));
                    continue;
                }

                if (state is not null && state.Version == row.Version && state.EvaluatedAt >= tick.T1)
                {
                    // Already at (or past) t1: nothing to do. Only exactly t1 lets dependents use its log.
                    if (state.EvaluatedAt == tick.T1)
                    {
                        doneAtT1.Add(id);
                    }

                    tick.Add(new SegmentTickResult(id, state.Size, 0, 0, 0));
                    continue;
                }

                toPlan.Add((row, definition, state));
            }

            // The roll-forward check of the whole level in one statement (it almost never finds anything), beside phase 1:
            // phase 1 reads the history and the log, which the roll-forward only replays into membership. The one-sided
            // lookup reads membership, so it comes after. Phase 1, the longer, asks for a connection first.
            var planning = PlanLevelAsync(tick, tenant, toPlan, definitions, inlined, watermark, cancellationToken);
            var rollingForward = membership.RollForwardAsync(tenant, [.. toPlan.Select(p => (p.Row.SegmentId, p.State?.EvaluatedAt))], cancellationToken);
            try
            {
                jobs.AddRange(await planning.ConfigureAwait(false));
                foreach (var job in jobs)
                {
                    // Phase 1 of a segment evaluated before reads the log of the tick of each segment it references.
                    job.LogReadByOthers = definitions.Any(other =>
                        states.ContainsKey(other.Key) && SegmentReads.Of(other.Value.Condition).References.Contains(job.SegmentId));
                }
            }
            finally
            {
                // Never left running or unobserved when planning fails.
                await Task.WhenAny(rollingForward).ConfigureAwait(false);
                _ = rollingForward.Exception;
            }

            try
            {
                var (rolledForward, rollRows) = await rollingForward.ConfigureAwait(false);
                tick.AddRows(rollRows);
                AddRolledForward(jobs, rolledForward);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                foreach (var (row, _, _) in toPlan)
                {
                    tick.Fail(tenant, row.SegmentId, exception);
                }

                jobs.Clear();
            }

            try
            {
                universe ??= await WeighAsync(tick, tenant, jobs, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Only a matter of speed: the jobs stay restricted.
                logger.LogWarning(exception, "Counting the profiles of {Tenant} failed; its segments are evaluated chunk by chunk", tenant);
            }

            WholeWhenCheaper(jobs, universe);
            await WholeWhenScanIsSmallAsync(tick, jobs, cancellationToken).ConfigureAwait(false);

            // The one-sided candidates are looked up beside phase 2: the jobs without any start at once (at 0.1% changed
            // on the 2M-profile demo the lookup was a serial 129 ms before phase 2, at 1% three lookups 286 ms).
            var waiting = TakeOneSided(jobs);
            var resolving = ResolveOneSidedAsync(tick, tenant, waiting, cancellationToken);

            // Phase 2 reads the current values and the timelines: its chunks and the whole queries that read properties
            // wait for their refresh (after the first level, long done); a whole query of events alone reads neither and
            // starts at once (a level of new segments has no phase 1 for the refresh to run beside). A refresh that
            // failed fails the level after its units, as one that failed before them did.
            tick.AddPhase1(phase1.Elapsed);
            var phase2 = Stopwatch.StartNew();
            await RunChunksAsync(tick, jobs, waiting, resolving, currentValues, cancellationToken).ConfigureAwait(false);
            await ApplyWholeAsync(tick, tenant, jobs, cancellationToken).ConfigureAwait(false);
            await currentValues.ConfigureAwait(false);
            var finished = new List<(SegmentJob Job, long Size)>();
            foreach (var job in jobs)
            {
                if (job.Failure is { } failure)
                {
                    tick.Fail(tenant, job.SegmentId, failure);
                    continue;
                }

                try
                {
                    var size = job.KnownSize ?? (job.CountAfter || job.Previous is null
                        ? await membership.CountAsync(tenant, job.SegmentId, cancellationToken).ConfigureAwait(false)
                        : job.Previous.Size + job.Entered - job.Exited);
                    finished.Add((job, size));
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    tick.Fail(tenant, job.SegmentId, exception);
                }
            }

            // The level's states in one write, after all its chunks: a segment's evaluation time advances only once
            // its membership is complete, and a failed write leaves every one of them to be repaired next tick.
            try
            {
                await segments.WriteStatesAsync(
                    tenant,
                    [.. finished.Select(f => (f.Job.SegmentId, new SegmentState(f.Job.Version, tick.T1, f.Job.Watermark, f.Size)))],
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                foreach (var (job, _) in finished)
                {
                    tick.Fail(tenant, job.SegmentId, exception);
                }

                finished.Clear();
            }

            foreach (var (job, size) in finished)
            {
                doneAtT1.Add(job.SegmentId);
                tick.Add(new SegmentTickResult(job.SegmentId, size, job.Entered, job.Exited, job.CandidateCount) { RowsRead = job.RowsRead, Work = job.Work, EvaluatedWhole = job.Whole });
                logger.LogDebug(
                    "Segment {Tenant}/{Segment} v{Version} at {EvaluatedAt:O}: {Candidates} candidates, {Entered} entered, {Exited} exited, size {Size}",
                    tenant, job.SegmentId, job.Version, tick.T1, job.CandidateCount, job.Entered, job.Exited, size);
                progress?.Report(new TickProgress(++done, rows.Count, $"{tenant}/{job.SegmentId}: {job.Entered} entered, {job.Exited} exited"));
            }

            tick.AddPhase2(phase2.Elapsed);
        }
    }

    /// <summary>
    /// Removes the stored rows of segments deleted since their last evaluation, after the live ones are evaluated. Only
    /// housekeeping (nothing reads a deleted segment's rows), so a failure is logged and tried again after
    /// <see cref="PurgeRetryDelay"/>: the state goes last and is what marks a purge as owed.
    /// </summary>
    private async Task PurgeDeletedAsync(
        Tick tick, string tenant, IReadOnlyList<SegmentVersion> live, IReadOnlyDictionary<string, SegmentState> states, CancellationToken cancellationToken)
    {
        var liveIds = live.Select(r => r.SegmentId).ToHashSet(StringComparer.Ordinal);
        var stale = states.Keys.Where(id => !liveIds.Contains(id)).ToList();
        if (stale.Count == 0 || (purgeRetryAfter.TryGetValue(tenant, out var retryAfter) && DateTime.UtcNow < retryAfter))
        {
            return;
        }

        try
        {
            // Only tombstoned ids: a segment saved after this tick read the live ones may already have a state.
            var deleted = await segments.DeletedAmongAsync(tenant, stale, cancellationToken).ConfigureAwait(false);
            if (deleted.Count == 0)
            {
                return;
            }

            var watch = Stopwatch.StartNew();
            await membership.ForgetAsync(tenant, deleted, cancellationToken).ConfigureAwait(false);
            await segments.ForgetStatesAsync(tenant, deleted, cancellationToken).ConfigureAwait(false);
            tick.Purge(tenant, deleted);
            logger.LogInformation(
                "Removed the stored membership of {Count} deleted segments of {Tenant} in {Elapsed} ms", deleted.Count, tenant, (long)watch.Elapsed.TotalMilliseconds);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            purgeRetryAfter[tenant] = DateTime.UtcNow + PurgeRetryDelay;
            logger.LogWarning(exception, "Removing the stored membership of deleted segments of {Tenant} failed; tried again in {Delay}", tenant, PurgeRetryDelay);
        }
    }

    /// <summary>
    /// Phase 1 of a dependency level: the segments stored at the same (t0, w0) (all of them, on a steady server) find
    /// their candidates in one statement, and their one-sided candidates are looked up in one more, instead of one or
    /// two statements a segment. If the shared statement fails, each segment is planned on its own, so one broken
    /// segment fails alone. Rows read and time are shared evenly among the segments of a statement.
    /// </summary>
    private async Task<List<SegmentJob>> PlanLevelAsync(
        Tick tick,
        string tenant,
        List<(SegmentVersion Row, SegmentDefinition Definition, SegmentState? State)> toPlan,
        IReadOnlyDictionary<string, SegmentDefinition> definitions,
        IReadOnlySet<string> inlined,
        DateTime watermark,
        CancellationToken cancellationToken)
    {
        var jobs = new List<SegmentJob>();
        var alone = toPlan.Where(p => p.State is null || p.State.Version != p.Row.Version).ToList();
        var groups = toPlan
            .Where(p => p.State is { } state && state.Version == p.Row.Version)
            .GroupBy(p => (p.State!.EvaluatedAt, p.State.IngestWatermark))
            .ToList();
        foreach (var group in groups)
        {
            var members = group.ToList();
            if (members.Count == 1)
            {
                alone.AddRange(members);
                continue;
            }

            try
            {
                jobs.AddRange(await PlanTogetherAsync(tick, tenant, members, definitions, inlined, watermark, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogWarning(exception, "Phase 1 of {Count} segments of {Tenant} in one statement failed; planning them one by one", members.Count, tenant);
                alone.AddRange(members);
            }
        }

        foreach (var (row, definition, state) in alone)
        {
            try
            {
                var planning = Stopwatch.StartNew();
                var job = await PlanAsync(tick, tenant, row, definition, definitions, inlined.Contains(row.SegmentId), state, watermark, cancellationToken).ConfigureAwait(false);
                job.AddWork(0, planning.Elapsed);
                jobs.Add(job);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                tick.Fail(tenant, row.SegmentId, exception);
            }
        }

        return jobs;
    }

    /// <summary>Plans segments stored at one (t0, w0) with one candidate statement and one lookup per chunk of pairs.</summary>
    private async Task<List<SegmentJob>> PlanTogetherAsync(
        Tick tick,
        string tenant,
        List<(SegmentVersion Row, SegmentDefinition Definition, SegmentState? State)> group,
        IReadOnlyDictionary<string, SegmentDefinition> definitions,
        IReadOnlySet<string> inlined,
        DateTime watermark,
        CancellationToken cancellationToken)
    {
        var planning = Stopwatch.StartNew();
        var state0 = group[0].State!;
        var references = group.Select(p => Closure(p.Definition, definitions)).ToList();
        var query = CandidateQuery.IncrementalBatch(
            schema,
            tenant,
            [.. group.Select((p, i) => new CandidateQuery.PhaseOneSegment(p.Definition, references[i], inlined.Contains(p.Row.SegmentId)))],
            state0.EvaluatedAt,
            tick.T1,
            state0.IngestWatermark);
        var result = await engine.QueryAsync(query, cancellationToken).ConfigureAwait(false);
        var rows = result.Statistics.RowsRead;
        var candidates = group.Select(_ => new List<string>()).ToList();
        var conditional = group.Select(_ => new List<(string Profile, ChangeDirection Direction)>()).ToList();
        foreach (var (segment, profile, directions) in result.Read(row => (row.Get<int>(0), row.GetString(1), (ChangeDirection)row.Get<int>(2))))
        {
            if (directions.HasFlag(ChangeDirection.Any) || directions.HasFlag(ChangeDirection.IfMember | ChangeDirection.IfNotMember))
            {
                candidates[segment].Add(profile);
            }
            else
            {
                conditional[segment].Add((profile, directions));
            }
        }

        tick.AddRows(rows);
        var jobs = new List<SegmentJob>();
        var share = planning.Elapsed / group.Count;
        for (var i = 0; i < group.Count; i++)
        {
            var (row, definition, state) = group[i];
            var job = Job(tenant, row, definition, references[i], state!, candidates[i], conditional[i], watermark, rows / (ulong)group.Count);
            job.AddWork(0, share);
            jobs.Add(job);
        }

        return jobs;
    }

    /// <summary>Phase 1 for one segment: its candidates.</summary>
    private async Task<SegmentJob> PlanAsync(
        Tick tick,
        string tenant,
        SegmentVersion row,
        SegmentDefinition definition,
        IReadOnlyDictionary<string, SegmentDefinition> all,
        bool referencesInlined,
        SegmentState? state,
        DateTime watermark,
        CancellationToken cancellationToken)
    {
        var references = Closure(definition, all);
        var planRows = 0UL;
        var validated = ValidatedDefinition.Unchecked(tenant, definition, references);
        var watermarkAfter = state is null || watermark > state.IngestWatermark ? watermark : state.IngestWatermark;
        if (state is null || state.Version != row.Version)
        {
            // A new or changed version: every profile is a candidate, so phase 2 runs the compiled query once over
            // the whole universe instead of once per chunk (each chunk would re-read the same granules).
            return new SegmentJob(tenant, row.SegmentId, row.Version, validated, [], state, planRows)
            {
                Whole = true,
                CountAfter = true,
                Watermark = watermarkAfter,
            };
        }

        var query = CandidateQuery.Incremental(schema, tenant, definition, references, state.EvaluatedAt, tick.T1, state.IngestWatermark, referencesInlined);
        var candidates = new List<string>();
        var result = await engine.QueryAsync(query, cancellationToken).ConfigureAwait(false);
        tick.AddRows(result.Statistics.RowsRead);
        planRows += result.Statistics.RowsRead;
        var conditional = new List<(string Profile, ChangeDirection Direction)>();
        foreach (var (profile, directions) in result.Read(row => (row.GetString(0), (ChangeDirection)row.Get<int>(1))))
        {
            if (directions.HasFlag(ChangeDirection.Any) || directions.HasFlag(ChangeDirection.IfMember | ChangeDirection.IfNotMember))
            {
                candidates.Add(profile);
            }
            else
            {
                conditional.Add((profile, directions));
            }
        }

        return Job(tenant, row, definition, references, state, candidates, conditional, watermark, planRows);
    }

    /// <summary>
    /// A restricted job from its phase-1 candidates, sorted, and its one-sided
    /// candidates, looked up once the job is known to stay restricted (<see cref="ResolveOneSidedAsync"/>).
    /// </summary>
    private static SegmentJob Job(
        string tenant,
        SegmentVersion row,
        SegmentDefinition definition,
        IReadOnlyDictionary<string, SegmentDefinition> references,
        SegmentState state,
        List<string> candidates,
        List<(string Profile, ChangeDirection Direction)> oneSided,
        DateTime watermark,
        ulong planRows)
    {
        candidates.Sort(StringComparer.Ordinal);
        var watermarkAfter = watermark > state.IngestWatermark ? watermark : state.IngestWatermark;
        return new SegmentJob(tenant, row.SegmentId, row.Version, ValidatedDefinition.Unchecked(tenant, definition, references), candidates, state, planRows)
        {
            Watermark = watermarkAfter,
            OneSided = oneSided,
        };
    }

    /// <summary>
    /// Profiles an interrupted tick changed become candidates of the restricted jobs: re-evaluated, so they end up
    /// exact at t1 whatever happened before (a whole job re-evaluates every profile anyway).
    /// </summary>
    private static void AddRolledForward(List<SegmentJob> jobs, IReadOnlyDictionary<string, IReadOnlyList<string>> rolledForward)
    {
        foreach (var job in jobs)
        {
            job.RolledForward = rolledForward.ContainsKey(job.SegmentId);
        }

        foreach (var job in jobs.Where(j => !j.Whole))
        {
            if (rolledForward.GetValueOrDefault(job.SegmentId) is not { Count: > 0 } rolled)
            {
                continue;
            }

            var known = job.Candidates.ToHashSet(StringComparer.Ordinal);
            job.Candidates.AddRange(rolled.Where(known.Add));
            job.Candidates.Sort(StringComparer.Ordinal);
            job.CountAfter = true;
        }
    }

    /// <summary>
    /// Window-edge profiles whose change can move a condition one way only are candidates only on the side they can
    /// leave (stored membership is the evaluation at t0, rolled forward, so a profile that cannot change is exact):
    /// looked up in one statement a chunk of pairs for every job that stays restricted, after the whole rules, so a job
    /// evaluated whole never pays for the lookup. A failed lookup is retried job by job, and fails only its own job.
    /// </summary>
    private static List<SegmentJob> TakeOneSided(List<SegmentJob> jobs)
    {
        foreach (var job in jobs.Where(j => j.Whole && j.OneSided.Count > 0))
        {
            // Reported as candidates: each could have changed.
            job.Candidates.AddRange(job.OneSided.Select(c => c.Profile));
            job.OneSided = [];
        }

        return jobs.Where(j => j.OneSided.Count > 0).ToList();
    }

    /// <summary>The lookups of <see cref="TakeOneSided"/>'s jobs (<paramref name="pending"/>).</summary>
    private async Task ResolveOneSidedAsync(Tick tick, string tenant, List<SegmentJob> pending, CancellationToken cancellationToken)
    {
        if (pending.Count == 0)
        {
            return;
        }

        try
        {
            await LookUpOneSidedAsync(tick, tenant, pending, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException && pending.Count > 1)
        {
            logger.LogWarning(exception, "Looking up the one-sided candidates of {Count} segments of {Tenant} failed; looking them up one by one", pending.Count, tenant);
            foreach (var job in pending.Where(j => j.OneSided.Count > 0))
            {
                try
                {
                    await LookUpOneSidedAsync(tick, tenant, [job], cancellationToken).ConfigureAwait(false);
                }
                catch (Exception alone) when (alone is not OperationCanceledException)
                {
                    job.Failure = alone;
                }
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            pending[0].Failure = exception;
        }
    }

    /// <summary>
    /// One statement a chunk of pairs, as many at once as there are workers: a member's new rows made it one-sided too
    /// (see <see cref="ChangeDirection"/>), so at 1% changed on the 2M-profile demo a level had four chunks of lookups.
    /// </summary>
    private async Task LookUpOneSidedAsync(Tick tick, string tenant, List<SegmentJob> jobs, CancellationToken cancellationToken)
    {
        var pairs = jobs.SelectMany(job => job.OneSided.Select(c => (Job: job, c.Profile, c.Direction))).ToList();
        var batches = pairs.Chunk(options.ChunkSize).ToList();
        var found = new List<(SegmentJob Job, string Profile)>[batches.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, batches.Count),
            new ParallelOptions { MaxDegreeOfParallelism = options.Workers, CancellationToken = cancellationToken },
            async (index, token) =>
            {
                var watch = Stopwatch.StartNew();
                var batch = batches[index];
                var asked = batch.GroupBy(p => p.Job)
                    .Select(g => (g.Key.SegmentId, (IReadOnlyList<string>)[.. g.Select(p => p.Profile)]))
                    .ToList();
                var (stored, rows) = await membership.MembersAmongAsync(tenant, asked, token).ConfigureAwait(false);
                tick.AddRows(rows);
                var askedJobs = batch.Select(p => p.Job).Distinct().ToList();
                foreach (var job in askedJobs)
                {
                    job.AddWork(rows / (ulong)askedJobs.Count, watch.Elapsed / askedJobs.Count);
                }

                found[index] = [.. batch
                    .Where(p => (stored.TryGetValue(p.Job.SegmentId, out var members) && members.Contains(p.Profile)) == (p.Direction == ChangeDirection.IfMember))
                    .Select(p => (p.Job, p.Profile))];
            }).ConfigureAwait(false);

        var candidates = found.SelectMany(f => f).ToLookup(p => p.Job, p => p.Profile);
        foreach (var job in jobs)
        {
            var known = job.Candidates.ToHashSet(StringComparer.Ordinal);
            job.Candidates.AddRange(candidates[job].Where(known.Add));
            job.Candidates.Sort(StringComparer.Ordinal);
            job.OneSided = [];
        }
    }

    /// <summary>
    /// The tenant's profile rows, counted once a tick and only when some job has enough candidates to be worth a query
    /// over the universe (null otherwise). The count is answered from the sort key's index, reading no rows.
    /// </summary>
    private async Task<long?> WeighAsync(Tick tick, string tenant, List<SegmentJob> jobs, CancellationToken cancellationToken)
    {
        if (!jobs.Any(j => !j.Whole && j.PossibleCandidates >= WholeMinimum(j)))
        {
            return null;
        }

        var counted = await engine.QueryAsync(CandidateQuery.ProfileRows(schema, tenant), cancellationToken).ConfigureAwait(false);
        tick.AddRows(counted.Statistics.RowsRead);
        return counted.Scalar<long>();
    }

    /// <summary>
    /// Turns restricted jobs whose candidates reach <see cref="EvaluatorOptions.WholeEvaluationShare"/> of the universe
    /// into whole ones: the compiled query once over every profile, diffed against the stored members. Exact either way
    /// (a whole evaluation is what a new version gets); the midnight tick of an anniversary condition, or a short window
    /// over a busy hour, makes thousands of candidates whose lookups cost more than the scan.
    /// </summary>
    /// <remarks>
    /// Choosing by this process's measured costs instead (the whole query against a restricted chunk of a comparable
    /// count, with a margin of 2) was tried on the 2M-profile demo: at 1% changed it turned the short windows whole and
    /// one worker's tick went from 240% to 223% of a full recompute, but with two and four workers it went from 79–87%
    /// to 94–113% (the whole queries take both cores from the other worker's lookups) and read 6–53% of the full rows
    /// instead of 2.7%.
    /// </remarks>
    private void WholeWhenCheaper(List<SegmentJob> jobs, long? profileRows)
    {
        if (profileRows is not { } rows)
        {
            return;
        }

        foreach (var job in jobs.Where(j => !j.Whole && j.PossibleCandidates >= Math.Max(WholeMinimum(j), (long)Math.Ceiling(rows * WholeShare(j)))))
        {
            job.Whole = true;
            job.WholeByCost = true;
            logger.LogDebug(
                "{Tenant}/{Segment}: {Candidates} candidates of about {Profiles} profiles, evaluated whole",
                job.Tenant, job.SegmentId, job.PossibleCandidates, rows);
        }
    }

    /// <summary>
    /// Turns restricted jobs with at least <see cref="EvaluatorOptions.WholeEvaluationMinimum"/> candidates whole when
    /// the engine's estimate of their query's rows is under <see cref="EvaluatorOptions.WholeEvaluationRowsPerCandidate"/>
    /// a candidate (one <c>EXPLAIN ESTIMATE</c> each, only for such jobs, reused by later ticks within
    /// <see cref="EvaluatorOptions.EstimateReuse"/>; one engine). An estimate that fails or is empty leaves the job in chunks.
    /// </summary>
    private async Task WholeWhenScanIsSmallAsync(Tick tick, List<SegmentJob> jobs, CancellationToken cancellationToken)
    {
        // The costs compared are those of one engine's key lookups; on a cluster the estimate would also see only
        // the local shard's reads.
        if (options.WholeEvaluationRowsPerCandidate <= 0 || !schema.HasKeyValueTables)
        {
            return;
        }

        // Side by side: an estimate is planning only (25–35 ms), so a level's estimates one after the other were a serial
        // step before phase 2 (8 of them, about 250 ms, in a 1% hour on the 2M-profile demo); the engine's connections
        // bound how many run at once.
        await Task.WhenAll(jobs.Where(j => !j.Whole && j.PossibleCandidates >= options.WholeEvaluationMinimum).Select(EstimateAsync)).ConfigureAwait(false);

        async Task EstimateAsync(SegmentJob job)
        {
            try
            {
                if (!estimates.TryGet(job.Tenant, job.SegmentId, job.Version, tick.T1, options.EstimateReuse, out var rows))
                {
                    var estimate = await engine.QueryAsync(
                        SegmentCompiler.Compile(job.Definition, schema, new CompileOptions(tick.T1) { ExplainEstimate = true }), cancellationToken).ConfigureAwait(false);
                    var column = estimate.ColumnNames.ToList().IndexOf("rows");
                    rows = column < 0 || estimate.Rows.Count == 0 ? long.MaxValue : estimate.Read(row => row.GetInt64(column)).Sum();
                    estimates.Set(job.Tenant, job.SegmentId, job.Version, tick.T1, rows);
                }

                if (rows < job.PossibleCandidates * options.WholeEvaluationRowsPerCandidate)
                {
                    job.Whole = true;
                    job.WholeByCost = true;
                    logger.LogDebug(
                        "{Tenant}/{Segment}: {Candidates} candidates against an estimated {Rows} rows for its query, evaluated whole",
                        job.Tenant, job.SegmentId, job.PossibleCandidates, rows);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogWarning(exception, "Estimating the query of {Tenant}/{Segment} failed; its candidates are evaluated in chunks", job.Tenant, job.SegmentId);
            }
        }
    }

    private int WholeMinimum(SegmentJob job) => job.ReadsOnlyProperties ? options.PropertyWholeEvaluationMinimum : options.WholeEvaluationMinimum;

    private double WholeShare(SegmentJob job) => job.ReadsOnlyProperties ? options.PropertyWholeEvaluationShare : options.WholeEvaluationShare;

    /// <summary>
    /// Phase 2: every job's chunks onto one queue, drained by the workers; the units of the jobs <paramref name="waiting"/>
    /// for their one-sided candidates follow once <paramref name="resolving"/> has looked them up.
    /// </summary>
    private async Task RunChunksAsync(
        Tick tick, IReadOnlyList<SegmentJob> jobs, IReadOnlyList<SegmentJob> waiting, Task resolving, Task readStructures, CancellationToken cancellationToken)
    {
        if (jobs.Count == 0)
        {
            await resolving.ConfigureAwait(false);
            return;
        }

        var byKey = jobs.ToDictionary(j => (j.Tenant, j.SegmentId, j.Version));
        var queue = queues.Create();
        var writer = new ChangeWriter(membership, jobs[0].Tenant, tick.T1, options.ChunkSize, options.GatherWrites, AfterLogWritten, logger, cancellationToken);
        var workers = Enumerable.Range(0, options.Workers).Select(_ => Task.Run(
            async () =>
            {
                await foreach (var work in queue.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (!readStructures.IsCompleted && ReadsRefreshedStructures(work, byKey))
                    {
                        await readStructures.ConfigureAwait(false);
                    }

                    if (work.Together is { } parts)
                    {
                        await EvaluateTogetherAsync(tick, parts, byKey, writer, cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    await RunChunkAsync(tick, byKey[(work.Tenant, work.SegmentId, work.Version)], work, writer, cancellationToken).ConfigureAwait(false);
                }
            },
            cancellationToken)).ToList();
        var numbered = 0;
        try
        {
            var units = 0;
            try
            {
                // Level statements take every job's candidates: they wait for the lookups.
                if (waiting.Count > 0 && (options.EvaluateTogether || !options.LookUpOneSidedBesidePhaseTwo))
                {
                    await resolving.ConfigureAwait(false);
                    units += await EnqueueAsync(jobs).ConfigureAwait(false);
                }
                else
                {
                    var late = waiting.ToHashSet();
                    units += await EnqueueAsync([.. jobs.Where(job => !late.Contains(job))]).ConfigureAwait(false);
                    await resolving.ConfigureAwait(false);
                    units += await EnqueueAsync(waiting).ConfigureAwait(false);
                }
            }
            finally
            {
                queue.Complete();
                tick.AddChunks(units);
            }

            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        finally
        {
            // Never left running or unobserved when enqueuing fails; every chunk handed over is written (or has failed
            // its segment) before the level's states are.
            await Task.WhenAll(workers.Append(resolving).Select(task => (Task)Task.WhenAny(task))).ConfigureAwait(false);
            _ = resolving.Exception;
            await writer.CompleteAsync().ConfigureAwait(false);
        }

        // The units of some jobs, longest first: the workers take them in this order, so the level ends with short ones
        // instead of one worker finishing a long unit alone (the order of a segment's chunks does not matter: each is
        // its own).
        async Task<int> EnqueueAsync(IReadOnlyList<SegmentJob> some)
        {
            // Numbered across the level (the logs name a chunk by it).
            var units = new List<ChunkWork>();
            var together = Together(tick, some);
            foreach (var work in together)
            {
                units.Add(work with { ChunkIndex = numbered + units.Count });
            }

            foreach (var job in some)
            {
                if (job.Whole)
                {
                    units.Add(new ChunkWork(job.Tenant, job.SegmentId, job.Version, tick.T1, numbered + units.Count, [], Whole: true));
                    continue;
                }

                if (together.Count > 0 && together.Any(t => t.Together!.Any(p => p.SegmentId == job.SegmentId)))
                {
                    continue;
                }

                for (var start = 0; start < job.Candidates.Count; start += options.ChunkSize)
                {
                    var ids = job.Candidates.GetRange(start, Math.Min(options.ChunkSize, job.Candidates.Count - start));
                    units.Add(new ChunkWork(job.Tenant, job.SegmentId, job.Version, tick.T1, numbered + units.Count, ids));
                }
            }

            foreach (var work in options.LongestFirst ? units.OrderByDescending(work => ExpectedCost(work, byKey)) : units.AsEnumerable())
            {
                await queue.EnqueueAsync(work, cancellationToken).ConfigureAwait(false);
            }

            numbered += units.Count;
            return units.Count;
        }
    }

    /// <summary>
    /// Whether a unit reads what the tick's refresh brings up to date: a chunk reads its candidates' timelines and current
    /// values, a whole query the current-value table when its segment (or one it inlines) tests a profile property. Only
    /// a matter of speed (anything newer than either is read from the history), so a whole query of events alone does not
    /// wait for the refresh.
    /// </summary>
    private static bool ReadsRefreshedStructures(ChunkWork work, Dictionary<(string, string, int), SegmentJob> byKey) =>
        !work.Whole || byKey[(work.Tenant, work.SegmentId, work.Version)].ReadsProfileProperties;

    /// <summary>
    /// A unit's expected share of phase 2, for ordering only: a chunk looks up each candidate's keys, three times as
    /// costly when they carry event properties (measured per key); a new segment's whole query comes before all of them,
    /// and a segment turned whole by its candidates counts them.
    /// </summary>
    private static double ExpectedCost(ChunkWork work, Dictionary<(string, string, int), SegmentJob> byKey)
    {
        if (work.Together is { } parts)
        {
            return parts.Sum(part => ExpectedCost(part, byKey));
        }

        var job = byKey[(work.Tenant, work.SegmentId, work.Version)];
        if (work.Whole)
        {
            return job.WholeByCost ? job.Candidates.Count : double.MaxValue;
        }

        return work.ProfileIds.Count * (job.ReadsEventProperties ? 3.0 : 1.0);
    }

    /// <summary>One segment's chunk; a failure fails the segment (its later chunks are skipped).</summary>
    private async Task RunChunkAsync(Tick tick, SegmentJob job, ChunkWork work, ChangeWriter writer, CancellationToken cancellationToken)
    {
        if (job.Failure is not null)
        {
            return;
        }

        try
        {
            var chunkWatch = Stopwatch.StartNew();
            await EvaluateChunkAsync(tick, job, work, writer, cancellationToken).ConfigureAwait(false);
            job.AddWork(0, chunkWatch.Elapsed);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            job.Failure ??= exception;
            logger.LogWarning(exception, "Chunk {Chunk} of {Tenant}/{Segment} failed; the segment keeps its state and is repaired next tick", work.ChunkIndex, work.Tenant, work.SegmentId);
        }
    }

    /// <summary>
    /// The chunks of a level's segments that one statement evaluates together (<see cref="SegmentCompiler.CompileLevelChanges"/>):
    /// the segments restricted to candidates whose conditions it takes, on an engine whose membership has a key lookup,
    /// in groups of at least two that all read event properties or none does; their (segment, candidate) pairs cut into chunks of at most
    /// <see cref="EvaluatorOptions.ChunkSize"/>. Empty when the level's segments keep a statement each.
    /// </summary>
    private List<ChunkWork> Together(Tick tick, IReadOnlyList<SegmentJob> jobs)
    {
        var eligible = options.EvaluateTogether && schema.HasKeyValueTables
            ? jobs.Where(j => !j.Whole && j.Candidates.Count > 0 && SegmentCompiler.CanEvaluateTogether(j.Definition)).ToList()
            : [];
        if (eligible.Count < 2 || membership.StoredMembersOfPairs(eligible[0].Tenant, [eligible[0].SegmentId], SegmentCompiler.CandidateSegments, SegmentCompiler.CandidateIds) is null)
        {
            return [];
        }

        // Segments reading event properties share statements among themselves only (their events carry the properties).
        return [.. eligible
            .GroupBy(j => SegmentCompiler.ReadsEventProperties(j.Definition))
            .Where(group => group.Count() >= 2)
            .SelectMany(group => Cut([.. group], LevelChunkSize(group.Sum(j => j.Candidates.Count)), tick.T1))];
    }

    /// <summary>
    /// Level statements of at most <see cref="EvaluatorOptions.ChunkSize"/> pairs, and at least one per worker: a
    /// statement's key lookups and aggregation run on the engine's threads, but its planning and its reads of the
    /// membership buckets on one, so the workers' statements side by side keep both cores busy.
    /// </summary>
    private int LevelChunkSize(int pairs) =>
        Math.Max(1, Math.Min(options.ChunkSize, (pairs + options.Workers - 1) / Math.Max(1, options.Workers)));

    /// <summary>The (segment, candidate) pairs of <paramref name="jobs"/> in chunks of at most <paramref name="chunkSize"/>.</summary>
    private static List<ChunkWork> Cut(List<SegmentJob> jobs, int chunkSize, DateTime t1)
    {
        var chunks = new List<ChunkWork>();
        var parts = new List<ChunkWork>();
        var pairs = 0;
        foreach (var job in jobs)
        {
            for (var start = 0; start < job.Candidates.Count;)
            {
                var take = Math.Min(chunkSize - pairs, job.Candidates.Count - start);
                parts.Add(new ChunkWork(job.Tenant, job.SegmentId, job.Version, t1, parts.Count, job.Candidates.GetRange(start, take)));
                start += take;
                pairs += take;
                if (pairs == chunkSize)
                {
                    chunks.Add(Chunk(parts));
                    parts = [];
                    pairs = 0;
                }
            }
        }

        if (parts.Count > 0)
        {
            chunks.Add(Chunk(parts));
        }

        return chunks;

        static ChunkWork Chunk(List<ChunkWork> parts) =>
            new(parts[0].Tenant, string.Empty, 0, parts[0].EvaluatedAt, 0, []) { Together = parts };
    }

    /// <summary>
    /// Several segments' chunks in one statement, each segment's changes handed to the writer as its own chunk's. If
    /// the statement fails, each chunk runs on its own, so a segment whose query fails fails alone.
    /// </summary>
    private async Task EvaluateTogetherAsync(
        Tick tick, IReadOnlyList<ChunkWork> parts, Dictionary<(string Tenant, string SegmentId, int Version), SegmentJob> byKey, ChangeWriter writer, CancellationToken cancellationToken)
    {
        var live = parts.Select(p => (Work: p, Job: byKey[(p.Tenant, p.SegmentId, p.Version)])).Where(p => p.Job.Failure is null).ToList();
        if (live.Count == 0)
        {
            return;
        }

        var watch = Stopwatch.StartNew();
        IReadOnlyList<(int Segment, string Profile, bool IsMember)> changes;
        ulong rowsRead;
        try
        {
            if (BeforeChunk is { } before)
            {
                foreach (var (work, _) in live)
                {
                    await before(work).ConfigureAwait(false);
                }
            }

            var tenant = live[0].Work.Tenant;
            var stored = membership.StoredMembersOfPairs(tenant, [.. live.Select(p => p.Work.SegmentId)], SegmentCompiler.CandidateSegments, SegmentCompiler.CandidateIds)
                ?? throw new InvalidOperationException("Membership has no key lookup for a level statement.");
            var statement = SegmentCompiler.CompileLevelChanges(
                tenant, [.. live.Select(p => new LevelSegment(p.Job.Definition, p.Work.ProfileIds))], schema, live[0].Work.EvaluatedAt, stored);
            var result = await engine.QueryAsync(statement, cancellationToken).ConfigureAwait(false);
            changes = result.Read(row => (Segment: row.GetInt32(0), Profile: row.GetString(1), IsMember: row.GetBoolean(2)));
            rowsRead = result.Statistics.RowsRead;
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(exception, "Evaluating {Count} segments' chunks together failed; each is evaluated on its own", live.Count);
            TogetherFailed?.Invoke(exception);
            foreach (var (work, job) in live)
            {
                await RunChunkAsync(tick, job, work, writer, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        tick.AddRows(rowsRead);
        var total = live.Sum(p => p.Work.ProfileIds.Count);
        var bySegment = changes.ToLookup(c => c.Segment);
        for (var i = 0; i < live.Count; i++)
        {
            var (work, job) = live[i];
            var own = bySegment[i + 1].ToList();

            // Each segment's share of the statement, by its candidates.
            var share = (double)work.ProfileIds.Count / total;
            job.AddWork((ulong)(rowsRead * share), watch.Elapsed * share);
            writer.Add(work, job, new SegmentChanges(
                work.SegmentId,
                [.. own.Where(c => c.IsMember).Select(c => c.Profile).Order(StringComparer.Ordinal)],
                [.. own.Where(c => !c.IsMember).Select(c => c.Profile).Order(StringComparer.Ordinal)]));
        }
    }

    private async Task EvaluateChunkAsync(Tick tick, SegmentJob job, ChunkWork work, ChangeWriter writer, CancellationToken cancellationToken)
    {
        if (BeforeChunk is { } before)
        {
            await before(work).ConfigureAwait(false);
        }

        if (work.Whole)
        {
            await EvaluateWholeAsync(tick, job, work, cancellationToken).ConfigureAwait(false);
            return;
        }

        var (entered, exited, rows) = await ChangesAsync(job, work, cancellationToken).ConfigureAwait(false);
        tick.AddRows(rows);
        job.AddWork(rows, TimeSpan.Zero);
        writer.Add(work, job, new SegmentChanges(work.SegmentId, entered, exited));
    }

    /// <summary>
    /// A chunk's transitions: the restricted query diffed against the stored members of its candidates, in the engine
    /// when membership has a key lookup (one statement; a statement each cost 30–50 ms a chunk), else here.
    /// </summary>
    private async Task<(List<string> Entered, List<string> Exited, ulong RowsRead)> ChangesAsync(SegmentJob job, ChunkWork work, CancellationToken cancellationToken)
    {
        var options = new CompileOptions(work.EvaluatedAt, CompileMode.Restricted, work.ProfileIds);
        if (membership.StoredMembersAmong(work.Tenant, work.SegmentId, SegmentCompiler.CandidateIds) is { } storedMembers)
        {
            var changes = await engine.QueryAsync(SegmentCompiler.CompileChanges(job.Definition, schema, options, storedMembers), cancellationToken).ConfigureAwait(false);
            var rows = changes.Read(row => (Profile: row.GetString(0), IsMember: row.GetBoolean(1)));
            return (
                [.. rows.Where(r => r.IsMember).Select(r => r.Profile).Order(StringComparer.Ordinal)],
                [.. rows.Where(r => !r.IsMember).Select(r => r.Profile).Order(StringComparer.Ordinal)],
                changes.Statistics.RowsRead);
        }

        var evaluated = await engine.QueryAsync(SegmentCompiler.Compile(job.Definition, schema, options), cancellationToken).ConfigureAwait(false);
        var now = evaluated.Read(row => row.GetString(0)).ToHashSet(StringComparer.Ordinal);
        var (stored, storedRows) = await membership.MembersAmongAsync(work.Tenant, work.SegmentId, work.ProfileIds, cancellationToken).ConfigureAwait(false);
        return (
            [.. now.Where(p => !stored.Contains(p)).Order(StringComparer.Ordinal)],
            [.. stored.Where(p => !now.Contains(p)).Order(StringComparer.Ordinal)],
            evaluated.Statistics.RowsRead + storedRows);
    }

    /// <summary>
    /// A new or changed version, or candidates enough to make it cheaper: the compiled query once over the universe,
    /// diffed against every stored member, the transitions written log first, then membership (as for a chunk): by the
    /// engine where membership has its buckets, otherwise from the process in batches of
    /// <see cref="EvaluatorOptions.ChunkSize"/>. A crash between the writes leaves the version's state behind, so the
    /// next tick evaluates it whole again after rolling the written log forward.
    /// </summary>
    private async Task EvaluateWholeAsync(Tick tick, SegmentJob job, ChunkWork work, CancellationToken cancellationToken)
    {
        Func<ValueTask>? hook = AfterLogWritten is { } after ? () => after(work) : null;
        var options = await CurrentTraitsCheck.ApplyAsync(engine, job.Definition, schema, new CompileOptions(work.EvaluatedAt), cancellationToken).ConfigureAwait(false);
        if (job.BrandNew)
        {
            // A brand-new segment: every member enters, written by the engine straight from the compiled query. Its log
            // now; membership with the level's other whole evaluations (ApplyWholeAsync), before any state advances.
            // On one engine, unless another segment reads its log, straight into current membership without the log
            // (readers derive its entries): the log's sorted copy of every member cost about a third of the query.
            var members = SegmentCompiler.CompileMembers(job.Definition, schema, options);
            job.Logged = membership.WritesFirstEvaluationUnlogged && !job.LogReadByOthers
                ? await membership.WriteFirstEvaluationAsync(work.Tenant, work.SegmentId, work.EvaluatedAt, members, hook, cancellationToken).ConfigureAwait(false)
                : await membership.LogWholeAsync(work.Tenant, work.SegmentId, work.EvaluatedAt, members, allEntered: true, hook, cancellationToken).ConfigureAwait(false);
            tick.AddRows(job.Logged.RowsRead);
            job.AddWork(job.Logged.RowsRead, TimeSpan.Zero);
            return;
        }

        if (job.Previous is not null && job.AloneAt(work.EvaluatedAt) && membership.StoredMembers(work.Tenant, work.SegmentId) is { } storedMembers)
        {
            // The compiled query diffed against the stored members and the changes written by the engine, so neither the
            // members nor the changes cross into the process (a changed version used to bring both member lists over
            // and write its changes in batches, each batch rewriting the buckets it touched). Nothing was rolled
            // forward, so the stored members are the previous evaluation's, and so is their count. The log now,
            // membership with the level's other whole evaluations.
            var changes = SegmentCompiler.CompileWholeChangesFragment(job.Definition, schema, options, storedMembers);
            job.Logged = await membership.LogWholeAsync(work.Tenant, work.SegmentId, work.EvaluatedAt, changes, allEntered: false, hook, cancellationToken).ConfigureAwait(false);
            tick.AddRows(job.Logged.RowsRead);
            job.AddWork(job.Logged.RowsRead, TimeSpan.Zero);
            return;
        }

        var statement = SegmentCompiler.Compile(job.Definition, schema, options);
        var evaluated = await engine.QueryAsync(statement, cancellationToken).ConfigureAwait(false);
        tick.AddRows(evaluated.Statistics.RowsRead);
        job.AddWork(evaluated.Statistics.RowsRead, TimeSpan.Zero);
        var now = evaluated.Read(row => row.GetString(0)).ToHashSet(StringComparer.Ordinal);
        var stored = (await membership.MembersAsync(work.Tenant, work.SegmentId, null, int.MaxValue, cancellationToken).ConfigureAwait(false))
            .ToHashSet(StringComparer.Ordinal);
        var entered = now.Where(p => !stored.Contains(p)).Order(StringComparer.Ordinal).ToList();
        var exited = stored.Where(p => !now.Contains(p)).Order(StringComparer.Ordinal).ToList();
        job.WholeCandidates = now.Count + exited.Count;

        // The members are exactly those found once the changes are written: no count afterwards.
        job.KnownSize = now.Count;
        await WriteInBatchesAsync(job, work, entered, exited, hook, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Current membership of the level's whole evaluations that wrote their log (<see cref="IMembershipStore.LogWholeAsync"/>),
    /// in one call: for the benchmark's 12 new segments one bucket statement instead of 12. Their counts and sizes come
    /// from it; a failure fails every one of them (their states stay behind, and the next tick rolls their logs forward).
    /// Each job's share of the write's time follows its changes.
    /// </summary>
    private async Task ApplyWholeAsync(Tick tick, string tenant, List<SegmentJob> jobs, CancellationToken cancellationToken)
    {
        var logged = jobs.Where(job => job.Logged is not null && job.Failure is null).ToList();
        if (logged.Count == 0)
        {
            return;
        }

        var watch = Stopwatch.StartNew();
        try
        {
            var (counts, rowsRead) = await membership.ApplyWholeAsync(tenant, tick.T1, [.. logged.Select(job => job.Logged!)], cancellationToken).ConfigureAwait(false);
            tick.AddRows(rowsRead);
            var elapsed = watch.Elapsed;
            var weights = logged.Select(job => Math.Max(1L, counts[job.SegmentId].Entered + counts[job.SegmentId].Exited)).ToList();
            var total = (double)weights.Sum();
            for (var i = 0; i < logged.Count; i++)
            {
                var job = logged[i];
                var (entered, exited) = counts[job.SegmentId];
                job.AddWork((ulong)(rowsRead * (weights[i] / total)), elapsed * (weights[i] / total));
                job.AddChanges((int)entered, (int)exited);

                // Nothing was stored before a brand-new segment, and a changed version alone at its time diffed the
                // previous evaluation's members: either way the size follows without a count.
                job.KnownSize = job.BrandNew ? entered : job.Previous!.Size + entered - exited;
                job.WholeCandidates = (int)(job.KnownSize.Value + exited);
                logger.LogDebug(
                    "{Tenant}/{Segment} v{Version} evaluated whole: {Entered} entered, {Exited} exited",
                    tenant, job.SegmentId, job.Version, entered, exited);
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(exception, "Writing the membership of {Count} whole evaluations of {Tenant} failed; they keep their states and are repaired next tick", logged.Count, tenant);
            foreach (var job in logged)
            {
                job.Failure ??= exception;
            }
        }
    }

    /// <summary>A whole evaluation's transitions, written in batches of <see cref="EvaluatorOptions.ChunkSize"/>.</summary>
    private async Task WriteInBatchesAsync(SegmentJob job, ChunkWork work, List<string> entered, List<string> exited, Func<ValueTask>? hook, CancellationToken cancellationToken)
    {
        for (int e = 0, x = 0; e < entered.Count || x < exited.Count;)
        {
            var enteredBatch = entered.GetRange(e, Math.Min(options.ChunkSize, entered.Count - e));
            var exitedBatch = exited.GetRange(x, Math.Min(options.ChunkSize - enteredBatch.Count, exited.Count - x));
            await membership.WriteChangesAsync(work.Tenant, work.EvaluatedAt, [new SegmentChanges(work.SegmentId, enteredBatch, exitedBatch)], hook, cancellationToken).ConfigureAwait(false);
            job.AddChanges(enteredBatch.Count, exitedBatch.Count);
            e += enteredBatch.Count;
            x += exitedBatch.Count;
        }

        logger.LogDebug(
            "{Tenant}/{Segment} v{Version} evaluated whole: {Entered} entered, {Exited} exited",
            work.Tenant, work.SegmentId, work.Version, entered.Count, exited.Count);
    }

    /// <summary>
    /// Groups segments so that every segment comes after the segments it references, except those whose references
    /// <paramref name="canInline"/> allows to be read inlined (added to <paramref name="inlined"/>), which go first.
    /// </summary>
    private static List<List<string>> Levels(
        string tenant, IReadOnlyDictionary<string, SegmentDefinition> definitions, Tick tick, Func<string, bool> canInline, HashSet<string> inlined)
    {
        var depth = new Dictionary<string, int>(StringComparer.Ordinal);
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in definitions.Keys.Order(StringComparer.Ordinal))
        {
            Depth(id);
        }

        return [.. depth.Where(d => d.Value >= 0).GroupBy(d => d.Value).OrderBy(g => g.Key).Select(g => g.Select(d => d.Key).Order(StringComparer.Ordinal).ToList())];

        int Depth(string id)
        {
            if (depth.TryGetValue(id, out var known))
            {
                return known;
            }

            if (!definitions.TryGetValue(id, out var definition) || !visiting.Add(id))
            {
                return -1;
            }

            var level = 0;
            foreach (var reference in SegmentReads.Of(definition.Condition).References)
            {
                var inner = Depth(reference);
                if (inner < 0)
                {
                    tick.Fail(tenant, id, new InvalidOperationException($"Referenced segment '{reference}' is missing, deleted, unparseable or part of a cycle."));
                    level = -1;
                    break;
                }

                level = Math.Max(level, inner + 1);
            }

            visiting.Remove(id);
            if (level > 0 && canInline(id))
            {
                inlined.Add(id);
                level = 0;
            }

            depth[id] = level;
            return level;
        }
    }

    /// <summary>Every definition reachable from <paramref name="definition"/> through references.</summary>
    private static Dictionary<string, SegmentDefinition> Closure(SegmentDefinition definition, IReadOnlyDictionary<string, SegmentDefinition> all)
    {
        var result = new Dictionary<string, SegmentDefinition>(StringComparer.Ordinal);
        var pending = new Stack<SegmentDefinition>([definition]);
        while (pending.TryPop(out var current))
        {
            foreach (var id in SegmentReads.Of(current.Condition).References)
            {
                if (!result.ContainsKey(id))
                {
                    result[id] = all[id];
                    pending.Push(all[id]);
                }
            }
        }

        return result;
    }

    /// <summary>One segment's work in a tick.</summary>
    private sealed class SegmentJob(string tenant, string segmentId, int version, ValidatedDefinition definition, List<string> candidates, SegmentState? previous, ulong planRows)
        : ChangeWriter.IChunkOwner
    {
        private long entered;
        private long exited;
        private long rowsRead = (long)planRows;
        private long workTicks;

        public ulong RowsRead => (ulong)Interlocked.Read(ref rowsRead);

        public TimeSpan Work => TimeSpan.FromTicks(Interlocked.Read(ref workTicks));

        public void AddWork(ulong rows, TimeSpan elapsed)
        {
            Interlocked.Add(ref rowsRead, (long)rows);
            Interlocked.Add(ref workTicks, elapsed.Ticks);
        }

        public string Tenant { get; } = tenant;

        public string SegmentId { get; } = segmentId;

        public int Version { get; } = version;

        public ValidatedDefinition Definition { get; } = definition;

        public List<string> Candidates { get; } = candidates;

        /// <summary>Phase 1's one-sided candidates, not yet looked up in the stored members (then moved to <see cref="Candidates"/>).</summary>
        public List<(string Profile, ChangeDirection Direction)> OneSided { get; set; } = [];

        /// <summary>Every profile that may be a candidate: what the whole rules weigh before the one-sided lookup.</summary>
        public int PossibleCandidates => Candidates.Count + OneSided.Count;

        public SegmentState? Previous { get; } = previous;

        public bool CountAfter { get; set; }

        /// <summary>The size after phase 2 when it is known without counting (a brand-new segment's written members).</summary>
        public long? KnownSize { get; set; }

        /// <summary>Evaluated in one query over the universe (<see cref="EvaluateWholeAsync"/>).</summary>
        public bool Whole { get; set; }

        /// <summary>The roll-forward found log entries after the stored evaluation (an earlier attempt's, now replayed).</summary>
        public bool RolledForward { get; set; }

        /// <summary>
        /// Never evaluated and nothing of an earlier attempt rolled forward: no stored members to diff against (a
        /// segment's stored members come from writes whose first is its log, or from a first evaluation written without
        /// one, which replaces every bucket an earlier attempt of it left).
        /// </summary>
        public bool BrandNew => Previous is null && !RolledForward;

        /// <summary>
        /// No log entry of the segment can be at the evaluation time but this evaluation's own: the stored evaluation is
        /// earlier and no earlier attempt's entries were rolled forward, so what the log holds at that time can be read
        /// back as exactly this evaluation's changes.
        /// </summary>
        public bool AloneAt(DateTime evaluatedAt) => Previous is { } stored && stored.EvaluatedAt < evaluatedAt && !RolledForward;

        /// <summary>A segment evaluated before references this one: its phase 1 may read this segment's log of the tick.</summary>
        public bool LogReadByOthers { get; set; }

        /// <summary>A whole job because its candidates made the query over the universe cheaper (they stay its candidates).</summary>
        public bool WholeByCost { get; set; }

        /// <summary>For a whole job: profiles that are or were members, reported as its candidates.</summary>
        public int WholeCandidates { get; set; }

        public int CandidateCount => Whole && !WholeByCost ? WholeCandidates : Candidates.Count;

        /// <summary>
        /// Reads profile properties (and static lists) only and holds for no empty profile: its query over the universe
        /// reads ranges of the current-value table (<see cref="EvaluatorOptions.PropertyWholeEvaluationShare"/>).
        /// </summary>
        public bool ReadsOnlyProperties { get; } =
            SegmentReads.Of(definition.Definition.Condition) is { Events.Count: 0, Behavioural.Count: 0, References.Count: 0 }
            && !SegmentReads.HoldsForEmptyProfile(definition.Definition.Condition, definition.References);

        /// <summary>Tests a profile property, itself or through a segment it inlines (<see cref="ReadsRefreshedStructures"/>).</summary>
        public bool ReadsProfileProperties { get; } = SegmentCompiler.ReadsProfileProperties(definition);

        /// <summary>Reads event properties, which its chunk's key lookups carry (<see cref="ExpectedCost"/>).</summary>
        public bool ReadsEventProperties { get; } = SegmentCompiler.ReadsEventProperties(definition);

        public DateTime Watermark { get; init; }

        public long Entered => Interlocked.Read(ref entered);

        public long Exited => Interlocked.Read(ref exited);

        public Exception? Failure { get; set; }

        /// <summary>A whole evaluation's log, written and not yet applied to membership (see <see cref="ApplyWholeAsync"/>).</summary>
        public WholeLogged? Logged { get; set; }

        public void AddChanges(int enteredCount, int exitedCount)
        {
            Interlocked.Add(ref entered, enteredCount);
            Interlocked.Add(ref exited, exitedCount);
        }

        public void Written(SegmentChanges changes, TimeSpan elapsed)
        {
            AddChanges(changes.Entered.Count, changes.Exited.Count);
            AddWork(0, elapsed);
        }
    }

    /// <summary>A tick's running totals.</summary>
    private sealed class Tick(DateTime t1)
    {
        private readonly ConcurrentQueue<SegmentTickResult> results = new();
        private readonly ConcurrentQueue<string> purged = new();
        private long rowsRead;
        private long phase1Ticks;
        private long phase2Ticks;
        private int chunks;

        public DateTime T1 { get; } = t1;

        public ConcurrentDictionary<string, Exception> Failures { get; } = new(StringComparer.Ordinal);

        public void Fail(string tenant, string segmentId, Exception exception) => Failures.TryAdd($"{tenant}/{segmentId}", exception);

        public void Add(SegmentTickResult result) => results.Enqueue(result);

        public void Purge(string tenant, IEnumerable<string> segmentIds)
        {
            foreach (var id in segmentIds)
            {
                purged.Enqueue($"{tenant}/{id}");
            }
        }

        public void AddRows(ulong rows) => Interlocked.Add(ref rowsRead, (long)rows);

        public void AddChunks(int count) => Interlocked.Add(ref chunks, count);

        public void AddPhase1(TimeSpan elapsed) => Interlocked.Add(ref phase1Ticks, elapsed.Ticks);

        public void AddPhase2(TimeSpan elapsed) => Interlocked.Add(ref phase2Ticks, elapsed.Ticks);

        public TickReport Report()
        {
            var list = results.ToList();
            return new TickReport(
                T1,
                list,
                new TickStatistics(
                    list.Sum(r => r.Candidates),
                    chunks,
                    list.Sum(r => r.Entered),
                    list.Sum(r => r.Exited),
                    (ulong)Interlocked.Read(ref rowsRead),
                    TimeSpan.FromTicks(phase1Ticks),
                    TimeSpan.FromTicks(phase2Ticks)))
            {
                Purged = [.. purged],
            };
        }
    }
}
