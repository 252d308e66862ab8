using System.ComponentModel;
using System.Globalization;
using System.Text.Json.Serialization;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp.Tools;

internal sealed record StaticListItem(string ListId, string Name, DateTime CreatedAt, long Size, IReadOnlyList<string> UsedBy);

internal sealed record GetListResult(
    string ListId,
    string Name,
    DateTime CreatedAt,
    long Size,
    DateTime At,
    IReadOnlyList<string> Members,
    string? NextCursor,
    IReadOnlyList<string> UsedBy,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<MemberProfile>? Profiles = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null);

internal sealed record DeleteListResult(string ListId, bool Deleted);

internal sealed record ListListsResult(IReadOnlyList<StaticListItem> Lists);

internal sealed record ListChangeResult(
    string ListId,
    int Changed,
    long Size,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null);

internal sealed record CreateListResult(
    string ListId,
    string Name,
    DateTime CreatedAt,
    long Size,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null);

/// <summary>Static lists: uploaded sets of profile ids that segments use with {"in_list": {"id": …}}.</summary>
[McpServerToolType]
internal sealed class ListTools(ITenantAccessor tenant, ListStore lists, ProfileReader profiles, DefinitionService definitions, MemberProfiles memberProfiles)
{
    [McpServerTool(Name = "create_list", Title = "Create a static list", ReadOnly = false, Destructive = false, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Creates a static list of profile ids (up to 10,000 per call; add more with add_to_list) and returns its list_id.
        Use a list when a person has ids from elsewhere (a CRM export, a test group, a suppression list); segments use
        it as {"in_list": {"id": LIST_ID}}. Every add and remove is kept with its time, so a segment evaluated at an
        earlier time sees the list as it was then. Ids no data has yet are kept, and a note names them. Example:
        {"name": "Beta testers", "profile_ids": ["u1", "u2"]}.
        """)]
    public async Task<CreateListResult> CreateList(
        [Description("A name for people, e.g. \"Beta testers\"; the id is derived from it.")] string name,
        [Description("The profile ids to put on the list, at most 10,000 (duplicates count once).")] string[] profile_ids,
        CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new McpException("name: required; give a non-empty name such as \"Beta testers\".");
        }

        var created = await Run(() => lists.CreateAsync(tenant.Tenant, name, profile_ids ?? [], cancellationToken)).ConfigureAwait(false);
        return new CreateListResult(created.Id, created.Name, created.CreatedAt, created.Size, await WithoutDataNoteAsync(profile_ids ?? [], cancellationToken).ConfigureAwait(false));
    }

    [McpServerTool(Name = "add_to_list", Title = "Add profiles to a static list", ReadOnly = false, Destructive = false, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Puts profile ids on a static list (up to 10,000 per call); ids already on it are left as they are. Returns how
        many were added and the list's size. Segments using the list change at their next evaluation. Example:
        {"list_id": "beta-testers-3f9a", "profile_ids": ["u3"]}.
        """)]
    public Task<ListChangeResult> AddToList(
        [Description("The list's id (from create_list or list_lists).")] string list_id,
        [Description("The profile ids to add, at most 10,000.")] string[] profile_ids,
        CancellationToken cancellationToken = default) =>
        ChangeAsync(list_id, profile_ids, add: true, cancellationToken);

    [McpServerTool(Name = "remove_from_list", Title = "Remove profiles from a static list", ReadOnly = false, Destructive = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Takes profile ids off a static list (up to 10,000 per call); ids not on it are ignored. The removal is
        recorded with its time (earlier evaluations still see them on the list). Returns how many were removed and the
        list's size. Example: {"list_id": "beta-testers-3f9a", "profile_ids": ["u3"]}.
        """)]
    public Task<ListChangeResult> RemoveFromList(
        [Description("The list's id (from create_list or list_lists).")] string list_id,
        [Description("The profile ids to remove, at most 10,000.")] string[] profile_ids,
        CancellationToken cancellationToken = default) =>
        ChangeAsync(list_id, profile_ids, add: false, cancellationToken);

    [McpServerTool(Name = "list_lists", Title = "List the static lists", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Every static list of this workspace: list_id (for {"in_list": {"id": …}}), name, creation time and how many
        profiles are on it now. Example: {}.
        """)]
    public async Task<ListListsResult> ListLists(CancellationToken cancellationToken = default)
    {
        var reading = lists.ListAsync(tenant.Tenant, cancellationToken);
        var users = await definitions.ListUsersAsync(tenant.Tenant, cancellationToken).ConfigureAwait(false);
        var all = await reading.ConfigureAwait(false);
        return new ListListsResult([.. all.Select(l => new StaticListItem(l.Id, l.Name, l.CreatedAt, l.Size, users.GetValueOrDefault(l.Id) ?? []))]);
    }

    [McpServerTool(Name = "get_list", Title = "Show a static list and who is on it", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Shows one static list: its name, creation time, size, the saved segments that use it (used_by) and the profile
        ids on it now (or at as_of), in id order, 100 per page by default (limit up to 1000); pass next_cursor back as
        cursor for the next page. Name profile properties in properties (e.g. email) to get each listed profile's
        values. Use it for "who is on my suppression list?" or to check an upload. Example: {"list_id":
        "beta-testers-3f9a", "properties": ["email"]}.
        """)]
    public async Task<GetListResult> GetList(
        [Description("The list's id (from create_list or list_lists).")] string list_id,
        [Description("Profile ids per page, 1–1000 (default 100).")] int? limit = null,
        [Description("next_cursor of the previous get_list call for this list; omit for the first page.")] string? cursor = null,
        [Description("ISO-8601 UTC time: who was on the list then (every add and remove is kept); default now.")] string? as_of = null,
        [Description(MemberProfiles.ArgumentDescription)] string[]? properties = null,
        CancellationToken cancellationToken = default)
    {
        var take = ToolSupport.Limit(limit);
        var position = Cursor.Decode(cursor, "get_list", 3);
        var list = await RequireAsync(list_id, cancellationToken).ConfigureAwait(false);
        if (position is not null && position[0] != list.Id)
        {
            throw new McpException("cursor: this cursor belongs to another list; omit it to start from the beginning.");
        }

        // Later pages read the list at the first page's time, so an add between pages neither repeats nor skips anyone.
        var at = position is not null
            ? DateTime.Parse(position[1], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal)
            : ToolSupport.Time(as_of, "as_of") ?? Milliseconds(DateTime.UtcNow);
        var names = await memberProfiles.NamesAsync(tenant.Tenant, properties, cancellationToken).ConfigureAwait(false);
        var usedBy = definitions.UsersOfListAsync(tenant.Tenant, list.Id, cancellationToken);
        var members = await lists.MembersAsync(tenant.Tenant, list.Id, at, position?[2], take + 1, cancellationToken).ConfigureAwait(false);
        var page = members.Take(take).ToList();
        var size = as_of is null && position is null ? list.Size : await lists.SizeAsync(tenant.Tenant, list.Id, at, cancellationToken).ConfigureAwait(false);
        var details = await memberProfiles.DescribeAsync(tenant.Tenant, page, names, at, cancellationToken).ConfigureAwait(false);
        return new GetListResult(
            list.Id,
            list.Name,
            list.CreatedAt,
            size,
            at,
            page,
            members.Count > take ? Cursor.Encode("get_list", list.Id, ToolSupport.Iso(at), page[^1]) : null,
            await usedBy.ConfigureAwait(false),
            details,
            at < list.CreatedAt ? $"as_of {ToolSupport.Iso(at)} is before the list was created at {ToolSupport.Iso(list.CreatedAt)}, so no one was on it then." : null);
    }

    [McpServerTool(Name = "delete_list", Title = "Delete a static list", ReadOnly = false, Destructive = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Deletes a static list with its whole add/remove history: it disappears from list_lists and no profile is on it
        at any time any more. This cannot be undone: confirm with the person first. Refused while a saved segment uses
        it (in_list): change or delete those segments first (list_lists and get_list name them in used_by). Deleting a
        list that does not exist returns deleted = false. Example: {"list_id": "beta-testers-3f9a"}.
        """)]
    public async Task<DeleteListResult> DeleteList(
        [Description("The id of the list to delete.")] string list_id,
        CancellationToken cancellationToken = default)
    {
        var id = ToolSupport.Required(list_id, "list_id");
        var users = await definitions.UsersOfListAsync(tenant.Tenant, id, cancellationToken).ConfigureAwait(false);
        if (users.Count > 0)
        {
            throw new McpException($"list_id: '{ToolSupport.Echo(id)}' is used by {Suggestions.JoinQuoted(users, "and")}; change or delete those segments first.");
        }

        return new DeleteListResult(id, await lists.DeleteAsync(tenant.Tenant, id, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Now as the list's rows store time, so the reported time is the one the cursor carries.</summary>
    private static DateTime Milliseconds(DateTime utc) => new(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Utc);

    private Task<StaticList> RequireAsync(string? listId, CancellationToken cancellationToken) => RequireAsync(lists, tenant.Tenant, listId, cancellationToken);

    /// <summary>The tenant's list <paramref name="listId"/>, or an error naming the closest ids and names.</summary>
    internal static async Task<StaticList> RequireAsync(ListStore lists, string company, string? listId, CancellationToken cancellationToken)
    {
        var id = ToolSupport.Required(listId, "list_id");
        if (await lists.GetAsync(company, id, cancellationToken).ConfigureAwait(false) is { } list)
        {
            return list;
        }

        var known = await lists.ListAsync(company, cancellationToken).ConfigureAwait(false);
        throw new McpException($"list_id: no list '{ToolSupport.Echo(id)}' in this workspace.{Suggestions.DidYouMeanNamed(id, known.Select(l => (l.Id, l.Name)))} Call list_lists to see the lists.");
    }

    private async Task<ListChangeResult> ChangeAsync(string list_id, string[] profile_ids, bool add, CancellationToken cancellationToken)
    {
        var id = (await RequireAsync(list_id, cancellationToken).ConfigureAwait(false)).Id;
        var company = tenant.Tenant;
        var change = await Run(() => add
            ? lists.AddAsync(company, id, profile_ids ?? [], cancellationToken)
            : lists.RemoveAsync(company, id, profile_ids ?? [], cancellationToken)).ConfigureAwait(false);
        return new ListChangeResult(change.ListId, change.Changed, change.Size, add ? await WithoutDataNoteAsync(profile_ids ?? [], cancellationToken).ConfigureAwait(false) : null);
    }

    /// <summary>
    /// Ids are kept whether or not data has them (a CRM export may name people before their first event), but a slip
    /// (a wrong prefix, another case) would leave a list that matches no one: say which ids have no data yet.
    /// </summary>
    private Task<string?> WithoutDataNoteAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        WithoutDataNoteAsync(profiles, tenant.Tenant, ids, cancellationToken);

    internal static async Task<string?> WithoutDataNoteAsync(ProfileReader profiles, string company, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var without = new List<string>();
        foreach (var batch in ids.Chunk(ListStore.MaxProfilesPerCall))
        {
            without.AddRange(await profiles.WithoutDataAsync(company, batch, cancellationToken).ConfigureAwait(false));
        }

        if (without.Count == 0)
        {
            return null;
        }

        var examples = string.Join(", ", without.Take(5).Select(id => $"'{ToolSupport.Echo(id)}'"));
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{without.Count:N0} of these ids ({examples}{(without.Count > 5 ? ", …" : string.Empty)}) {(without.Count == 1 ? "has" : "have")} no events or profile records in this workspace yet. They are on the list and count once data with those ids arrives; ids are exact and case-sensitive.");
    }

    /// <summary>The store's argument errors (an empty or too long id) as tool errors.</summary>
    private static async Task<T> Run<T>(Func<Task<T>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (ArgumentException exception)
        {
            throw new McpException(exception.Message.Split(" (Parameter", 2)[0]);
        }
    }
}
