// Imported by app.js; collectstatic rewrites the import to this file's hashed name.
import { suffix } from "./words.js";

export function greet(element) {
  element.dataset.greeted = "yes";
  element.querySelector("h1").append(suffix);
}
