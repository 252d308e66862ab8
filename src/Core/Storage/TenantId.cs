namespace SegmentMcp.Core.Storage;

/// <summary>
/// The one rule for a tenant (company) id, wherever one enters: <c>--company</c> on every verb, <c>company_id</c> in
/// ingested records, and the tenants of a keys file. An id is any text of 1 to <see cref="MaxLength"/> characters
/// (Unicode scalar values): a tenant that can be loaded can be served. That is safe because a tenant id never becomes
/// SQL text (it is always bound as a query parameter, like a profile id) nor a file name.
/// </summary>
public static class TenantId
{
    public const int MaxLength = 256;

    /// <summary>The rule in words, for messages.</summary>
    public const string Rule = "1 to 256 characters";

    public static bool IsValid(string? id) => Problem(id) is null;

    /// <summary>Why <paramref name="id"/> is not a tenant id (a phrase such as "is empty"), or null when it is one.</summary>
    public static string? Problem(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return "is empty";
        }

        // Characters never outnumber UTF-16 code units: count them only when it could matter.
        if (id.Length <= MaxLength)
        {
            return null;
        }

        var length = id.EnumerateRunes().Count();
        return length > MaxLength ? $"is longer than {MaxLength} characters ({length})" : null;
    }

    /// <summary>Returns <paramref name="id"/>, or throws naming <paramref name="what"/> (the flag or field it came from).</summary>
    public static string Require(string? id, string what = "tenant id")
    {
        var problem = Problem(id);
        return problem is null ? id! : throw new ArgumentException($"{what} {problem}: a tenant id is {Rule}.", nameof(id));
    }
}
