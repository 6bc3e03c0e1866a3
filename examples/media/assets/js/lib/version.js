// The deepest module of the page's graph. The page test's deploy check changes only this
// line, rebuilds, and expects every module that imports it, directly or not, to get a new
// hashed name, and every other asset to come from the browser's cache.
export const VERSION = 1;
