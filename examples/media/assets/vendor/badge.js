// A library the page imports by a bare name, "badge", mapped here by the build's import map
// (staticmw build ... --importmap-entry badge=vendor/badge.js).
export function badge() {
  return "staticmw";
}
