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
public sealed partial class SegmentEvaluator : ISegmentEvaluator, IAsyncDisposable, IDisposable
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
        IReadOnlyList<string> tenants;
        if (tenant is not null)
        {
            // One tenant: its segments and states are read under its lock beside the clock and the release, not after them.
            tenants = [tenant];
            await WithTenantLockAsync(tenant, async () =>
            {
                var start = StartAsync(tenant, cancellationToken);
                var segmentsRead = ReadSegmentsAsync(tenant, cancellationToken);
                await Task.WhenAll(start, segmentsRead).ConfigureAwait(false);
                var (watermark, databaseNow) = Check(asOf, t1, (await start.ConfigureAwait(false)).Clock);
                await TickTenantAsync(tick, tenant, watermark, databaseNow, await segmentsRead.ConfigureAwait(false), progress, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var (all, clock) = await StartAsync(null, cancellationToken).ConfigureAwait(false);
            tenants = all;
            var (watermark, databaseNow) = Check(asOf, t1, clock);
            foreach (var name in tenants)
            {
                await WithTenantLockAsync(name, async () =>
                {
                    var segmentsRead = await ReadSegmentsAsync(name, cancellationToken).ConfigureAwait(false);
                    await TickTenantAsync(tick, name, watermark, databaseNow, segmentsRead, progress, cancellationToken).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
            }
        }

        // A host ticks every few minutes: what the tick freed goes back to the system now, not in ten seconds' time; in
        // the background, since nothing the tick returns waits for it (then the timelines refresh, when it runs after ticks).
        StartAfterTick(tenants);

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

    /// <summary>
    /// The tenants a tick evaluates (<paramref name="tenant"/> alone when named) and the engine's clock and ingestion
    /// watermark, read beside the release of freed memory: the tick's working set should not sit on memory the engine or
    /// the managed heap freed before it (a preview, an import, the previous tick), and these first reads are small.
    /// </summary>
    private async Task<(IReadOnlyList<string> Tenants, IngestInstant Clock)> StartAsync(string? tenant, CancellationToken cancellationToken)
    {
        var released = Task.WhenAll(engine.ReleaseFreedMemoryAsync(cancellationToken), Task.Run(ReleaseManagedMemory, cancellationToken));
        var tenants = tenant is null ? segments.TenantsAsync(cancellationToken) : Task.FromResult<IReadOnlyList<string>>([tenant]);
        var clock = IngestClock.ReadAsync(engine, schema, cancellationToken);
        await Task.WhenAll(released, tenants, clock).ConfigureAwait(false);
        return (await tenants.ConfigureAwait(false), await clock.ConfigureAwait(false));
    }

    /// <summary>The tick's watermark and the engine's time, once an explicit evaluation time is known not to lie in the future.</summary>
    private (DateTime Watermark, DateTime DatabaseNow) Check(DateTime? asOf, DateTime t1, IngestInstant clock)
    {
        if (asOf is not null && t1 > clock.Now + options.FutureAllowance)
        {
            throw new ArgumentOutOfRangeException(
                nameof(asOf),
                $"{IsoTime.Format(t1)} is in the future (the engine's clock says {IsoTime.Format(clock.Now)}); saved segments are evaluated up to now at the latest.");
        }

        return (clock.Watermark - options.IngestLag, clock.Now);
    }

    /// <summary>Runs <paramref name="work"/> holding <paramref name="tenant"/>: one tick at a time per tenant.</summary>
    private async Task WithTenantLockAsync(string tenant, Func<Task> work, CancellationToken cancellationToken)
    {
        var tenantLock = tenantLocks.GetOrAdd(tenant, _ => new SemaphoreSlim(1, 1));
        await tenantLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await work().ConfigureAwait(false);
        }
        finally
        {
            tenantLock.Release();
        }
    }

    /// <summary>The tenant's live segment versions and their evaluation states, read side by side (under the tenant's lock).</summary>
    private async Task<(IReadOnlyList<SegmentVersion> Rows, IReadOnlyDictionary<string, SegmentState> States)> ReadSegmentsAsync(string tenant, CancellationToken cancellationToken)
    {
        var rows = segments.LiveVersionsAsync(tenant, cancellationToken);
        var states = segments.StatesAsync(tenant, null, cancellationToken);
        await Task.WhenAll(rows, states).ConfigureAwait(false);
        return (await rows.ConfigureAwait(false), await states.ConfigureAwait(false));
    }

    private async Task TickTenantAsync(
        Tick tick,
        string tenant,
        DateTime watermark,
        DateTime databaseNow,
        (IReadOnlyList<SegmentVersion> Rows, IReadOnlyDictionary<string, SegmentState> States) segmentsRead,
        IProgress<TickProgress>? progress,
        CancellationToken cancellationToken)
    {
        var (rows, states) = segmentsRead;

        // Not needed for correctness, only for speed: phase 2 reads its candidates' rows from the timelines and property
        // values from the current-value table (anything newer than either is read from the history). Phase 1 reads
        // only the history, so both refreshes run beside the first level's phase 1 and are awaited before its phase 2;
        // the timelines first, since the current values' refresh reads the changed profiles' history through them.
        var currentValues = rows.Count > 0 ? Task.Run(() => RefreshReadStructuresAsync(tick, tenant, watermark, cancellationToken), cancellationToken) : Task.CompletedTask;

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

    private async Task RefreshReadStructuresAsync(Tick tick, string tenant, DateTime watermark, CancellationToken cancellationToken)
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

        // Up to the watermark the tick started with (it records that one in the states): no second clock read.
        var refreshed = await currentTraits.RefreshToWatermarkAsync(tenant, watermark, cancellationToken).ConfigureAwait(false);
        tick.AddRows(refreshed.RowsRead);
    }

    /// <summary>
    /// What the last tick left running after it returned: the release of the memory it freed, then the timelines refresh
    /// that <see cref="EvaluatorOptions.RefreshTimelinesAfterTick"/> moves out of the tick; completed when none runs; its
    /// result is the rows that refresh read. Benchmarks and tests await it.
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

    /// <summary>
    /// Starts what follows a tick in the background, unless the previous one still runs (it returns memory after its own
    /// work, and the next tick starts another): the release of what the tick freed, then the timelines refresh of
    /// <paramref name="tenants"/> when <see cref="EvaluatorOptions.RefreshTimelinesAfterTick"/> is on.
    /// </summary>
    private void StartAfterTick(IReadOnlyList<string> tenants)
    {
        lock (afterTickLock)
        {
            if (!afterTick.IsCompleted || disposing.IsCancellationRequested)
            {
                return;
            }

            var refresh = options.RefreshTimelinesAfterTick && timelines is not null;
            afterTick = Task.Run(async () =>
            {
                await ReleaseAfterTickAsync(disposing.Token).ConfigureAwait(false);
                return refresh ? await RefreshTimelinesAsync(tenants, disposing.Token).ConfigureAwait(false) : 0UL;
            });
        }
    }

    private async Task ReleaseAfterTickAsync(CancellationToken cancellationToken)
    {
        try
        {
            await engine.ReleaseFreedMemoryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            // Only a matter of memory: the next tick starts with the same release.
            logger.LogWarning(exception, "Returning the memory a tick freed to the system failed");
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

        // A referencing segment waits for its references only when its phase 1 reads their log of this tick: when it
        // is evaluated incrementally (its version settled) and one of its chain takes a new definition this tick (see
        // CandidateQuery.PhaseOneSegment). Otherwise it runs beside them. A new or changed version is evaluated whole by
        // its compiled query, which inlines every reference, so it reads none of their membership (on the benchmark's
        // 12 edited segments the one referencing segment ran 350-460 ms alone after the others, as a level of its own);
        // it goes beside them when its whole chain does too, so that their failures are known before its state is written.
        var liveVersions = rows.ToDictionary(r => r.SegmentId, r => r.Version, StringComparer.Ordinal);
        bool Settled(string id) =>
            states.TryGetValue(id, out var state)
            && liveVersions.TryGetValue(id, out var version)
            && state.Version == version
            && state.EvaluatedAt <= databaseNow + options.FutureAllowance;
        var inlined = new HashSet<string>(StringComparer.Ordinal);
        bool ChainSettled(string id) => Closure(definitions[id], definitions).Keys.All(Settled);
        var levels = Levels(
            tenant,
            definitions,
            tick,
            id => Settled(id) ? ChainSettled(id) : Closure(definitions[id], definitions).Keys.All(c => !Settled(c) || ChainSettled(c)),
            inlined);
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

                    tick.Add(new SegmentTickResult(id, state.Size, 0, 0, 0) { Tenant = tenant });
                    continue;
                }

                toPlan.Add((row, definition, state));
            }

            // The roll-forward check of the whole level in one statement (it almost never finds anything), beside phase 1:
            // phase 1 reads the history and the log, which the roll-forward only replays into membership. A lookup of
            // one-sided candidates of its own reads membership, so it comes after; read inside phase 1, membership may be
            // older than the roll-forward, whose profiles become candidates anyway. Phase 1, the longer, asks for a
            // connection first.
            var planning = PlanLevelAsync(tick, tenant, toPlan, definitions, inlined, watermark, cancellationToken);
            var rollingForward = membership.RollForwardAsync(tenant, [.. toPlan.Select(p => (p.Row.SegmentId, p.State?.EvaluatedAt))], cancellationToken);
            try
            {
                jobs.AddRange(await planning.ConfigureAwait(false));
                foreach (var job in jobs)
                {
                    // Phase 1 of a segment evaluated incrementally reads the log of the tick of each segment it
                    // references, now or, should it fail, at its next tick (from its stored evaluation time, before this
                    // one). A segment evaluated whole reads none: a new or changed version stays whole until it has a
                    // state of its own version, and its compiled query inlines its references.
                    job.LogReadByOthers = definitions.Any(other =>
                        Settled(other.Key) && SegmentReads.Of(other.Value.Condition).References.Contains(job.SegmentId));
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

            // A segment evaluated whole beside its references keeps its previous state when one of its chain failed:
            // phase 1 of its next tick would read that reference's log from this tick, which it did not write.
            foreach (var (job, _) in finished.ToList())
            {
                if (inlined.Contains(job.SegmentId) && !Settled(job.SegmentId)
                    && Closure(definitions[job.SegmentId], definitions).Keys.Order(StringComparer.Ordinal).FirstOrDefault(r => tick.Failures.ContainsKey($"{tenant}/{r}")) is { } failed)
                {
                    tick.Fail(tenant, job.SegmentId, new InvalidOperationException($"Referenced segment '{failed}' failed at {tick.T1:O}; retried next tick."));
                    finished.RemoveAll(f => f.Job == job);
                }
            }

            // The level's states in one write, after all its chunks: a segment's evaluation time advances only once
            // its membership is complete, and a failed write leaves every one of them to be repaired next tick.
            try
            {
                await segments.WriteStatesAsync(
                    tenant,
                    [.. finished.Select(f => (f.Job.SegmentId, new SegmentState(f.Job.Version, tick.T1, f.Job.Watermark, f.Size, f.Job.Generation)))],
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
                tick.Add(new SegmentTickResult(job.SegmentId, size, job.Entered, job.Exited, job.CandidateCount) { Tenant = tenant, RowsRead = job.RowsRead, Work = job.Work, EvaluatedWhole = job.Whole, NewVersion = job.Previous?.Version != job.Version, Version = job.Version });
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
}
