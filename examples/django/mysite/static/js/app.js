import { greet } from "./util.js";

greet(document.body);
