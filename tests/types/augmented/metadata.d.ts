// The app's metadata types, declared Clerk's way: by augmenting the global interfaces.
export {};

declare global {
  interface UserPublicMetadata {
    role?: "admin" | "user";
    permissions?: string[];
    prefs?: { theme?: "dark" | "light"; lang: string };
  }
  interface UserPrivateMetadata {
    stripeId?: string;
  }
}
