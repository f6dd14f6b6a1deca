/**
 * `GET /v1/users` (GetUserList in Clerk's OpenAPI, 2026-05-12): `limit` (1–500, default 10),
 * `offset` (default 0), `order_by` (default `-created_at`) and the `starting_after` cursor (only
 * with a `created_at` ordering and no offset), plus the `user_id` filter. Other filters of the
 * spec are accepted and ignored (the local users have no emails, phones or sessions).
 */
import type { ClerkErrorItem } from "./routes.js";
import type { StoredUser } from "./store.js";

const ORDER_FIELDS = [
  "created_at", "updated_at", "email_address", "web3wallet", "first_name", "last_name", "phone_number", "username",
  "last_active_at", "last_sign_in_at",
] as const;

function invalid(name: string, expected: string): ClerkErrorItem {
  return {
    message: "is invalid",
    long_message: `${name} must be ${expected}.`,
    code: "form_param_value_invalid",
    meta: { param_name: name },
  };
}

function integer(params: URLSearchParams, name: string, fallback: number, min: number, max: number): number | ClerkErrorItem {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : invalid(name, `an integer from ${min} to ${max}`);
}

/** A sort key: the field's value, then the id, so equal values keep one order between pages. */
function sortValue(u: StoredUser | Position, field: string): string | number {
  if (field === "created_at") return u.createdAt;
  if ("updatedAt" in u && field === "updated_at") return u.updatedAt;
  if ("profile" in u && (field === "first_name" || field === "last_name" || field === "username")) return u.profile[field] ?? "";
  return "";
}

/** Where a user sits in the created_at ordering; kept for deleted users so their id stays a valid cursor. */
export interface Position {
  id: string;
  createdAt: number;
}

/** One page of users, or the refusal (422) of bad parameters. */
export function listUsers(
  all: StoredUser[],
  query: string,
  positionOf: (id: string) => Position | undefined,
): { page: StoredUser[] } | { errors: ClerkErrorItem[] } {
  const params = new URLSearchParams(query);
  const limit = integer(params, "limit", 10, 1, 500);
  const offset = integer(params, "offset", 0, 0, Number.MAX_SAFE_INTEGER);
  const errors = [limit, offset].filter((v): v is ClerkErrorItem => typeof v !== "number");
  const orderBy = params.get("order_by") ?? "-created_at";
  const m = /^([+-]?)(.*)$/.exec(orderBy);
  const field = m?.[2] ?? "";
  if (!(ORDER_FIELDS as readonly string[]).includes(field)) errors.push(invalid("order_by", `one of ${ORDER_FIELDS.join(", ")}, with an optional + or -`));
  const cursor = params.get("starting_after");
  if (cursor !== null && field !== "created_at") errors.push(invalid("starting_after", "used with a created_at ordering only"));
  if (cursor !== null && offset !== 0) errors.push(invalid("offset", "0 (or absent) with starting_after"));
  const at = cursor === null ? undefined : positionOf(cursor);
  if (cursor !== null && at === undefined) errors.push(invalid("starting_after", "the id of a user"));
  if (errors.length > 0 || typeof limit !== "number" || typeof offset !== "number") return { errors };
  const sign = m?.[1] === "-" ? -1 : 1;
  const compare = (a: StoredUser | Position, b: StoredUser | Position): number => {
    const va = sortValue(a, field);
    const vb = sortValue(b, field);
    const byValue = va < vb ? -1 : va > vb ? 1 : 0;
    return sign * (byValue !== 0 ? byValue : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  };
  const ids = params.getAll("user_id");
  const include = ids.filter((id) => !id.startsWith("-")).map((id) => id.replace(/^\+/, ""));
  const exclude = new Set(ids.filter((id) => id.startsWith("-")).map((id) => id.slice(1)));
  let users = all.filter((u) => !exclude.has(u.id) && (include.length === 0 || include.includes(u.id)));
  users.sort(compare);
  if (at !== undefined) users = users.filter((u) => compare(u, at) > 0);
  return { page: users.slice(offset, offset + limit) };
}
