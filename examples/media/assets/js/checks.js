// Records each check on the page, in a list a person can read and a test can query.
import { describe } from "./lib/label.js";

export { version } from "./lib/label.js";

const list = document.getElementById("report");

export function report(name, label, ok) {
  const item = document.createElement("li");
  item.id = `check-${name}`;
  item.dataset.ok = String(ok);
  item.textContent = describe(label);
  list.append(item);
}

export async function check(name, label, test) {
  let ok = false;
  try {
    ok = Boolean(await test());
  } catch (error) {
    console.error(name, error);
  }
  report(name, label, ok);
}
