namespace SegmentMcp.Core.Demo;

/// <summary>The fixed vocabulary of the demo shop: names, places, product categories and their typical prices.</summary>
internal static class DemoCatalog
{
    public static readonly string[] FirstNames =
    [
        "Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mateo",
        "Amelia", "Ethan", "Harper", "Mason", "Evelyn", "Logan", "Abigail", "Oliver", "Emily", "Jacob", "Ella", "Aiden",
        "Chloe", "Daniel", "Grace", "Henry", "Zoe", "Samuel", "Lea", "Jonas", "Hannah", "Felix", "Camille", "Hugo",
        "Chiara", "Marco", "Sofia", "Diego", "Lucia", "Pablo", "Yuki", "Haruto", "Aiko", "Ren", "Priya", "Arjun",
        "Ana", "Joao", "Fatima", "Omar", "Ingrid", "Lars", "Freya", "Noor", "Chen", "Mei", "Kofi", "Amara",
    ];

    public static readonly string[] LastNames =
    [
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez", "Lopez", "Wilson",
        "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Walker", "Hall", "Young", "King", "Wright",
        "Muller", "Schmidt", "Schneider", "Fischer", "Dubois", "Lefevre", "Rossi", "Russo", "Fernandez", "Silva",
        "Santos", "Tanaka", "Suzuki", "Sato", "Patel", "Sharma", "Kim", "Park", "Nguyen", "Andersen", "Nielsen",
    ];

    public static readonly string[] EmailDomains = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me", "hey.com"];

    /// <summary>(city, ISO country), repeated by weight so a uniform pick favours the big markets.</summary>
    public static readonly (string City, string Country)[] Places = Weighted(
    [
        (("New York", "US"), 9), (("Los Angeles", "US"), 6), (("Chicago", "US"), 4), (("Boston", "US"), 3),
        (("Seattle", "US"), 3), (("Austin", "US"), 3), (("Miami", "US"), 2), (("Denver", "US"), 2),
        (("London", "GB"), 6), (("Manchester", "GB"), 2), (("Toronto", "CA"), 3), (("Montréal", "CA"), 2),
        (("Berlin", "DE"), 3), (("München", "DE"), 2), (("Paris", "FR"), 3), (("Lyon", "FR"), 1),
        (("Madrid", "ES"), 2), (("Barcelona", "ES"), 2), (("Milan", "IT"), 2), (("Amsterdam", "NL"), 2),
        (("Zürich", "CH"), 1), (("Stockholm", "SE"), 1), (("Sydney", "AU"), 2), (("Melbourne", "AU"), 2),
        (("Tokyo", "JP"), 2), (("São Paulo", "BR"), 2), (("Mexico City", "MX"), 2),
    ]);

    /// <summary>Plans by weight: most customers on the free plan.</summary>
    public static readonly string[] Plans = Weighted([("free", 12), ("basic", 5), ("premium", 3)]);

    /// <summary>Product categories with a median price.</summary>
    public static readonly (string Name, double MedianPrice)[] Categories =
    [
        ("shoes", 85), ("apparel", 45), ("electronics", 220), ("home", 60), ("beauty", 28), ("books", 18),
        ("toys", 32), ("sports", 70), ("jewelry", 140), ("grocery", 24),
    ];

    private static T[] Weighted<T>((T Item, int Weight)[] items) => [.. items.SelectMany(i => Enumerable.Repeat(i.Item, i.Weight))];
}
