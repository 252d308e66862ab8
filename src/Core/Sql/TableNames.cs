namespace SegmentMcp.Core.Sql;

/// <summary>
/// The qualified names of SegmentMcp's tables in one database: all the query builders need of the storage schema.
/// The database name is checked against the identifier allow-list here, so every name below is safe SQL text.
/// </summary>
public class TableNames
{
    public TableNames(string database)
    {
        Database = Identifiers.RequireName(database, "database name");
    }

    public string Database { get; }

    public string Events => $"{Database}.events";

    public string ProfileUpdates => $"{Database}.profile_updates";

    public string Traits => $"{Database}.traits";

    public string Profiles => $"{Database}.profiles";

    /// <summary>Each profile's current value of each property, sorted by value: an accelerator of <see cref="Traits"/>.</summary>
    public string CurrentTraits => $"{Database}.current_traits";

    /// <summary>Per tenant, the ingestion time up to which <see cref="CurrentTraits"/> reflects the trait history.</summary>
    public string CurrentTraitsWatermark => $"{Database}.current_traits_watermark";

    public string Segments => $"{Database}.segments";

    public string SegmentState => $"{Database}.segment_state";

    public string Membership => $"{Database}.membership";

    public string MembershipLog => $"{Database}.membership_log";

    public string SchemaVersions => $"{Database}.schema_versions";

    /// <summary>Static lists of a tenant: id, name, creation time.</summary>
    public string Lists => $"{Database}.lists";

    /// <summary>Every add and remove of a profile on a static list, with its time.</summary>
    public string ListMembers => $"{Database}.list_members";

    /// <summary>Each saved segment's first evaluation time (the start of its membership log).</summary>
    public string SegmentFirstEvaluation => $"{Database}.segment_first_evaluation";
}
