import { a } from "./a.js";
export * from "./b.js";
import("./c.js");
