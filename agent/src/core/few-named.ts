const NAMED = 3;

/** The first few of a long list by name, the rest counted: a flip's line stays readable with hundreds of tenants. */
export function fewNamed(items: string[], separator = ", "): string {
    if (items.length <= NAMED + 1) return items.join(separator);
    return `${items.slice(0, NAMED).join(separator)}${separator}and ${items.length - NAMED} more databases`;
}
