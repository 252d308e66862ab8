namespace SegmentMcp.Core.Demo;

/// <summary>
/// SplitMix64: a tiny, fast generator whose sequence is fixed by its seed on every platform and .NET version
/// (System.Random's seeded algorithm is not a documented contract), so demo data is the same everywhere.
/// </summary>
internal struct DemoRandom(ulong seed)
{
    private ulong state = seed;

    /// <summary>A generator for one profile: independent of every other profile, so each can be simulated alone.</summary>
    public static DemoRandom For(long seed, long profile, ulong stream) =>
        new(Mix(((ulong)seed * 0x9E3779B97F4A7C15UL) ^ Mix(((ulong)profile << 8) ^ stream)));

    public ulong NextUInt64()
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, <paramref name="maxExclusive"/>).</summary>
    public int Next(int maxExclusive) => (int)((NextUInt64() >> 33) * (ulong)maxExclusive >> 31);

    public bool Chance(double probability) => NextDouble() < probability;

    /// <summary>Exponential with the given mean (gaps between independent events).</summary>
    public double Exponential(double mean) => -mean * Math.Log(1 - NextDouble());

    /// <summary>Pareto with minimum 1 and shape <paramref name="alpha"/>: a few very active profiles, many quiet ones.</summary>
    public double Pareto(double alpha) => Math.Pow(1 - NextDouble(), -1 / alpha);

    /// <summary>Log-normal around <paramref name="median"/> (prices, order values).</summary>
    public double LogNormal(double median, double sigma)
    {
        // Box–Muller: one normal sample from two uniforms.
        var normal = Math.Sqrt(-2 * Math.Log(1 - NextDouble())) * Math.Cos(2 * Math.PI * NextDouble());
        return median * Math.Exp(sigma * normal);
    }

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
