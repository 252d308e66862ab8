using System.Text;

namespace SegmentMcp.Tests.Sql;

/// <summary>
/// Lays compiled SQL out one clause per line, each subquery indented, so a baseline's diff shows which clause changed.
/// Only whitespace outside string literals changes; the engine runs the original text.
/// </summary>
public static class GoldenSql
{
    private static readonly string[] Clauses =
        ["SELECT ", "FROM ", "LEFT JOIN ", "INNER JOIN ", "WHERE ", "GROUP BY ", "HAVING ", "ORDER BY ", "LIMIT ", "SETTINGS ", "UNION ALL ", "UNION DISTINCT "];

    public static string Format(string sql)
    {
        var text = new StringBuilder();
        var depth = 0;
        var quoted = false;
        for (var i = 0; i < sql.Length; i++)
        {
            var c = sql[i];
            if (quoted)
            {
                text.Append(c);
                if (c == '\\' && i + 1 < sql.Length)
                {
                    text.Append(sql[++i]);
                }
                else if (c == '\'')
                {
                    quoted = false;
                }

                continue;
            }

            switch (c)
            {
                case '\'':
                    quoted = true;
                    text.Append(c);
                    continue;
                case '(':
                    depth++;
                    text.Append(c);
                    if (StartsClause(sql, i + 1) is "SELECT ")
                    {
                        NewLine(text, depth);
                    }

                    continue;
                case ')':
                    depth--;
                    text.Append(c);
                    continue;
                case ' ' when StartsClause(sql, i + 1) is not null:
                    NewLine(text, depth);
                    continue;
                default:
                    text.Append(c);
                    continue;
            }
        }

        return text.ToString();
    }

    private static string? StartsClause(string sql, int at) =>
        Clauses.FirstOrDefault(clause => string.CompareOrdinal(sql, at, clause, 0, clause.Length) == 0);

    private static void NewLine(StringBuilder text, int depth) => text.Append('\n').Append(' ', depth * 2);
}
