using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.Evaluation;

/// <summary>Phase 1: each level's candidates, the one-sided lookups and the rules that evaluate a segment whole.</summary>
public sealed partial class SegmentEvaluator
{
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
        var shared = new List<List<(SegmentVersion Row, SegmentDefinition Definition, SegmentState? State)>>();
        foreach (var group in groups)
        {
            var members = group.ToList();
            if (members.Count == 1)
            {
                alone.AddRange(members);
                continue;
            }

            // Side by side in parts (PhaseOneStatements): a statement is planned on one thread, and planning is about
            // half of phase 1's statement.
            var parts = Math.Clamp(options.PhaseOneStatements, 1, members.Count / 2);
            shared.AddRange(Enumerable.Range(0, parts).Select(part => members.Where((_, i) => i % parts == part).ToList()));
        }

        var planned = await Task.WhenAll(shared.Select(async members =>
        {
            try
            {
                return await PlanTogetherAsync(tick, tenant, members, definitions, inlined, watermark, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogWarning(exception, "Phase 1 of {Count} segments of {Tenant} in one statement failed; planning them one by one", members.Count, tenant);
                lock (alone)
                {
                    alone.AddRange(members);
                }

                return [];
            }
        })).ConfigureAwait(false);
        foreach (var part in planned)
        {
            jobs.AddRange(part);
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
        var phaseOne = CandidateQuery.IncrementalBatchFragment(
            schema,
            tenant,
            [.. group.Select((p, i) => new CandidateQuery.PhaseOneSegment(p.Definition, references[i], inlined.Contains(p.Row.SegmentId)))],
            state0.EvaluatedAt,
            tick.T1,
            state0.IngestWatermark);

        // Stored membership read now, before the roll-forward beside it may have written: a profile it rolls forward
        // becomes a candidate of its segment whatever phase 1 said (AddRolledForward).
        var resolved = options.ResolveOneSidedInPhaseOne
            ? membership.OneSidedResolved(tenant, [.. group.Select(p => p.Row.SegmentId)], phaseOne, [.. group.Select(p => p.State?.Generation ?? 0)])
            : null;
        var result = await engine.QueryAsync((resolved ?? phaseOne).ToStatement(), cancellationToken).ConfigureAwait(false);
        var rows = result.Statistics.RowsRead;
        var candidates = group.Select(_ => new List<string>()).ToList();
        var conditional = group.Select(_ => new List<(string Profile, ChangeDirection Direction)>()).ToList();
        foreach (var (segment, profile, directions) in result.Read(row => (row.Get<int>(0), row.GetString(1), (ChangeDirection)row.Get<int>(2))))
        {
            if (resolved is not null || directions.HasFlag(ChangeDirection.Any) || directions.HasFlag(ChangeDirection.IfMember | ChangeDirection.IfNotMember))
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
}
