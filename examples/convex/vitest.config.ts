import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The actions are "use node" actions: run them in Node, as Convex's Node runtime does.
    environment: "node",
    include: ["tests/**/*.test.ts"],
    // convex-test must be transformed by Vite (it calls import.meta.glob).
    server: { deps: { inline: ["convex-test"] } },
  },
});
