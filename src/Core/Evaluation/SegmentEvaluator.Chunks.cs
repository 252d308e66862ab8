using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.Evaluation;

/// <summary>Phase 2: chunks on the queue, the workers, whole evaluations and their writes.</summary>
public sealed partial class SegmentEvaluator
{
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
            var stored = membership.StoredMembersOfPairs(tenant, [.. live.Select(p => p.Work.SegmentId)], SegmentCompiler.CandidateSegments, SegmentCompiler.CandidateIds, [.. live.Select(p => p.Job.Generation)])
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
                [.. own.Where(c => !c.IsMember).Select(c => c.Profile).Order(StringComparer.Ordinal)]) { Generation = job.Generation });
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
        writer.Add(work, job, new SegmentChanges(work.SegmentId, entered, exited) { Generation = job.Generation });
    }

    /// <summary>
    /// A chunk's transitions: the restricted query diffed against the stored members of its candidates, in the engine
    /// when membership has a key lookup (one statement; a statement each cost 30–50 ms a chunk), else here.
    /// </summary>
    private async Task<(List<string> Entered, List<string> Exited, ulong RowsRead)> ChangesAsync(SegmentJob job, ChunkWork work, CancellationToken cancellationToken)
    {
        var options = new CompileOptions(work.EvaluatedAt, CompileMode.Restricted, work.ProfileIds);
        if (membership.StoredMembersAmong(work.Tenant, work.SegmentId, SegmentCompiler.CandidateIds, job.Generation) is { } storedMembers)
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

        if (job.Previous is { } previous && previous.Version != job.Version && job.AloneAt(work.EvaluatedAt)
            && membership.WritesEditsAsGenerations && !job.LogReadByOthers)
        {
            // An edit, on one engine: its members written as a first evaluation's are, into a generation of their own
            // (the version's number), the previous generation kept as the members just before the edit, from which the
            // readers of the past derive the edit's entries. The diff's log and the rewrite of the buckets from it cost
            // about a third of the queries (see WriteGenerationAsync); membership moves to the new generation with the state.
            var members = SegmentCompiler.CompileMembers(job.Definition, schema, options);
            job.Logged = await membership.WriteGenerationAsync(work.Tenant, work.SegmentId, job.Version, previous.Generation, members, hook, cancellationToken).ConfigureAwait(false);
            job.Generation = job.Version;
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
            await membership.WriteChangesAsync(work.Tenant, work.EvaluatedAt, [new SegmentChanges(work.SegmentId, enteredBatch, exitedBatch) { Generation = job.Generation }], hook, cancellationToken).ConfigureAwait(false);
            job.AddChanges(enteredBatch.Count, exitedBatch.Count);
            e += enteredBatch.Count;
            x += exitedBatch.Count;
        }

        logger.LogDebug(
            "{Tenant}/{Segment} v{Version} evaluated whole: {Entered} entered, {Exited} exited",
            work.Tenant, work.SegmentId, work.Version, entered.Count, exited.Count);
    }
}
