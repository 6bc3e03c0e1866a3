// app.js -> util.js -> words.js -> mark.js: a graph three imports deep, which the page's
// early hints preload all at once.
import { mark } from "./mark.js";

export const suffix = ` (and from a module${mark})`;
