// How a check is labelled on the page: with the version of the build it ran from.
import { VERSION } from "./version.js";

export const version = VERSION;

export function describe(label) {
  return `${label} (build ${VERSION})`;
}
