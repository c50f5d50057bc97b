import { IssueCode, type Issues, type Path } from "./issues.js";
import { Quantity } from "./quantity.js";
import { ValueParseError } from "./value-error.js";

/** A container's request may not exceed its limit, which the API server would refuse at deploy time. */
export function checkResources(resources: Record<string, unknown>, path: Path, issues: Issues): void {
  const requests = asMap(resources.requests);
  const limits = asMap(resources.limits);
  for (const [name, request] of Object.entries(requests)) {
    const limit = limits[name];
    const r = quantity(request);
    const l = quantity(limit);
    if (r && l && r.value > l.value) {
      issues.add([...path, "requests", name], `must be <= limits.${name} (${l}), got ${r}`, IssueCode.conflict);
    }
  }
}

function asMap(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function quantity(value: unknown): Quantity | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  try {
    return Quantity.parse(value);
  } catch (error) {
    if (error instanceof ValueParseError) return undefined;
    throw error;
  }
}
