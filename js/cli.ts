// Placeholder until the CLI lands; keeps the build's cli entry resolvable.
export {};
