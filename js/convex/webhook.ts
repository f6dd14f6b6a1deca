/**
 * The webhook endpoint: Clerk's `user.created`, `user.updated` and `user.deleted` events, as Svix
 * delivers them, verified with `standardwebhooks` (the Standard Webhooks reference verifier, the
 * protocol Svix implements; it runs in Convex's default runtime, with no Node built-ins) and
 * applied to the mirror in one mutation that also de-duplicates by `svix-id`.
 *
 * Answers: 400 for a request without the three svix headers, with a body over 1 MiB, or whose
 * signed body is not a well-formed event; 401 for a wrong signature or a timestamp more than
 * 5 minutes from now (the verifier's tolerance); 500 when the signing secret is not set (the
 * message names the variable, never a value). A verified event of another type is acknowledged
 * (204) and ignored, so Svix does not retry it. Refusals change nothing.
 */
import { Webhook } from "standardwebhooks";
import type { ClerkActionCtx } from "../convex.js";
import type { ClerkUserObject } from "../index.js";
import type { UserState } from "./mirror.js";

const MAX_BODY_BYTES = 1024 * 1024;

/** What the receive mutation is given: the message id and the change it carries. */
export type Received =
  | { svixId: string; kind: "state"; state: UserState }
  | { svixId: string; kind: "deleted"; userId: string; at: number };

export interface WebhookSettings {
  secret: () => string | undefined;
  toState: (user: ClerkUserObject) => UserState;
  receive: (ctx: ClerkActionCtx, received: Received) => Promise<string>;
}

function answer(status: number, message: string): Response {
  return new Response(JSON.stringify({ message }), { status, headers: { "content-type": "application/json" } });
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The change a verified body carries; a string says why it is malformed; null for another event type. */
export function parseEvent(event: unknown, svixId: string, toState: WebhookSettings["toState"]): Received | string | null {
  if (!isObject(event) || event.object !== "event" || typeof event.type !== "string") return "the body is not a Clerk event";
  const data = event.data;
  if (event.type === "user.deleted") {
    if (!isObject(data) || typeof data.id !== "string" || data.id === "") return "user.deleted without data.id";
    const at = event.timestamp;
    if (typeof at !== "number" || !Number.isFinite(at)) return "user.deleted without a numeric timestamp";
    return { svixId, kind: "deleted", userId: data.id, at };
  }
  if (event.type !== "user.created" && event.type !== "user.updated") return null;
  if (!isObject(data) || typeof data.id !== "string" || data.id === "") return `${event.type} without data.id`;
  if (typeof data.updated_at !== "number" || !Number.isFinite(data.updated_at)) return `${event.type} without a numeric data.updated_at`;
  if (!isObject(data.public_metadata)) return `${event.type} without a data.public_metadata object`;
  return { svixId, kind: "state", state: toState(data as ClerkUserObject) };
}

/** The httpAction's handler. */
export async function handleWebhook(settings: WebhookSettings, ctx: ClerkActionCtx, request: Request): Promise<Response> {
  if (request.method !== "POST") return answer(405, "POST only");
  const id = request.headers.get("svix-id");
  const timestamp = request.headers.get("svix-timestamp");
  const signature = request.headers.get("svix-signature");
  if (!id || !timestamp || !signature) return answer(400, "missing svix-id, svix-timestamp or svix-signature");
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) return answer(400, "body too large");
  const body = await request.text();
  if (body.length > MAX_BODY_BYTES) return answer(400, "body too large");
  const secret = settings.secret();
  if (secret === undefined || secret === "") {
    console.error("clerk-metadata-wasm webhook: CLERK_WEBHOOK_SIGNING_SECRET is not set");
    return answer(500, "CLERK_WEBHOOK_SIGNING_SECRET is not set");
  }
  let verifier: Webhook;
  try {
    verifier = new Webhook(secret);
  } catch {
    console.error("clerk-metadata-wasm webhook: CLERK_WEBHOOK_SIGNING_SECRET is not a valid signing secret (whsec_…)");
    return answer(500, "the signing secret is malformed");
  }
  try {
    // The raw body, before parsing it.
    verifier.verify(body, { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature }, { jsonParse: false });
  } catch (error) {
    // Wrong signature, stale or future timestamp, malformed signature header: all refused alike.
    const why = error instanceof Error ? error.message : "verification failed";
    return answer(401, `webhook verification failed: ${why}`);
  }
  let event: unknown;
  try {
    event = JSON.parse(body);
  } catch {
    return answer(400, "the body is not JSON");
  }
  const received = parseEvent(event, id, settings.toState);
  if (typeof received === "string") return answer(400, received);
  if (received === null) return new Response(null, { status: 204 });
  const outcome = await settings.receive(ctx, received);
  return answer(200, outcome);
}
