// Child processes that run TypeScript sources directly (crash and prompt tests) load them the way
// the tests themselves are loaded (.taprc): through tsx, which strips the types per file.
export const TS_LOADER_ARGS: readonly string[] = ['--import', 'tsx'];
