// The mirror of Clerk users (clerk-metadata-wasm/convex): its five internal functions, exported
// here as `functions: () => internal.clerkMirror` names them. The mirror is made in clerkJobs.ts,
// beside the ClerkConvex whose clients feed it.
import { mirror } from "./clerkJobs";

export { mirror };
export const { receive, applyUser, backfillPage, applyPage, backfillFinished } = mirror.functions();
