const s = "unterminated
import "./after.js";
