/**
 * The local server's users: their metadata and profile fields, Clerk's merge-patch, and the User
 * JSON Clerk returns. No HTTP here; the routes decide what a request may do, this module holds
 * the state and the JSON rules.
 */
import type { Json, JsonObject, LocalUserSeed } from "../testing.js";

export const METADATA_FIELDS = ["public_metadata", "private_metadata", "unsafe_metadata"] as const;
export type MetadataField = (typeof METADATA_FIELDS)[number];
/** `PATCH /users/{id}` params that are stored and echoed back (string or null). */
export const STORED_USER_PARAMS = ["external_id", "first_name", "last_name", "locale", "username"] as const;
export type StoredUserParam = (typeof STORED_USER_PARAMS)[number];
/** Other `PATCH /users/{id}` params from the spec: accepted (200) but not modelled. */
export const IGNORED_USER_PARAMS: ReadonlySet<string> = new Set([
  "primary_email_address_id", "notify_primary_email_address_changed", "primary_phone_number_id",
  "profile_image_id", "password", "password_digest", "password_hasher", "skip_password_checks",
  "sign_out_of_other_sessions", "totp_secret", "backup_codes", "delete_self_enabled",
  "create_organization_enabled", "legal_accepted_at", "skip_legal_checks",
  "create_organizations_limit", "created_at", "bypass_client_trust",
]);

export interface StoredUser {
  id: string;
  metadata: Record<MetadataField, JsonObject>;
  profile: Record<StoredUserParam, string | null>;
  createdAt: number;
  updatedAt: number;
}

/** What `LocalClerkServer.getUser` hands out: copies, never the stored objects. */
export interface UserSnapshot {
  id: string;
  public_metadata: JsonObject;
  private_metadata: JsonObject;
  unsafe_metadata: JsonObject;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Define `key` as an own data property. Plain `obj[key] = v` with key "__proto__" would change the
 * object's prototype instead of storing data, so every write into user-controlled keys goes here.
 */
function setOwn(obj: JsonObject, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

function getOwn(obj: JsonObject, key: string): Json | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/**
 * Deep copy through JSON text: JSON.parse creates "__proto__" as an own data property (never a
 * prototype change), and the copy shares nothing with the caller's objects.
 */
export function cloneJson<T extends Json>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/**
 * Clerk's PATCH /metadata merge (JSON merge patch, RFC 7386): objects merge recursively, `null`
 * removes a key at any depth, arrays and scalars replace. Returns a new object; inputs untouched.
 */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const out: JsonObject = isJsonObject(target) ? cloneJson(target) : {};
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === undefined) continue;
    if (value === null) {
      delete out[key];
    } else {
      setOwn(out, key, mergePatch(getOwn(out, key), value));
    }
  }
  return out;
}

export function byteLength(v: Json): number {
  return Buffer.byteLength(JSON.stringify(v), "utf8");
}

function validateSeedField(id: string, field: MetadataField, v: unknown): JsonObject {
  if (v === undefined) return {};
  if (!isJsonObject(v)) throw new TypeError(`createUser(${JSON.stringify(id)}): ${field} must be a JSON object`);
  return cloneJson(v);
}

/** Users by id. Timestamps come from the server's clock (`options.now`). */
export class UserStore {
  private readonly users = new Map<string, StoredUser>();
  /** Deleted users' places in the created_at ordering: a cursor naming one still works. */
  private readonly gone = new Map<string, { id: string; createdAt: number }>();
  private readonly now: () => number;
  constructor(now: () => number) {
    this.now = now;
  }

  /** Create or replace a user, with fresh timestamps; throws on a bad id or seed field. */
  create(id: string, seed: LocalUserSeed = {}): void {
    if (typeof id !== "string" || id.length === 0) throw new TypeError("createUser: id must be a non-empty string");
    const t = this.now();
    const before = this.users.get(id);
    this.gone.delete(id);
    this.users.set(id, {
      id,
      metadata: {
        public_metadata: validateSeedField(id, "public_metadata", seed.public_metadata),
        private_metadata: validateSeedField(id, "private_metadata", seed.private_metadata),
        unsafe_metadata: validateSeedField(id, "unsafe_metadata", seed.unsafe_metadata),
      },
      profile: { external_id: null, first_name: null, last_name: null, locale: null, username: null },
      createdAt: t,
      // A replaced user's updated_at still moves forward (states of one user are ordered by it).
      updatedAt: before ? Math.max(t, before.updatedAt + 1) : t,
    });
  }

  /** Every user, in no particular order (the stored objects). */
  all(): StoredUser[] {
    return [...this.users.values()];
  }

  /** Where a user (or a deleted one) sits in the created_at ordering, for list cursors. */
  position(id: string): { id: string; createdAt: number } | undefined {
    const u = this.users.get(id);
    return u ? { id, createdAt: u.createdAt } : this.gone.get(id);
  }

  /** The stored user itself (routes mutate it on commit). */
  get(id: string): StoredUser | undefined {
    return this.users.get(id);
  }

  snapshot(id: string): UserSnapshot | undefined {
    const u = this.users.get(id);
    if (!u) return undefined;
    return {
      id: u.id,
      public_metadata: cloneJson(u.metadata.public_metadata),
      private_metadata: cloneJson(u.metadata.private_metadata),
      unsafe_metadata: cloneJson(u.metadata.unsafe_metadata),
    };
  }

  /** Create every user of `seeds` (keyed by id). */
  seed(seeds: Record<string, LocalUserSeed> | undefined): void {
    for (const [id, seed] of Object.entries(seeds ?? {})) this.create(id, seed);
  }

  /** Removes the user; true when there was one. */
  delete(id: string): boolean {
    const u = this.users.get(id);
    if (!u) return false;
    this.gone.set(id, { id, createdAt: u.createdAt });
    this.users.delete(id);
    return true;
  }

  clear(): void {
    this.users.clear();
    this.gone.clear();
  }
}

/** A realistic User object (a subset of the spec's required fields) as Clerk returns it. */
export function userBody(u: StoredUser): string {
  // Built with JSON.stringify on stored objects whose "__proto__" keys are own data properties,
  // so such keys round-trip faithfully.
  return JSON.stringify({
    object: "user",
    id: u.id,
    external_id: u.profile.external_id,
    primary_email_address_id: null,
    primary_phone_number_id: null,
    primary_web3_wallet_id: null,
    username: u.profile.username,
    first_name: u.profile.first_name,
    last_name: u.profile.last_name,
    locale: u.profile.locale,
    image_url: "https://img.clerk.com/local-placeholder",
    has_image: false,
    public_metadata: u.metadata.public_metadata,
    private_metadata: u.metadata.private_metadata,
    unsafe_metadata: u.metadata.unsafe_metadata,
    email_addresses: [],
    phone_numbers: [],
    web3_wallets: [],
    passkeys: [],
    password_enabled: false,
    two_factor_enabled: false,
    totp_enabled: false,
    backup_code_enabled: false,
    mfa_enabled_at: null,
    mfa_disabled_at: null,
    external_accounts: [],
    saml_accounts: [],
    enterprise_accounts: [],
    last_sign_in_at: null,
    banned: false,
    locked: false,
    lockout_expires_in_seconds: null,
    verification_attempts_remaining: 100,
    created_at: u.createdAt,
    updated_at: u.updatedAt,
    delete_self_enabled: true,
    create_organization_enabled: true,
    last_active_at: null,
    legal_accepted_at: null,
  });
}
